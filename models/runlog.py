"""A run's logs: losses.csv (one row per logged iteration) and metrics.jsonl (one row per evaluation).

losses.csv is wide (step, images, then every term seen so far: d/real, g/l1, d/grad_norm, lr/g, ...).
A term that first appears later (a loss switched on with progress, a staged net) widens the header: the
file is rewritten once with the new column, earlier rows left empty there, so nothing is dropped.
On resume, rows logged after the checkpoint are removed, since they will be logged again.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from models.contract import Progress


def _write_csv(path: Path, rows: list[dict], fields: list[str]) -> None:
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fields)
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)


class RunLog:
    def __init__(self, run_dir: Path, write: bool = True):
        self.losses, self.metrics = run_dir / "losses.csv", run_dir / "metrics.jsonl"
        self.fields: list[str] | None = None
        self.write = write  # False on the ranks other than 0 of a torchrun run

    def _header(self) -> list[str]:
        if self.fields is None:
            exists = self.losses.exists() and self.losses.stat().st_size
            self.fields = next(csv.reader(self.losses.open())) if exists else []
        return self.fields

    def scalars(self, t: Progress, values: dict[str, float]) -> None:
        if not self.write:
            return
        row = {"step": t.step, "images": t.images, **values}
        fields = self._header()
        new = [k for k in row if k not in fields]
        if new:  # widen the header once; earlier rows keep their values, empty in the new columns
            old = list(csv.DictReader(self.losses.open())) if fields else []
            self.fields = fields + new
            _write_csv(self.losses, old, self.fields)
        with self.losses.open("a", newline="") as f:
            csv.DictWriter(f, self.fields).writerow(row)

    def evaluation(self, t: Progress, values: dict[str, float], protocol: dict[str, str], split: str = "test") -> None:
        """One row: where the run stood, the split, the protocol version of each metric, the values."""
        if not values or not self.write:
            return
        row = {"step": t.step, "images": t.images, "split": split, "protocol": protocol, **values}
        with self.metrics.open("a") as f:
            f.write(json.dumps(row) + "\n")

    def replace_evaluation(self, t: Progress, values: dict[str, float], protocol: dict[str, str],
                           split: str = "test") -> None:  # fmt: skip
        """Rescoring: the evaluation row of step `t.step` (the last one of that split) replaced, atomically."""
        rows = [json.loads(ln) for ln in self.metrics.read_text().splitlines() if ln] if self.metrics.exists() else []
        row = {"step": t.step, "images": t.images, "split": split, "protocol": protocol, **values}
        hits = [i for i, r in enumerate(rows) if r["step"] == t.step and r["split"] == split]
        if hits:
            rows[hits[-1]] = row
        else:
            rows.append(row)
        tmp = self.metrics.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
        tmp.replace(self.metrics)

    def stability(self, window: int = 20, factor: float = 10.0) -> dict[str, float]:
        """Per optimizer group, from the logged gradient norms: `<g>_grad_spikes`, the logged steps whose norm
        exceeds `factor` x the median of the `window` before them, and `<g>_grad_logstd`, the std of log10 norm
        over the second half of the run (how much it still jumps once training has settled)."""
        if not self.losses.exists() or not self.write:
            return {}
        with self.losses.open() as f:
            rows = list(csv.DictReader(f))
        out = {}
        for col in [c for c in (rows[0] if rows else {}) if c.endswith("/grad_norm")]:
            v = np.array([float(r[col]) for r in rows if r[col] not in ("", None)])
            if len(v) < 2:
                continue
            group = col.split("/")[0]
            med = [np.median(v[max(0, i - window) : i]) for i in range(1, len(v))]
            out[f"{group}_grad_spikes"] = float(sum(x > factor * m for x, m in zip(v[1:], med) if m > 0))
            out[f"{group}_grad_logstd"] = float(np.std(np.log10(np.maximum(v[len(v) // 2 :], 1e-12))))
        return out

    def truncate(self, step: int) -> None:
        """Keep loss rows of iterations before `step` and evaluations up to `step` (the checkpoint's)."""
        if not self.write:
            return
        if self.losses.exists() and self.losses.stat().st_size:
            with self.losses.open() as f:
                reader = csv.DictReader(f)
                fields, rows = list(reader.fieldnames or []), [r for r in reader if int(r["step"]) < step]
            _write_csv(self.losses, rows, fields)
        if self.metrics.exists():
            lines = [ln for ln in self.metrics.read_text().splitlines() if ln and json.loads(ln)["step"] <= step]
            self.metrics.write_text("".join(ln + "\n" for ln in lines))
