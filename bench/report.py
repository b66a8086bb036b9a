"""pytest-benchmark JSON -> rows of the ganbench results schema (study "bench"), which the dashboard reads.

`python -m bench.report runs/bench/benchmark.json --out runs/bench/results.csv`. Each benchmark gives
`seconds_per_call` (mean) and, where its extra_info says how many images one call handles,
`images_per_s`; the run id is the test name, the variant its group, and device / threads / torch
version go into runs.csv beside it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from metrics.tables import RESULTS_COLUMNS, write_csv_atomic


def rows_from_json(report: dict) -> tuple[list[dict], list[dict]]:
    results, runs = [], []
    torch_version = report.get("machine_info", {}).get("torch", "")
    for b in report.get("benchmarks", []):
        mean, extra = b["stats"]["mean"], b.get("extra_info", {})
        base = {"study": "bench", "run_id": b["fullname"].split("::")[-1], "variant": b.get("group") or "",
                "seed": 0, "step": 0, "split": "bench"}  # fmt: skip
        results.append(base | {"metric": "seconds_per_call", "value": mean})
        if extra.get("images"):
            results.append(base | {"metric": "images_per_s", "value": extra["images"] / mean})
        runs.append({"study": "bench", "run_id": base["run_id"], "variant": base["variant"], "status": "done",
                     "device": extra.get("device", "cpu"), "threads": extra.get("threads", ""),
                     "torch": torch_version, "rounds": b["stats"]["rounds"],
                     **{f"extra.{k}": v for k, v in extra.items()}})  # fmt: skip
    return results, runs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("json", type=Path)
    p.add_argument("--out", type=Path, default=Path("runs/bench/results.csv"))
    args = p.parse_args(argv)
    results, runs = rows_from_json(json.loads(args.json.read_text()))
    write_csv_atomic(pd.DataFrame(results, columns=RESULTS_COLUMNS), args.out)
    write_csv_atomic(pd.DataFrame(runs), args.out.with_name("runs.csv"))
    table = pd.DataFrame(results)
    print(table[table.metric.isin(["images_per_s", "seconds_per_call"])].to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
