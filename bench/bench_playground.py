"""The Playground's answer time (issue 19: one 64 px drawing translated by three runs under 1 s on the CPU).

Three ablation_patchgan runs at the quick profile's architecture (64 px, U-Net num_downs 6, ngf 32) are
trained for 8 images here (the weights' values do not change the time) and opened as the page opens them.
One call is what the page does when a stroke ends: the 256 px canvas reduced to the runs' 64 px input, then
each run's translation, plus the PNG each output is shown as; the three translations alone are timed beside
it. `target_s` in extra_info is the issue's 1 s.
"""

import numpy as np
import pytest
import torch

from dashboard import playground as P
from studies import run as runner
from studies.datasets.synthetic import COLORS

RUNS = ["16x16-s0", "70x70-s0", "286x286-s0"]
TARGET_S = 1.0


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    out = tmp_path_factory.mktemp("playground_bench") / "runs"
    argv = ["ablation_patchgan", "--profile", "quick", "--seeds", "0", "--no-progress", "--only", ",".join(RUNS),
            "--set", "train.images=8", "--set", "data.n_train=8", "--set", "data.n_test=8", "--set", "metrics=l1",
            "--out", str(out)]  # fmt: skip
    assert runner.main(argv) == 0
    return [P.open_run(out / "ablation_patchgan" / r) for r in RUNS]


def _canvas(size: int = 64, k: int = 4) -> np.ndarray:
    """A drawn-looking label map on the canvas: sky with a stroke of road across it."""
    image = P.enlarge(P.blank("labels", size, COLORS[0]), k)
    image[100:120, 20:230] = COLORS[2]
    return image


def _info(benchmark, models):
    benchmark.extra_info.update(runs=len(models), size=models[0].size, target_s=TARGET_S,
                                threads=torch.get_num_threads(), device="cpu")  # fmt: skip


@pytest.mark.benchmark(group="dashboard/playground")
def test_stroke_to_three_outputs(benchmark, models):
    canvas = _canvas()
    assert models[0].size == 64

    def run():
        drawing = P.reduce(canvas, 64, "labels", models[0].colors)
        return [P.png(P.translate(m, drawing)) for m in models]

    _info(benchmark, models)
    outputs = benchmark.pedantic(run, rounds=10, warmup_rounds=1)
    assert len(outputs) == 3 and all(outputs)


@pytest.mark.benchmark(group="dashboard/playground")
def test_three_translations_alone(benchmark, models):
    drawing = P.reduce(_canvas(), 64, "labels", models[0].colors)
    _info(benchmark, models)
    benchmark.pedantic(lambda: [P.translate(m, drawing) for m in models], rounds=10, warmup_rounds=1)
