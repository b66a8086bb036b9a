"""Every rendering of a study's tables: the plain-text table and verdicts the runner prints, and the tables for
a paper, `python -m studies.report NAME [--out runs] [--dest DIR]`, which writes <NAME>.md (Markdown) and
<NAME>.tex (LaTeX, booktabs) from what the runner wrote beside results.csv: each variant's mean over seeds with
its 95% interval (intervals.csv, studies/results/stats.py), the real-data ceiling, the published values (for
orientation: another dataset and model), and the verdict on every published claim the study tests (claims.csv).
Nothing is recomputed; run the study first.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from metrics import METRICS, stale
from metrics.tables import SchemaError, read_results
from studies.results import tables as R
from studies.results.collect import run_protocols
from studies.spec import Study

LATEX_ESCAPES = {"&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#", "$": r"\$", "{": r"\{", "}": r"\}", "~": r"\~{}",
                 "^": r"\^{}", "\\": r"\textbackslash{}", ">": r"$>$", "<": r"$<$"}  # fmt: skip


class ReportError(ValueError):
    """The study has not written the files a report needs; the message names the missing file."""


def _tex(text: str) -> str:
    return "".join(LATEX_ESCAPES.get(ch, ch) for ch in str(text))


def _num(v: float) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else _number(v)


# --- the runner's printout ---


def table_metrics(runs: list) -> list[str]:
    """The printed table's columns: each run's metrics' table keys, in the order the runs name them."""
    keys: dict[str, None] = {}
    for *_, spec in runs:
        for m in spec.metrics:
            keys |= dict.fromkeys(METRICS[m].table_keys)
    return list(keys)


def _number(v: float) -> str:
    """3 significant decimals for scores, fewer for large values (SWD x1e3, PSNR in dB)."""
    return f"{v:.3f}" if abs(v) < 10 else f"{v:.2f}" if abs(v) < 100 else f"{v:.1f}"


def format_table(results: pd.DataFrame, metrics: list[str], variants: list[str], reference: pd.DataFrame,
                 extra_rows: dict[str, dict[str, float]], notes: dict[str, str], intervals: pd.DataFrame | None = None,
                 width: int = 160) -> str:  # fmt: skip
    """Plain-text paper-style table: per variant the mean over seeds with its 95% interval `[low, high]`
    (studies/results/stats.py; mean ± std when no interval was computed), the published value in parentheses.
    Columns are split into blocks that fit `width` characters, each repeating the variant column."""
    if results[results.split == "test"].empty:
        return "(no finished run has results)"
    table = R.summary_table(results)
    metrics = [m for m in metrics if m in table["mean"].columns]
    ci = {} if intervals is None or intervals.empty else {(r.variant, r.metric): r for r in intervals.itertuples()}
    names = [f"{v} {notes.get(v, '')}".strip() for v in variants]
    columns = []
    for m in metrics:
        cells = []
        for v in variants:
            mean = table["mean"].get(m, {}).get(v, math.nan) if v in table.index else math.nan
            std = table["std"].get(m, {}).get(v, math.nan) if v in table.index else math.nan
            pub = reference[(reference.variant == v) & (reference.metric == m)].value
            r = ci.get((v, m))
            if math.isnan(mean):
                cell = "—"
            elif r is not None and not math.isnan(r.low):
                cell = f"{_number(mean)} [{_number(r.low)}, {_number(r.high)}]"
            else:
                cell = _number(mean) + ("" if math.isnan(std) else f"±{_number(std)}")
            cells.append(cell + (f" ({pub.iloc[0]:.2f})" if len(pub) else ""))
        cells += [_number(values[m]) if m in values else "" for values in extra_rows.values()]
        columns.append([m, *cells])
    first = ["variant", *names, *extra_rows]
    blocks, current = [], []
    for col in columns:
        if current and sum(max(map(len, c)) + 2 for c in [first, *current, col]) > width:
            blocks.append(current)
            current = []
        current.append(col)
    blocks.append(current)
    out = []
    for block in blocks:
        cols = [first, *block]
        widths = [max(map(len, c)) for c in cols]
        rows = list(zip(*cols))
        lines = [rows[0], ["-" * w for w in widths], *rows[1:]]
        out.append("\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in lines))
    return "\n\n".join(out)


def caveats(test: pd.DataFrame, metrics: set[str]) -> list[str]:
    """The registry's caveats (e.g. FD on fewer images than feature dimensions) for the runs' values, once each."""
    lines = []
    for name in sorted(metrics):
        spec = METRICS.get(name)
        if spec is None or spec.caveat is None:
            continue
        for _, run in test.groupby("run_id"):
            line = spec.caveat(run.sort_values("step").groupby("metric").value.last().to_dict())
            if line and line not in lines:
                lines.append(line)
    return lines


def print_verdicts(analysis: dict, full: bool) -> None:
    claims, design = analysis["claims"], analysis.get("sequential")
    if len(claims):
        how = ("sequential design, " + design["design"] + f"; --max-seeds {design['max_seeds']}") if design else \
            "Holm-corrected over the claims' pairs"  # fmt: skip
        print(f"\nPublished claims (better by each metric's direction; {how}):")
        for c in claims.itertuples():
            stopped = getattr(c, "stopped", "")
            need = f"; {c.plan}" if isinstance(c.plan, str) and c.plan else ""
            if design:
                at = f", decided at {int(c.decided_at)}" if np.isfinite(c.decided_at) else ""
                need = f" [looks at {c.looks} seeds{at}]" + (f"; stopped: {stopped}" if isinstance(stopped, str)
                                                               and stopped else need)  # fmt: skip
            print(f"  {c.verdict.upper():<12} {c.claim} on {c.metric} ({c.source}): {c.evidence}{need}")
    comps = analysis["comparisons"]
    if full and len(comps):
        cols = ["metric", "a", "b", "seeds", "diff", "low", "high", "p", "p_holm", "limit", "better", "method"]
        shown = comps[[c for c in cols if c in comps]].copy()
        for c in ("p", "p_holm"):  # one seed, or no spread: no test
            shown[c] = [f"{v:.4g}" if np.isfinite(v) else "n/a" for v in comps[c]]
        print("\nAll comparisons (A - B; p Holm-corrected over every comparison, all metrics together; limit: what "
              "bounds the interval's precision):")  # fmt: skip
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def print_table(study: Study, runs: list, results: pd.DataFrame, statuses: dict, profile: str,
                intervals: pd.DataFrame | None = None) -> None:  # fmt: skip
    ref = R.load_reference(study.reference_file, study.reference, study.reference_names)
    notes, old = {}, {}
    for run_id, variant, _, spec in runs:
        st = statuses.get(run_id, {})
        with contextlib.suppress(KeyError, ValueError, IndexError):  # a failed run has no diagnostics
            notes[variant] = study.row_note.format(**st) if study.row_note else ""
        old.setdefault(variant, set()).update(stale(run_protocols(st, spec.metrics)))
    for variant, metrics in old.items():
        if metrics:
            notes[variant] = f"{notes.get(variant, '')} [stale: {', '.join(sorted(metrics))}]".strip()
    ceil = results[results.split == "ceiling"].set_index("metric").value.to_dict()
    results = R.with_training(results, study.table_extra)
    seeds = results[results.split == "test"].groupby("variant").seed.nunique().max()
    print(f"\n{study.name}: {study.question}  [profile {profile}; mean over {seeds} seed(s) [95% interval]]")
    print(format_table(results[results.split == "test"], table_metrics(runs) + list(study.table_extra),
                         study.all_variants, ref,
                         {R.CEILING: ceil} if ceil else {}, notes, intervals))  # fmt: skip
    print("[low, high] = 95% interval over seeds and test items, crossed (studies/results/stats.py)" + (
        "; with one seed it covers the test items only, and nothing is tested" if seeds == 1 else ""))  # fmt: skip
    for line in caveats(results[results.split == "test"], {m for *_, spec in runs for m in spec.metrics}):
        print(f"! {line}")
    if len(ref):
        sources = "; ".join(dict.fromkeys(ref.source))
        print(f"(x.xx) = published value ({sources}): another dataset and model, for orientation only.")
    if any(old.values()):
        print(f"[stale: m] = scored under an older protocol of m; `python -m studies.run {study.name} --rescore` "
              "recomputes every metric from the checkpoints, without training.")  # fmt: skip
    for run_id, st in statuses.items():
        if st.get("status") == "failed":
            print(f"FAILED {run_id}: {st['error']}")


# --- the paper tables: python -m studies.report ---


def load(study_dir: Path) -> dict:
    study_dir = Path(study_dir)
    need = {n: study_dir / f"{n}.csv" for n in ("results", "intervals", "claims")}
    missing = [str(p) for p in need.values() if not p.exists()]
    if missing or not (study_dir / "study.json").exists():
        raise ReportError(f"not written yet: {', '.join(missing or [str(study_dir / 'study.json')])} "
                          f"(run `python -m studies.run {study_dir.name}` first)")  # fmt: skip
    info = json.loads((study_dir / "study.json").read_text())
    res = read_results(need["results"])
    cells = pd.read_csv(need["intervals"]) if need["intervals"].stat().st_size > 1 else pd.DataFrame()
    claims = pd.read_csv(need["claims"]) if need["claims"].stat().st_size > 1 else pd.DataFrame()
    keys = info.get("table_metrics") or [k for spec in METRICS.values() for k in spec.table_keys]
    metrics = [k for k in keys if k in set(res[res.split == "test"].metric)]
    names = {k: tuple(v) for k, v in info.get("reference_names", {}).items()}
    ref = R.load_reference(info.get("reference_file", ""), tuple(info.get("reference", ())), names)
    ceiling = res[res.split == "ceiling"].set_index("metric").value.to_dict()
    return {"info": info, "cells": cells, "claims": claims, "metrics": metrics, "reference": ref, "ceiling": ceiling}


def rows(data: dict) -> tuple[list[str], list[list[tuple[str, str]]]]:
    """Header and rows of (value, interval) pairs: variants, then the ceiling and the published rows."""
    metrics, cells, ref = data["metrics"], data["cells"], data["reference"]
    by = {(r.variant, r.metric): r for r in cells.itertuples()} if len(cells) else {}
    out = []
    for v in data["info"]["variants"]:
        row = [(v, "")]
        for m in metrics:
            r = by.get((v, m))
            ci = f"[{_num(r.low)}, {_num(r.high)}]" if r is not None and not math.isnan(r.low) else ""
            row.append((_num(r.estimate) if r is not None else "—", ci))
        out.append(row)
    if data["ceiling"]:
        out.append([(R.CEILING, "")] + [(_num(data["ceiling"][m]) if m in data["ceiling"] else "", "")
                                                           for m in metrics])  # fmt: skip
    for v, g in ref.groupby("variant", sort=False):
        pub = dict(zip(g.metric, g.value))
        out.append([(f"{v} (published)", "")] + [(f"{pub[m]:.2f}" if m in pub else "", "") for m in metrics])
    return ["variant", *metrics], out


def markdown(data: dict) -> str:
    head, body = rows(data)
    info, claims = data["info"], data["claims"]
    lines = [f"## {info['name']}: {info['question']}", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]  # fmt: skip
    lines += ["| " + " | ".join(f"{v} {ci}".strip() for v, ci in r) + " |" for r in body]
    lines += ["", "Mean over seeds [95% interval over seeds and test items]. Published rows come from another "
              "dataset and model: for orientation only.", ""]  # fmt: skip
    if len(claims):
        lines += ["| claim | metric | verdict | evidence | source |", "|---|---|---|---|---|"]
        for c in claims.itertuples():
            lines.append(f"| {c.claim} | {c.metric} | **{c.verdict}** | {c.evidence} | {c.source} |")
    return "\n".join(lines) + "\n"


def latex(data: dict) -> str:
    head, body = rows(data)
    info, claims = data["info"], data["claims"]
    cols = "l" + "c" * (len(head) - 1)
    lines = [r"% ganbench: studies/report.py " + info["name"], r"\begin{table}[t]", r"\centering", r"\small",
             rf"\begin{{tabular}}{{{cols}}}", r"\toprule", " & ".join(_tex(h) for h in head) + r" \\",
             r"\midrule"]  # fmt: skip
    n_ours = len(info["variants"])
    for k, r in enumerate(body):
        if k == n_ours:
            lines.append(r"\midrule")
        cells = [_tex(v) + (rf" {{\scriptsize {_tex(ci)}}}" if ci else "") for v, ci in r]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}",
              rf"\caption{{{_tex(info['question'])} Mean over seeds with its 95\% interval over seeds and test items; "
              r"published values come from another dataset and model.}", r"\end{table}"]  # fmt: skip
    if len(claims):
        lines += ["", r"\begin{tabular}{llll}", r"\toprule", r"claim & metric & verdict & source \\", r"\midrule"]
        lines += [f"{_tex(c.claim)} & {_tex(c.metric)} & \\textbf{{{_tex(c.verdict)}}} & {_tex(c.source)} \\\\"
                  for c in claims.itertuples()]  # fmt: skip
        lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m studies.report", description=__doc__.split("\n\n")[0])
    p.add_argument("study")
    p.add_argument("--out", type=Path, default=Path("runs"), help="the runs folder the study wrote to")
    p.add_argument("--dest", type=Path, help="where to write <study>.md and .tex (default: the study's folder)")
    args = p.parse_args(argv)
    try:
        data = load(args.out / args.study)
    except (ReportError, SchemaError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    dest = args.dest or args.out / args.study
    dest.mkdir(parents=True, exist_ok=True)
    for ext, text in (("md", markdown(data)), ("tex", latex(data))):
        (dest / f"{args.study}.{ext}").write_text(text)
    print(f"wrote {dest / args.study}.md and .tex")
    return 0


if __name__ == "__main__":
    sys.exit(main())
