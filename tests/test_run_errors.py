"""Bad input to the runner, tried as a new user would: each gives exit code 2 and one line naming the fault,
before any training, with no traceback and nothing written; a study whose runs all fail still prints."""

import numpy as np
import pytest
import torch
from PIL import Image

from studies import run as runner
from studies.runner import execute

SMOKE = ["ablation_patchgan", "--profile", "smoke", "--no-progress"]


def _main(tmp_path, capsys, *extra):
    code = runner.main([*SMOKE, "--out", str(tmp_path / "runs"), *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def _nothing_written(tmp_path):
    return not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*.csv"))


def _aligned(root, n=3, size=(32, 64)):
    for split in ("train", "test"):
        for i in range(n):
            (root / split).mkdir(parents=True, exist_ok=True)
            rgb = np.random.default_rng(i).integers(0, 256, (*size, 3), dtype=np.uint8)
            Image.fromarray(rgb).save(root / split / f"{i}.png")
    return root


@pytest.mark.parametrize("args, message", [
    (["--set", "train.images=abc"], "train.images expects int, got 'abc'"),
    (["--set", "train.nope=1"], "TrainConfig has no field 'nope'"),
    (["--set", "train.images"], "--set expects key=value"),
    (["--shard", "3/2"], "--shard expects i/n with 0 <= i < n, got '3/2'"),
    (["--shard", "x"], "--shard expects i/n"),
    (["--seeds", "0,a"], "--seeds expects comma-separated integers"),
    (["--only", "71x71-s0"], "unknown run id(s) ['71x71-s0']"),
    (["--only", "1x1-s0,71x71-s0", "--only", "7x7-s0"], "unknown run id(s) ['71x71-s0', '7x7-s0']"),
    (["--only", "71x71"], "unknown run id(s) ['71x71']; known: 1x1-s0, 16x16-s0"),
    (["--profile", "fast"], "has no profile 'fast'"),
    (["--set", "metrics=('ssim', 'nope')"], "unknown metric(s) ['nope']"),
])  # fmt: skip
def test_flag_mistakes(tmp_path, capsys, args, message):
    code, out, err = _main(tmp_path, capsys, *args)
    assert code == 2 and message in err and "Traceback" not in err + out
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert _nothing_written(tmp_path)


def test_only_takes_run_ids_comma_lists_and_variant_names(tmp_path, capsys):
    code, out, _ = _main(
        tmp_path, capsys, "--seeds", "0,1", "--only", "70x70", "--only", "1x1-s1,16x16-s0", "--dry-run"
    )
    assert code == 0 and "4 run(s)" in out
    assert [ln.split(":")[0].strip() for ln in out.splitlines()[1:]] == ["1x1-s1", "16x16-s0", "70x70-s0", "70x70-s1"]


def test_unknown_study(capsys):
    assert runner.main(["ablation_patchgn", "--dry-run"]) == 2
    assert "unknown study 'ablation_patchgn'; known: ablation_fastpath" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda(tmp_path, capsys):
    code, _, err = _main(tmp_path, capsys, "--device", "cuda")
    assert code == 2 and "CUDA is not available" in err and _nothing_written(tmp_path)


def test_missing_data_folder(tmp_path, capsys):
    code, _, err = _main(tmp_path, capsys, "--data", str(tmp_path / "nowhere"))
    assert code == 2 and "nowhere: dataset folder not found" in err and _nothing_written(tmp_path)


def test_corrupt_png_found_before_any_training(tmp_path, capsys, monkeypatch):
    root = _aligned(tmp_path / "facades")
    (root / "test" / "2.png").write_bytes((root / "test" / "2.png").read_bytes()[:200])
    trained = []
    monkeypatch.setattr(execute, "train", lambda *a, **k: trained.append(1))
    code, _, err = _main(tmp_path, capsys, "--data", str(root), "--set", "metrics=('ssim',)")
    assert code == 2 and "test/2.png: not a readable image" in err and not trained and _nothing_written(tmp_path)


def test_empty_split_and_cityscapes_without_gtfine(tmp_path, capsys):
    root = _aligned(tmp_path / "facades")
    for p in (root / "test").iterdir():
        p.unlink()
    code, _, err = _main(tmp_path, capsys, "--data", str(root))
    assert code == 2 and "'test' split folder holds no images" in err
    city = tmp_path / "cityscapes"
    (city / "leftImg8bit" / "train" / "aachen").mkdir(parents=True)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(city / "leftImg8bit/train/aachen/a_leftImg8bit.png")
    code, _, err = _main(tmp_path, capsys, "--data", str(city))
    assert code == 2 and "gtFine/train: Cityscapes gtFine/train folder not found" in err


def test_metric_without_its_input(tmp_path, capsys):
    code, _, err = _main(tmp_path, capsys, "--data", str(_aligned(tmp_path / "facades")))  # no label maps
    assert code == 2 and "metric 'fcn_score' reads 'label', which neither the eval batch (a, b, index)" in err
    assert "pix2pix.translate (fake_b)" in err and _nothing_written(tmp_path)


def test_recipe_that_cannot_run_its_config(tmp_path, capsys):
    code, _, err = _main(tmp_path, capsys, "--set", "model.g.num_downs=7")  # 2^7 > 32 px
    assert code == 2 and "1x1-s0: the pix2pix recipe cannot run this config" in err and "divisible" in err


def test_changed_config_is_never_resumed_silently(tmp_path, capsys):
    assert _main(tmp_path, capsys, "--only", "1x1-s0")[0] == 0
    code, _, err = _main(tmp_path, capsys, "--only", "1x1-s0", "--set", "model.lambda_l1=10.0")
    assert code == 2 and "1x1-s0 was trained with another config (model.lambda_l1: 100.0 -> 10.0)" in err
    assert "--restart" in err
    code, out, _ = _main(tmp_path, capsys, "--only", "1x1-s0", "--set", "model.lambda_l1=10.0", "--restart")
    assert code == 0 and "[1x1-s0] training" in out
    assert _main(tmp_path, capsys, "--only", "1x1-s0", "--set", "train.device=cpu", "--set",
                 "model.lambda_l1=10.0")[0] == 0  # bookkeeping fields (device) are not identity  # fmt: skip


def test_every_run_failing_still_prints_the_table(tmp_path, capsys, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(execute, "execute", boom)
    code, out, err = _main(tmp_path, capsys)
    assert code == 1 and "(no finished run has results)" in out and "FAILED 286x286-s0: RuntimeError: disk full" in out
    assert "Traceback" not in out + err
