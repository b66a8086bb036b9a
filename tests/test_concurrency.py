"""Many workers on one study: shards and duplicated commands run at once lose no row and train no run twice."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from studies import run as runner
from studies.runner.execute import RunClaim

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_four_processes_on_one_study(tmp_path):
    base = [sys.executable, "-m", "studies.run", "ablation_patchgan", "--profile", "smoke", "--no-progress", "--out",
            str(tmp_path)]  # fmt: skip
    commands = [base + ["--shard", "0/2"], base + ["--shard", "1/2"], base, base]
    procs = [subprocess.Popen(c, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for c in commands]
    outputs = [p.communicate(timeout=600)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
    study = tmp_path / "ablation_patchgan"
    res = pd.read_csv(study / "results.csv")
    assert not res.duplicated(["run_id", "step", "split", "metric"]).any()
    assert set(res[res.split == "test"].run_id) == {"1x1-s0", "16x16-s0", "70x70-s0", "286x286-s0"}
    per_run = res[res.split == "test"].groupby("run_id").metric.nunique()
    assert per_run.nunique() == 1 and per_run.iloc[0] >= 14  # every metric of every run
    assert set(res[res.split == "ceiling"].metric) == {"fcn_pixel_acc", "fcn_class_acc", "fcn_class_iou"}
    for run in per_run.index:  # each run trained by exactly one process
        assert len((study / run / "attempts.log").read_text().splitlines()) == 1
    assert len(pd.read_csv(study / "runs.csv")) == 4


def test_a_claimed_run_is_skipped_and_a_dead_claim_is_no_claim(tmp_path, capsys):
    run = tmp_path / "ablation_patchgan" / "1x1-s0"
    args = ["ablation_patchgan", "--profile", "smoke", "--no-progress", "--out", str(tmp_path), "--only", "1x1-s0"]
    with RunClaim(run) as claim:  # another worker holds it
        assert claim.acquired
        with RunClaim(run) as second:
            assert not second.acquired and "pid" in second.holder()
        assert runner.main(args) == 0
        assert "being trained by another process" in capsys.readouterr().out
        assert not (run / "done").exists()
    assert runner.main(args) == 0  # the claim went with its holder: trained now
    assert (run / "done").exists() and len((run / "attempts.log").read_text().splitlines()) == 1


def test_collect_rebuilds_the_tables_from_the_run_folders(tmp_path, capsys):
    args = ["ablation_patchgan", "--profile", "smoke", "--no-progress", "--out", str(tmp_path), "--only", "1x1-s0"]
    assert runner.main(args) == 0
    study = tmp_path / "ablation_patchgan"
    before = pd.read_csv(study / "results.csv")
    (study / "results.csv").unlink()
    (study / "runs.csv").write_text("garbage")
    assert runner.main([*args, "--collect"]) == 0
    assert pd.read_csv(study / "results.csv").equals(before) and len(pd.read_csv(study / "runs.csv")) == 1


def test_collect_keeps_the_ceiling_of_a_table_written_before_ceiling_json(tmp_path):
    """The previous release kept the real-photo rows in results.csv only: rebuilding must not drop them."""
    args = ["ablation_patchgan", "--profile", "smoke", "--no-progress", "--out", str(tmp_path), "--only", "1x1-s0"]
    assert runner.main(args) == 0
    study = tmp_path / "ablation_patchgan"
    before = pd.read_csv(study / "results.csv")
    assert (before.split == "ceiling").sum() == 3
    (study / "ceiling.json").unlink()
    assert runner.main([*args, "--collect"]) == 0
    assert pd.read_csv(study / "results.csv").equals(before) and (study / "ceiling.json").exists()
