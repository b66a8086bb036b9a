"""A study's rows: each run's metrics.jsonl as long results rows, the published reference rows, the training
diagnostics shown as columns, and the summary over seeds. The schema of results.csv, its atomic writes and the
final-step rule belong to metrics/tables.py (one owner for the studies and the human-evaluation import); runs.csv
has one row per run (flattened config, status, provenance; studies/results/collect.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from metrics.tables import final_rows

REFERENCE_DIR = Path(__file__).parents[1] / "reference"
CEILING = "ground truth (real photos)"  # the variant name of the ceiling rows (split "ceiling")
NOT_METRICS = ("step", "images", "split", "protocol")  # keys of a metrics.jsonl row that are not metric values


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
    final = final_rows(df[df.split == split])
    return final.groupby(["variant", "metric"], sort=False)["value"].agg(["mean", "std", "count"]).unstack("metric")
