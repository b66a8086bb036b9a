"""Training-step throughput of the other families: CycleGAN (both G and both D, at 128 and 256 px, batch 1;
issue 14), Progressive GAN at its full 128 px level (full widths, batch 16, the gradient-penalty pass
included; issue 15), pix2pixHD's global generator and SPADE at their reference widths (ngf 64; 35 label classes
+ the instance edge, the multiscale D, feature matching and the VGG19 loss, whose time does not depend on its
weights, so a randomly initialised VGG19 stands in for the weight file; batch 1 at 128 and 256 px; issue 18),
on the paper-faithful fp32 eager path and on the fast path (bf16 autocast, channels_last, fused Adam), as
bench/bench_models.py times pix2pix.

Each step is the loop's own `Engine.step` with the recipe's paper defaults (phases, optimizers). The
reference implementations are not vendored: CycleGAN's `CycleGANModel.optimize_parameters()` and the
official (TensorFlow) Progressive GAN are not timed here; the peer comparison is issue 17's bench hook.
"""

import dataclasses

import pytest
import torch

from bench.conftest import record_rate, sync
from models import RECIPES
from models.contract import DataFacts, Progress
from models.perceptual import VGGLoss, vgg19_features
from models.train import Engine, batch_size, seed_everything
from studies.spec import RunSpec, override

PATHS = {
    "reference": {"amp": False, "channels_last": False, "fused_adam": False},
    "fast": {"amp": True, "channels_last": True, "fused_adam": True},
}
CASES = {  # (recipe, size, batch): what the issues ask for
    "cyclegan-128": ("cyclegan", 128, 1),
    "cyclegan-256": ("cyclegan", 256, 1),
    "progan-128": ("progan", 128, 16),
    "pix2pixhd-128": ("pix2pixhd", 128, 1),
    "pix2pixhd-256": ("pix2pixhd", 256, 1),
    "spade-128": ("spade", 128, 1),
    "spade-256": ("spade", 256, 1),
}
LABELS = 35  # Cityscapes' label ids, as the references' parameter counts (plus the instance-edge channel)


def _setup(case: str, path: str, device: torch.device):
    name, size, batch = CASES[case]
    cls, spec = RECIPES[name], RunSpec(recipe=name)
    for k, v in cls.defaults.items():
        spec = override(spec, k, v)
    model = dataclasses.replace(spec.model, growing=False) if name == "progan" else spec.model  # the 128 px level
    view, semantic = cls.views[0], name in ("pix2pixhd", "spade")
    if semantic:
        model = dataclasses.replace(model, lambda_vgg=0.0)  # built without the file; the VGG is added below
    facts = DataFacts(3 if view != "unconditional" else 0, 3, LABELS if semantic else 0, size, view,
                      shape=(3, size, size), instances=semantic)  # fmt: skip
    seed_everything(0)
    recipe = cls(model, facts)
    if semantic:
        recipe.frozen["vgg"] = VGGLoss(vgg19_features())
    train = dataclasses.replace(spec.train, images=1000 * batch, batch_size=batch, device=device.type, **PATHS[path])
    eng = Engine.build(recipe, train)
    fmt = torch.channels_last if eng.channels_last else torch.contiguous_format
    gen = torch.Generator().manual_seed(0)
    data = {k: (torch.rand(batch, 3, size, size, generator=gen) * 2 - 1).to(device, memory_format=fmt) for k in "ab"}
    if semantic:
        data["label"] = torch.randint(0, LABELS, (batch, size, size), generator=gen).to(device)
        data["instance"] = torch.randint(0, 4, (batch, size, size), generator=gen).to(device)
    return recipe, eng, data, batch


@pytest.mark.benchmark(group="models/families_train_step")
@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("case", list(CASES))
def test_family_train_step(benchmark, device, case, path):
    recipe, eng, data, batch = _setup(case, path, device)
    step = iter(range(10**6))
    assert batch_size(recipe, Progress(0, 0, 1000 * batch), batch) == batch  # ProGAN's 128 px minibatch is 16

    def run():
        eng.step(recipe, lambda bs: data, Progress(next(step), 0, 1000 * batch), grad_norm=False)
        sync(device)

    name, size, _ = CASES[case]
    benchmark.extra_info.update(recipe=name, size=size, batch=batch, images=batch, path=path, what="train_step",
                                device=str(device), threads=torch.get_num_threads())  # fmt: skip
    rounds = 2 if device.type == "cpu" and (size == 256 or name in ("progan", "pix2pixhd", "spade")) else 5
    benchmark.pedantic(run, rounds=rounds, warmup_rounds=1)
    record_rate(benchmark, batch)
