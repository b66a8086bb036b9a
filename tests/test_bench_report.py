"""bench/report.py turns pytest-benchmark JSON into rows of the results schema."""

import json

import pandas as pd

from bench.report import main, rows_from_json
from metrics.tables import RESULTS_COLUMNS, read_results

REPORT = {
    "machine_info": {"torch": "2.x"},
    "benchmarks": [
        {"fullname": "bench/bench_metrics.py::test_metric_throughput[ssim-64-cpu]", "group": "metrics",
         "stats": {"mean": 0.5, "rounds": 3}, "extra_info": {"images": 32, "device": "cpu", "threads": 2}},
        {"fullname": "bench/bench_data.py::test_x", "group": None, "stats": {"mean": 2.0, "rounds": 1},
         "extra_info": {}},
    ],
}  # fmt: skip


def test_rows_and_files(tmp_path):
    results, runs = rows_from_json(REPORT)
    df = pd.DataFrame(results)
    ips = df[(df.metric == "images_per_s")].value.tolist()
    assert ips == [64.0] and len(df[df.metric == "seconds_per_call"]) == 2
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(REPORT))
    assert main([str(path), "--out", str(tmp_path / "results.csv")]) == 0
    assert list(read_results(tmp_path / "results.csv").columns) == RESULTS_COLUMNS
    assert pd.read_csv(tmp_path / "runs.csv").device.tolist() == ["cpu", "cpu"] and runs[0]["threads"] == 2
