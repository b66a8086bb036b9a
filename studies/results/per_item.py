"""The per-item file of a run, per_item.csv: written once by the final evaluation (studies/runner/evaluation.py)
and read by the statistics (studies/results/stats.py), both through this module, its one owner.

Rows are (index, metric, value): the per-item values of mean metrics (ssim, ms_ssim, l1, psnr, pair diversity)
and, for confusion-based scores (fcn_*, label_*), the per-item pixel counts of each class (`fcn_tp:3`,
`fcn_true:3`, `fcn_pred:3`), whose sums over any set of items give that set's scores through the metric's own
formula (metrics/fcn_score.py scores_from_counts). Zero counts are left out; a row with index -1 records the
number of classes (absent classes count in the means, as the reference's).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from metrics.fcn_score import scores_from_counts

FILE = "per_item.csv"
CONFUSION_KEYS = tuple(f"{p}_{k}" for p in ("fcn", "label") for k in ("pixel_acc", "class_acc", "class_iou"))


def write_per_item(metrics: dict, indices: list[int], run_dir: Path) -> None:
    """per_item.csv of `run_dir` from every accumulator of `metrics` ({name: (spec, acc)}) that gives per-item
    values (metrics.protocol: per_item), `indices` the test item ids in update order; written atomically."""
    rows = []
    for _, acc in metrics.values():
        if not hasattr(acc, "per_item") or len(indices) == 0:
            continue
        positions, values = acc.per_item()
        item_index = np.asarray(indices)[positions]
        for key, v in values.items():
            keep = np.isfinite(v) & ((v != 0) | (":" not in key))  # class counts (`fcn_tp:3`): zeros left out
            rows.append(pd.DataFrame({"index": item_index[keep], "metric": key, "value": v[keep]}))
        if hasattr(acc, "prefix") and any(":" in k for k in values):
            rows.append(pd.DataFrame({"index": [-1], "metric": [f"{acc.prefix}_n_classes"], "value": [acc.n]}))
    if rows:
        path = Path(run_dir) / FILE
        tmp = path.with_suffix(".csv.tmp")
        pd.concat(rows, ignore_index=True).to_csv(tmp, index=False)
        tmp.replace(path)


@dataclass
class Items:
    """One run's test items for one metric key, as a matrix of per-item contributions."""

    index: np.ndarray  # (N,) test item ids
    x: np.ndarray  # (N, K) per-item contributions
    kind: str  # "mean" or one of CONFUSION_KEYS

    def value(self, sums: np.ndarray, n) -> np.ndarray:
        """The metric from column sums (..., K) over n items (broadcasts over leading axes)."""
        if self.kind == "mean":
            return sums[..., 0] / n
        tp, true, pred = np.split(sums, 3, axis=-1)
        return scores_from_counts(tp, true, pred)["fcn_" + self.kind.split("_", 1)[1]]

    def aligned(self, index: np.ndarray) -> Items:
        pos = {i: k for k, i in enumerate(self.index)}
        return Items(index, self.x[[pos[i] for i in index]], self.kind)


def items_for(per_item: pd.DataFrame, metric: str) -> Items | None:
    """One run's Items for a metric key, from its per_item.csv rows; None when it has none for that key."""
    if metric in CONFUSION_KEYS:
        prefix = metric.split("_")[0]
        n = per_item[per_item.metric == f"{prefix}_n_classes"].value
        if n.empty:
            return None
        c = int(n.iloc[0])
        cols = [f"{prefix}_{k}:{i}" for k in ("tp", "true", "pred") for i in range(c)]
        wide = per_item[per_item.metric.isin(cols)].pivot_table(index="index", columns="metric", values="value")
        wide = wide.reindex(columns=cols).fillna(0.0)  # zero counts were left out of the file
        return Items(wide.index.to_numpy(), wide.to_numpy(dtype=float), metric) if len(wide) else None
    rows = per_item[(per_item.metric == metric) & (per_item["index"] >= 0)]
    if rows.empty:
        return None
    return Items(rows["index"].to_numpy(), rows[["value"]].to_numpy(dtype=float), "mean")


def item_table(study_dir: Path, run_ids, metrics) -> dict[tuple[str, str], Items | None]:
    """{(run_id, metric): Items} from each run's per_item.csv (runs without one are left out)."""
    out = {}
    for run_id in run_ids:
        path = Path(study_dir) / str(run_id) / FILE
        if path.exists():
            per_item = pd.read_csv(path)
            out |= {(run_id, m): items_for(per_item, m) for m in metrics}
    return out
