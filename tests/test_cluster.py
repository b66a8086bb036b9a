"""Runs as jobs through submitit: the local executor gives the tables of a plain run; --status; the SLURM script
and the refusal where there is no SLURM; requeueing resumes the same run."""

import pandas as pd
import pytest
import submitit

from studies import run as runner
from studies.runner.cluster import RunJob

SMOKE = ["ablation_patchgan", "--profile", "smoke", "--no-progress"]


@pytest.mark.slow
def test_local_executor_gives_the_plain_runs_tables(tmp_path, capsys):
    assert runner.main([*SMOKE, "--out", str(tmp_path / "plain")]) == 0
    assert runner.main([*SMOKE, "--out", str(tmp_path / "jobs"), "--executor", "local", "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("submitted as local job") == 4
    plain, jobs = (pd.read_csv(tmp_path / d / "ablation_patchgan" / "results.csv") for d in ("plain", "jobs"))
    key = ["run_id", "step", "split", "metric"]
    merged = plain.merge(jobs, on=key, suffixes=("_plain", "_jobs"))
    merged = merged[merged.metric != "train_images_per_s"]  # a wall-clock rate: the one value that may differ
    assert len(plain) == len(jobs) and len(merged) == len(plain) - 4  # 4 runs, one rate each
    assert (merged.value_plain == merged.value_jobs).all()
    assert runner.main([*SMOKE, "--out", str(tmp_path / "jobs"), "--status"]) == 0
    assert capsys.readouterr().out.split().count("done") == 4


def test_status_of_runs_not_started_and_claimed(tmp_path, capsys):
    from studies.runner.execute import RunClaim

    with RunClaim(tmp_path / "ablation_patchgan" / "16x16-s0"):
        assert runner.main([*SMOKE, "--out", str(tmp_path), "--status"]) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.strip().splitlines())
    assert lines["1x1-s0"] == "not started" and lines["16x16-s0"].startswith("running (")


def test_slurm_script_and_no_slurm_here(tmp_path, capsys):
    args = [*SMOKE, "--out", str(tmp_path), "--executor", "slurm", "--slurm-partition", "gpu", "--gpus-per-run", "1",
            "--time", "600", "--mem", "16", "--workers", "2", "--sbatch", "qos=high"]  # fmt: skip
    assert runner.main([*args, "--dry-run"]) == 0
    script = capsys.readouterr().out
    for line in ("#SBATCH --array=0-3%2", "#SBATCH --partition=gpu", "#SBATCH --gpus-per-node=1", "#SBATCH --qos=high",
                 "#SBATCH --time=600", "#SBATCH --signal=USR2@90"):  # fmt: skip
        assert line in script
    assert runner.main(args) == 2
    assert 'Could not detect "srun"' in capsys.readouterr().err


def test_a_requeued_job_is_the_same_run():
    job = RunJob("s", "?", "a-s0", "a", 0, {"recipe": "pix2pix"}, "runs")
    again = job.checkpoint()
    assert isinstance(again, submitit.helpers.DelayedSubmission) and vars(again.function) == vars(job)
