"""Shared fixtures: tiny generated tensors, CPU only, two threads (the CI machine has two cores), and a small
runs/ folder written directly (no training): two studies, seeds, losses, samples, a bench report."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from metrics.tables import RESULTS_COLUMNS

torch.set_num_threads(2)


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


@pytest.fixture(autouse=True)
def _skip_gpu(request):
    if request.node.get_closest_marker("gpu") and not torch.cuda.is_available():
        pytest.skip("needs CUDA")


VARIANTS = {"ablation_patchgan": ["1x1", "70x70"], "ablation_loss": ["L1", "L1+cGAN"]}
VALUES = {"1x1": 0.61, "70x70": 0.83, "L1": 0.72, "L1+cGAN": 0.8}


def _png(path: Path, colour) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((16, 16, 3), colour, dtype=np.uint8)).save(path)


def make_runs(root: Path) -> Path:
    for study, variants in VARIANTS.items():
        d = root / study
        rows, runs = [], []
        for v in variants:
            for seed in (0, 1):
                run_id = f"{v}-s{seed}"
                for metric, value in (("fcn_pixel_acc", VALUES[v] + 0.01 * seed), ("l1", 1 - VALUES[v]),
                                      ("ssim", VALUES[v] / 2)):  # fmt: skip
                    rows.append([study, run_id, v, seed, 10, "test", metric, value])
                    rows.append([study, run_id, v, seed, 5, "test", metric, value - 0.1])  # an earlier eval
                runs.append({"run_id": run_id, "variant": v, "seed": seed, "status": "done", "recipe": "pix2pix",
                             "data.name": "synthetic_scenes", "model.loss": "l1" if v == "L1" else "l1+cgan",
                             "model.d.n_layers": 0 if v == "1x1" else 3, "train.seed": seed})  # fmt: skip
                rd = d / run_id
                rd.mkdir(parents=True, exist_ok=True)
                pd.DataFrame({"step": [0, 5, 10], "d/real": [0.7, 0.5, 0.4], "g/l1": [40.0, 30.0, 20.0],
                              "g/grad_norm": [3.0, 2.0, 1.5]}).to_csv(rd / "losses.csv", index=False)  # fmt: skip
                for index in (208, 209):
                    _png(rd / "samples" / "test" / f"{index:06d}_input.png", (128, 64, 128))
                    _png(rd / "samples" / "test" / f"{index:06d}_truth.png", (70, 130, 180))
                    _png(rd / "samples" / "test" / f"{index:06d}_output.png", (20 * seed, 200, 30))
        rows += [[study, "ground_truth", "ground truth (real photos)", 0, 0, "ceiling", "fcn_pixel_acc", 0.97]]
        pd.DataFrame(rows, columns=RESULTS_COLUMNS).to_csv(d / "results.csv", index=False)
        pd.DataFrame(runs).to_csv(d / "runs.csv", index=False)
        ref = {"ablation_patchgan": (["patchgan"], {"1x1": ["1x1"], "70x70": ["70x70"]}),
               "ablation_loss": (["loss"], {"L1": ["L1"], "L1+cGAN": ["L1+cGAN"]})}[study]  # fmt: skip
        info = {"name": study, "question": f"Question of {study}?", "variants": variants,
                "base": {"model.loss": "l1+cgan", "model.d.n_layers": 3, "train.seed": 0},
                "reference": ref[0], "reference_names": ref[1]}  # fmt: skip
        (d / "study.json").write_text(json.dumps(info))
    bench = root / "bench"
    bench.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([["bench", "test_metric_throughput[cpu-ssim-64]", "metrics", 0, 0, "bench", "images_per_s", 512.0]],
                 columns=RESULTS_COLUMNS).to_csv(bench / "results.csv", index=False)  # fmt: skip
    return root


@pytest.fixture
def runs(tmp_path):
    return make_runs(tmp_path / "runs")
