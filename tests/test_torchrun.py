"""One run on two CPU processes (torchrun, gloo): each rank trains its half of every batch; the losses equal one
process's on the full batch, rank 0 alone writes, and the tables come out as a plain run's."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["cyclegan_loss", "--profile", "smoke", "--only", "CycleGAN-s0", "--no-progress", "--set", "model.pool_size=0",
        "--set", "train.device=cpu"]  # CycleGAN: instance norm, no pool: nothing that depends on the split  # fmt: skip


@pytest.mark.slow
def test_two_ranks_with_half_batches_equal_one_rank(tmp_path):
    one = subprocess.run([sys.executable, "-m", "studies.run", *ARGS, "--out", str(tmp_path / "one")], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert one.returncode == 0, one.stdout[-2000:] + one.stderr[-2000:]
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "-m", "studies.run", *ARGS, "--out", str(tmp_path / "two")], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert two.returncode == 0, two.stdout[-3000:] + two.stderr[-6000:]
    a, b = (pd.read_csv(tmp_path / d / "cyclegan_loss" / "CycleGAN-s0" / "losses.csv") for d in ("one", "two"))
    assert list(a.columns) == list(b.columns) and len(a) == len(b) == 4
    terms = [c for c in a.columns if c not in ("step", "images")]
    assert np.allclose(a[terms].to_numpy(), b[terms].to_numpy(), rtol=1e-3, atol=1e-5)  # float32, other sum order
    ra, rb = (pd.read_csv(tmp_path / d / "cyclegan_loss" / "results.csv") for d in ("one", "two"))
    test = ["run_id", "metric"]
    m = ra[ra.split == "test"].merge(rb[rb.split == "test"], on=test)
    assert len(m) > 5 and np.allclose(m.value_x, m.value_y, rtol=1e-3, atol=1e-4)
    attempts = (tmp_path / "two" / "cyclegan_loss" / "CycleGAN-s0" / "attempts.log").read_text().splitlines()
    assert len(attempts) == 1  # rank 0 alone claimed and wrote the run


def test_torchrun_needs_one_run(monkeypatch, capsys):
    from studies import run as runner

    monkeypatch.setattr(runner, "init_from_env", lambda: (0, 2))
    assert runner.main(["cyclegan_loss", "--profile", "smoke"]) == 2
    assert "torchrun trains one run on 2 processes: pass --only RUN" in capsys.readouterr().err
