"""The results tables: schema, atomic writes, collection from run directories, the paper-style table.

Tidy data (Wickham 2014): results.csv is long, one row per study x run x step x split x metric;
runs.csv has one row per run (flattened config, status, provenance). Both are written atomically
(temp file + os.replace), so a crash never leaves a half-written table.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import pandas as pd

RESULTS_COLUMNS = ["study", "run_id", "variant", "seed", "step", "split", "metric", "value"]
REFERENCE_DIR = Path(__file__).parent / "reference"
CEILING = "ground truth (real photos)"  # the variant name of the ceiling rows (split "ceiling")
NOT_METRICS = ("step", "images", "split", "protocol")  # keys of a metrics.jsonl row that are not metric values


class SchemaError(ValueError):
    """A results table on disk does not follow the schema; the message names the file and the column."""


def write_csv_atomic(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    df.to_csv(tmp, index=False)
    os.replace(tmp, path)


def write_json_atomic(obj: dict, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=2, default=str)
    os.replace(tmp, path)


def read_results(path: Path) -> pd.DataFrame:
    """Read and validate a results.csv (the columns of RESULTS_COLUMNS, numeric step and value)."""
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise SchemaError(f"{path}: not a readable CSV ({e})") from None
    missing = [c for c in RESULTS_COLUMNS if c not in df.columns]
    if missing:
        raise SchemaError(f"{path}: missing column(s) {missing}; expected {RESULTS_COLUMNS}")
    for col in ("step", "value", "seed"):
        bad = pd.to_numeric(df[col], errors="coerce").isna() & df[col].notna()
        if bad.any():
            raise SchemaError(f"{path}: column {col!r} has non-numeric value {df[col][bad].iloc[0]!r}")
    return df[RESULTS_COLUMNS]


def run_rows(study: str, run_id: str, variant: str, seed: int, run_dir: Path) -> list[dict]:
    """Long rows from one run's metrics.jsonl."""
    rows = []
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return rows
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        for metric, value in rec.items():
            if metric not in NOT_METRICS:
                rows.append({"study": study, "run_id": run_id, "variant": variant, "seed": seed,
                             "step": rec["step"], "split": rec["split"], "metric": metric, "value": value})  # fmt: skip
    return rows


def merge_results(old: pd.DataFrame | None, new: pd.DataFrame, keys=("run_id", "step", "split", "metric")):
    """New rows replace old rows with the same keys; rows of runs not in `new` are kept."""
    if old is None or old.empty:
        return new[RESULTS_COLUMNS].reset_index(drop=True)
    merged = pd.concat([old, new], ignore_index=True)
    merged = merged.drop_duplicates(subset=list(keys), keep="last")
    return merged[RESULTS_COLUMNS].reset_index(drop=True)


def load_reference(file: str, tables: tuple[str, ...], names: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """Published values for our variants from studies/reference/<file>.csv: variant, metric, value, source."""
    if not tables or not file:
        return pd.DataFrame(columns=["variant", "metric", "value", "source"])
    ref = pd.read_csv(REFERENCE_DIR / f"{file}.csv")
    ref = ref[ref.table.isin(tables)]
    rows = []
    for variant, published in names.items():
        for _, r in ref[ref.variant.isin(published)].iterrows():
            rows.append({"variant": variant, "metric": r.metric, "value": r.value, "source": r.source})
    return pd.DataFrame(rows, columns=["variant", "metric", "value", "source"])


def with_training(results: pd.DataFrame, keys: tuple[str, ...]) -> pd.DataFrame:
    """The test rows plus the training diagnostics `keys` (split "train"), relabelled as test rows, so that a
    study's table and statistics show them as columns beside the metrics."""
    train = results[(results.split == "train") & results.metric.isin(keys)].assign(split="test")
    return pd.concat([results[results.split != "train"], train], ignore_index=True)


def summary_table(df: pd.DataFrame, split: str = "test") -> pd.DataFrame:
    """Final-step mean and std per variant (rows) and metric (columns)."""
    df = df[df.split == split]
    final = df[df.step == df.groupby("run_id").step.transform("max")]
    return final.groupby(["variant", "metric"], sort=False)["value"].agg(["mean", "std", "count"]).unstack("metric")


def _number(v: float) -> str:
    """3 significant decimals for scores, fewer for large values (SWD x1e3, PSNR in dB)."""
    return f"{v:.3f}" if abs(v) < 10 else f"{v:.2f}" if abs(v) < 100 else f"{v:.1f}"


def format_table(results: pd.DataFrame, metrics: list[str], variants: list[str], reference: pd.DataFrame,
                 extra_rows: dict[str, dict[str, float]], notes: dict[str, str], intervals: pd.DataFrame | None = None,
                 width: int = 160) -> str:  # fmt: skip
    """Plain-text paper-style table: per variant the mean over seeds with its 95% interval `[low, high]`
    (studies/stats.py; mean ± std when no interval was computed), the published value in parentheses.
    Columns are split into blocks that fit `width` characters, each repeating the variant column."""
    if results[results.split == "test"].empty:
        return "(no finished run has results)"
    table = summary_table(results)
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
