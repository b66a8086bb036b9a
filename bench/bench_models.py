"""Throughput of each recipe: G forward (inference) and a full training step (D step + G step), at 64, 128
and 256 px, batch 1 and a larger batch, on the paper-faithful fp32 eager path and on the fast path.

The architecture is the reference one at every size (U-Net with log2(size) downsamplings, ngf 64, 70x70
PatchGAN). "reference" = fp32, contiguous, unfused Adam, eager; "fast" = bf16 autocast, channels_last,
fused Adam; "fast+compile" adds torch.compile (its compile time is paid in the warm-up rounds).
images/s goes into extra_info, and bench/report.py turns it into results rows.
"""

import math

import pytest
import torch

from bench.conftest import record_rate, sync
from models.contract import DataFacts, Progress
from models.pix2pix import PatchDConfig, Pix2Pix, Pix2PixConfig, UNetConfig
from models.train import Engine, TrainConfig, seed_everything

PATHS = {
    "reference": {"amp": False, "channels_last": False, "fused_adam": False},
    "fast": {"amp": True, "channels_last": True, "fused_adam": True},
    # the fast path of a CPU without native bf16 (no avx512_bf16 / AMX: autocast is emulated there, 7-16x slower)
    "fused": {"amp": False, "channels_last": False, "fused_adam": True},
    "fused+cl": {"amp": False, "channels_last": True, "fused_adam": True},  # the same in channels_last (DCGAN's best)
    "tuned": {"amp": False, "channels_last": False, "fused_adam": True, "conv_autotune": True},  # + oneDNN or not
    "fast+compile": {"amp": True, "channels_last": True, "fused_adam": True, "compile": True},
}
RECIPES = {
    "pix2pix": lambda size: Pix2Pix(
        Pix2PixConfig(g=UNetConfig(num_downs=int(math.log2(size))), d=PatchDConfig()),
        DataFacts(3, 3, 0, size, "paired"),
    )
}
SHAPES = [(64, 1), (64, 16), (128, 1), (128, 8), (256, 1), (256, 4)]
STEP_CASES = [(size, batch, path) for size, batch in SHAPES for path in PATHS]  # compile: ~30 s per shape on CPU


def _setup(recipe_name, size, batch, path, device):
    seed_everything(0)
    recipe = RECIPES[recipe_name](size)
    eng = Engine.build(recipe, TrainConfig(images=1000 * batch, batch_size=batch, device=device.type, **PATHS[path]))
    fmt = torch.channels_last if eng.channels_last else torch.contiguous_format
    gen = torch.Generator().manual_seed(0)
    batch_t = {k: (torch.rand(batch, 3, size, size, generator=gen) * 2 - 1).to(device, memory_format=fmt) for k in "ab"}
    return recipe, eng, batch_t


def _info(benchmark, recipe_name, size, batch, path, device, what):
    benchmark.extra_info.update(
        recipe=recipe_name,
        size=size,
        batch=batch,
        images=batch,
        path=path,
        what=what,
        device=str(device),
        threads=torch.get_num_threads(),
        torch=torch.__version__,
    )


@pytest.mark.benchmark(group="models/train_step")
@pytest.mark.parametrize("size,batch,path", STEP_CASES)
@pytest.mark.parametrize("recipe_name", list(RECIPES))
def test_train_step(benchmark, device, recipe_name, size, batch, path):
    recipe, eng, data = _setup(recipe_name, size, batch, path, device)
    step = iter(range(10**6))

    def run():
        t = Progress(next(step), 0, 1000 * batch)
        eng.step(recipe, lambda bs: data, t, grad_norm=False)  # as on the loop's unlogged steps
        sync(device)

    _info(benchmark, recipe_name, size, batch, path, device, "train_step")
    rounds = 3 if size == 256 and device.type == "cpu" and "compile" not in path else 8
    benchmark.pedantic(run, rounds=rounds, warmup_rounds=5 if "compile" in path else 1)  # compile + guard recompiles
    record_rate(benchmark, batch)


@pytest.mark.benchmark(group="models/forward")
@pytest.mark.parametrize("path", ["reference", "fast"])
@pytest.mark.parametrize("size,batch", SHAPES)
@pytest.mark.parametrize("recipe_name", list(RECIPES))
def test_forward(benchmark, device, recipe_name, size, batch, path):
    recipe, eng, data = _setup(recipe_name, size, batch, path, device)

    def run():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=eng.amp):
            recipe.translate(data, Progress(0, 0, 1))
        sync(device)

    _info(benchmark, recipe_name, size, batch, path, device, "forward")
    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    record_rate(benchmark, batch)
