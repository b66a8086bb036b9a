"""A study's tables for a paper: `python -m studies.report NAME [--out runs] [--dest DIR]`.

Writes <NAME>.md (Markdown) and <NAME>.tex (LaTeX, booktabs) from what the runner wrote beside
results.csv: each variant's mean over seeds with its 95% interval (intervals.csv, studies/stats.py), the
real-data ceiling, the published values (for orientation: another dataset and model), and the verdict on
every published claim the study tests (claims.csv). Nothing is recomputed; run the study first.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import pandas as pd

from metrics import METRICS
from studies import results as R

LATEX_ESCAPES = {"&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#", "$": r"\$", "{": r"\{", "}": r"\}", "~": r"\~{}",
                 "^": r"\^{}", "\\": r"\textbackslash{}", ">": r"$>$", "<": r"$<$"}  # fmt: skip


class ReportError(ValueError):
    """The study has not written the files a report needs; the message names the missing file."""


def _tex(text: str) -> str:
    return "".join(LATEX_ESCAPES.get(ch, ch) for ch in str(text))


def _num(v: float) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else R._number(v)


def load(study_dir: Path) -> dict:
    study_dir = Path(study_dir)
    need = {n: study_dir / f"{n}.csv" for n in ("results", "intervals", "claims")}
    missing = [str(p) for p in need.values() if not p.exists()]
    if missing or not (study_dir / "study.json").exists():
        raise ReportError(f"not written yet: {', '.join(missing or [str(study_dir / 'study.json')])} "
                          f"(run `python -m studies.run {study_dir.name}` first)")  # fmt: skip
    info = json.loads((study_dir / "study.json").read_text())
    res = R.read_results(need["results"])
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
    except (ReportError, R.SchemaError) as e:
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
