"""Protocol versions, stale marking, --rescore from checkpoints, older run folders, and the real-statistics cache."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from dashboard import data as dash
from metrics import METRICS, EvalContext, stale
from models import checkpoint as ckpt
from models.contract import Progress
from studies import run as runner
from studies.datasets import DataConfig, make_dataset
from studies.runner.checkpoints import load_run
from studies.runner.evaluation import Evaluator
from studies.spec import spec_from_config, upgrade_config

ARGS = ["ablation_patchgan", "--profile", "smoke", "--no-progress", "--only", "1x1-s0", "--only", "70x70-s0"]


def _final(out):
    res = pd.read_csv(out / "ablation_patchgan" / "results.csv")
    return res[res.split == "test"].set_index(["run_id", "metric"]).value


def _make_stale(out):
    """As a folder scored before ssim-v2 looks: run.json records ssim-v1 and metrics.jsonl holds other values."""
    for run in ("1x1-s0", "70x70-s0"):
        d = out / "ablation_patchgan" / run
        status = json.loads((d / "run.json").read_text())
        status["protocols"]["ssim"] = "ssim-v1"
        (d / "run.json").write_text(json.dumps(status))
        rows = [json.loads(ln) for ln in (d / "metrics.jsonl").read_text().splitlines()]
        rows[-1]["ssim"], rows[-1]["protocol"]["ssim"] = 0.004, "ssim-v1"
        (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_stale_rows_are_marked_and_rescore_recomputes_only_from_checkpoints(tmp_path, capsys, monkeypatch):
    out = tmp_path / "runs"
    assert runner.main([*ARGS, "--out", str(out)]) == 0
    before = _final(out)
    runs = pd.read_csv(out / "ablation_patchgan" / "runs.csv")
    assert runs["protocol/ssim"].tolist() == ["ssim-v2"] * 2 and runs["stale"].isna().all()
    _make_stale(out)
    capsys.readouterr()
    assert runner.main([*ARGS, "--out", str(out)]) == 0  # skipped runs, tables rebuilt from the run folders
    printed = capsys.readouterr().out
    assert "1x1 (D RF 1px) [stale: ssim]" in printed and "--rescore" in printed
    assert set(pd.read_csv(out / "ablation_patchgan" / "runs.csv").stale) == {"ssim"}
    loaded = dash.load(out)
    assert set(dash.stale_by_variant(loaded.runs).stale) == {"ssim"}
    assert set(dash.leaderboard(loaded.results, loaded.runs).stale) == {"ssim"}

    from studies.runner import execute

    monkeypatch.setattr(execute, "train", lambda *a, **k: pytest.fail("rescoring must not train"))
    assert runner.main([*ARGS, "--out", str(out), "--rescore"]) == 0
    after = _final(out)
    assert after.equals(before)  # ssim back to its v2 values; every other metric identical, to the bit
    runs = pd.read_csv(out / "ablation_patchgan" / "runs.csv")
    assert runs["stale"].isna().all() and runs["protocol/ssim"].tolist() == ["ssim-v2"] * 2
    loaded = dash.load(out)
    assert set(dash.leaderboard(loaded.results, loaded.runs).stale) == {""}
    assert "[stale" not in capsys.readouterr().out


def test_rescore_skips_unfinished_and_refuses_restart(tmp_path, capsys):
    out = tmp_path / "runs"
    assert runner.main([*ARGS, "--out", str(out), "--rescore"]) == 0
    assert "not finished: nothing to rescore" in capsys.readouterr().out
    assert runner.main([*ARGS, "--out", str(out), "--rescore", "--restart"]) == 2
    assert "cannot be combined with --restart" in capsys.readouterr().err


def test_run_folders_from_before_contract_v2_can_be_read_and_rescored(tmp_path):
    """Format-1 checkpoints (numpy RNG state) and step-counted configs, as the previous release wrote them."""
    out = tmp_path / "runs"
    assert runner.main([*ARGS[:-2], "--out", str(out)]) == 0
    d = out / "ablation_patchgan" / "1x1-s0"
    state = ckpt.load(d / "checkpoint.pt")
    old_rng = {"torch": torch.get_rng_state(), "numpy": np.random.get_state()}
    torch.save({"nets": state["nets"], "step": 4, "rng": old_rng, "opt": {}, "sched": {}}, d / "checkpoint.pt")
    config = json.loads((d / "config.json").read_text())
    t = config["train"]
    old_train = {"steps": t["images"] // t["batch_size"], "batch_size": t["batch_size"], "lr": 2e-4,
                 "betas": [0.5, 0.999], "decay_from": 0.5, "seed": 0, "device": "auto", "log_every": 1,
                 "sample_every": 0, "ckpt_every": 2, "eval_every": 0}  # fmt: skip
    old = {**config, "train": old_train, "model": {**config["model"], "in_ch": 3, "out_ch": 3},
           "data": {**config["data"], "view": "paired"}}  # fmt: skip
    (d / "config.json").write_text(json.dumps(old))
    assert upgrade_config(old)["train"]["images"] == 16 and spec_from_config(old).train.images == 16
    with pytest.raises(ckpt.CheckpointError, match="not a ganbench checkpoint readable as weights only"):
        ckpt.load(d / "checkpoint.pt")  # training never resumes from it
    run = load_run(d)
    assert run.progress == Progress(4, 16, 16)
    assert runner.main([*ARGS[:-2], "--out", str(out), "--rescore"]) == 0  # the identity check passes too


def test_real_statistics_are_cached_and_give_the_same_values(tmp_path):
    test = make_dataset(DataConfig(size=32, n_train=4, n_val=2, n_test=8), "test")
    names = ("swd", "hist_intersection", "ssim")
    metrics = {m: (METRICS[m], METRICS[m].make(EvalContext())) for m in names}

    class Noisy:
        modality, sample_rows, test_images, nets = "image", (), {}, {}

        def translate(self, batch, t):
            return {"fake_b": (batch["b"] * 0.8).clamp(-1, 1)}

    ev = Evaluator(test, metrics, torch.device("cpu"), batch_size=3, cache_dir=tmp_path)
    first = ev.evaluate(Noisy(), Progress(0, 0, 1), tmp_path)
    files = sorted(p.name for p in tmp_path.glob("real-*.pt"))
    assert [f.split("-")[1] for f in files] == ["hist_intersection", "swd"]  # ssim has no real side to cache
    second = ev.evaluate(Noisy(), Progress(0, 0, 1), tmp_path)
    assert second == first and all(metrics[m][1].frozen_real for m in ("swd", "hist_intersection"))
    (tmp_path / files[0]).write_bytes(b"damaged")
    assert ev.evaluate(Noisy(), Progress(0, 0, 1), tmp_path) == first  # a damaged cache is recomputed


def test_protocol_versions_and_stale():
    assert METRICS["ssim"].version == "ssim-v2" and METRICS["fcn_score"].version == "fcn-v2"
    assert stale({"ssim": "ssim-v1", "l1": "l1-v1", "unknown": "x"}) == ["ssim"]
