"""Pure-pandas data of the Study page's statistics (no Streamlit import): the intervals, comparisons and claim
verdicts the runner wrote (studies/results/stats.py: intervals.csv, comparisons.csv, claims.csv; a study run
--until-decided also looks.csv, the claims' history over its rounds), the points of the
zoomed dot plot (ours with intervals, the ceiling, the published values with their source) and the
comparison matrix. A missing or unreadable file is reported as a problem, never raised."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from studies.results.tables import load_reference

FILES = {"cells": "intervals.csv", "comparisons": "comparisons.csv", "claims": "claims.csv"}
OPTIONAL = {"looks": "looks.csv"}  # written only by --until-decided


def load_stats(runs_dir: Path, study: str) -> tuple[dict[str, pd.DataFrame], list[str]]:
    out, problems = {}, []
    for key, name in (FILES | OPTIONAL).items():
        path = Path(runs_dir) / study / name
        try:
            out[key] = pd.read_csv(path)
        except FileNotFoundError:
            out[key] = pd.DataFrame()
            if key not in OPTIONAL:
                problems.append(f"{path}: not written yet (re-run `python -m studies.run {study}` to compute it)")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
            out[key] = pd.DataFrame()
            if not isinstance(e, pd.errors.EmptyDataError):
                problems.append(f"{path}: not a readable CSV ({e})")
    return out, problems


def history(looks: pd.DataFrame) -> pd.DataFrame:
    """The claims' history for the Study page: one row per claimed pair and look (seeds, estimate, 95% interval,
    p and the level it had to reach), `pair` naming it ("A vs B (metric)"); empty without looks.csv."""
    need = {"claim", "metric", "a", "b", "seeds", "diff", "low", "high", "p", "threshold", "decided"}
    if looks.empty or not need <= set(looks.columns):
        return pd.DataFrame(columns=[*sorted(need), "pair", "state"])
    out = looks.assign(pair=looks.a + " vs " + looks.b + " (" + looks.metric + ")")
    return out.assign(state=np.where(out.decided.astype(bool), "decided", "open"))


def points(final: pd.DataFrame, cells: pd.DataFrame, metric: str, info: dict | None) -> pd.DataFrame:
    """variant, mean, low, high, kind ("ours" | "published"), source: what the Study chart draws for a metric.
    Without an interval (one seed, a per-run metric) low and high are the mean: a dot without a bar."""
    f = final[final.metric == metric]
    ours = f.groupby("variant", sort=False).value.mean().rename("mean").reset_index()
    if len(cells) and {"variant", "metric", "low", "high"} <= set(cells.columns):
        ci = cells[cells.metric == metric][["variant", "low", "high"]]
        ours = ours.merge(ci, on="variant", how="left")
    else:
        ours["low"], ours["high"] = np.nan, np.nan
    ours["low"] = ours["low"].fillna(ours["mean"])
    ours["high"] = ours["high"].fillna(ours["mean"])
    ours = ours.assign(kind="ours", source="ours (mean over seeds, 95% interval)")
    rows = [ours]
    if info and info.get("reference"):
        names = {k: tuple(v) for k, v in info.get("reference_names", {}).items()}
        ref = load_reference(info.get("reference_file", "pix2pix_cityscapes"), tuple(info["reference"]), names)
        ref = ref[ref.metric == metric]
        if len(ref):
            rows.append(pd.DataFrame({"variant": ref.variant, "mean": ref.value, "low": ref.value, "high": ref.value,
                                      "kind": "published", "source": ref.source}))  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def matrix(comps: pd.DataFrame, metric: str) -> pd.DataFrame:
    """a, b, diff (a - b), p_holm, label: every ordered pair of one metric, for a heatmap."""
    if comps.empty or "metric" not in comps:
        return pd.DataFrame(columns=["a", "b", "diff", "p_holm", "label"])
    c = comps[comps.metric == metric]
    both = pd.concat([c[["a", "b", "diff", "p_holm"]],
                      c.rename(columns={"a": "b", "b": "a"}).assign(diff=-c["diff"])[["a", "b", "diff", "p_holm"]]],
                     ignore_index=True)  # fmt: skip
    stars = np.select([both.p_holm < 0.001, both.p_holm < 0.01, both.p_holm < 0.05], ["***", "**", "*"], "")
    both["label"] = [f"{d:+.3g}{s}" for d, s in zip(both["diff"], stars)]
    return both


def cell_text(cells: pd.DataFrame) -> dict[tuple[str, str], str]:
    """{(variant, metric): "0.929 [0.915, 0.943]"} for the Study table (intervals where they exist)."""
    if cells.empty or "low" not in cells:
        return {}
    return {(r.variant, r.metric): f"{r.estimate:.3f} [{r.low:.3f}, {r.high:.3f}]"
            for r in cells.itertuples() if np.isfinite(r.low)}  # fmt: skip


def precision_note(cells: pd.DataFrame, metric: str) -> str:
    """What limits the intervals of `metric` (intervals.csv `limit`): the seeds (more seeds narrow them) or the
    test items (only more test items do); "" without that column or an interval."""
    if cells.empty or "limit" not in cells:
        return ""
    limits = cells[(cells.metric == metric) & cells.limit.isin(["seeds", "test items"])].limit
    if limits.empty:
        return ""
    seeds, items = int((limits == "seeds").sum()), int((limits == "test items").sum())
    parts = ([f"the seeds for {seeds} variant(s): more seeds narrow them"] if seeds else []) + (
        [f"the test items for {items} variant(s): more test items narrow them, more seeds do not"] if items else []
    )
    return f"The 95% intervals of `{metric}` are limited by " + "; by ".join(parts) + "."
