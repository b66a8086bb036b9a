"""The pix2pix training step side by side with the reference implementation's (issue 17).

The peer is junyanz/pytorch-CycleGAN-and-pix2pix, imported from a local checkout named by the environment
variable GANBENCH_PEER (its root: models/networks.py, models/pix2pix_model.py); it is never vendored or
downloaded, and without it these benches are skipped. The peer's nets are its own classes
(networks.UnetGenerator with log2(size) downsamplings, ngf 64, batch norm, dropout; NLayerDiscriminator
70x70 on 6 channels; init_weights normal 0.02), stepped by its own Pix2PixModel.optimize_parameters (forward,
D step, G step; GANLoss("vanilla"), L1 x 100, Adam 2e-4 (0.5, 0.999)); only BaseModel.__init__ (option
parsing, checkpoint folders) is bypassed, and old checkouts' fake pool is the identity (pool_size 0, as the
pix2pix default). Ours is the loop's Engine.step with the same architecture and objective, on the
paper-faithful path, the fast path and the fast path with torch.compile (bench/bench_models.py PATHS).
Both sides get the same batch each step; images/s goes into extra_info (bench/report.py), and
`bench/report.py` rows put the two side by side.
"""

import importlib
import math
import os
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from bench.bench_models import PATHS
from bench.bench_models import _setup as ours_setup
from bench.conftest import record_rate, sync
from models.contract import Progress
from models.train import seed_everything

PEER = os.environ.get("GANBENCH_PEER", "")
SHAPES = [(64, 1), (64, 8), (256, 1)]  # issue 17: 64 px batch 1 (the goal), batch 8 (the quick profile), 256 px
IMPLS = ["peer", *PATHS]


def load_peer(root: str | Path):
    """(networks, pix2pix_model) modules of the checkout at `root`, as the package `ganbench_peer` (the peer's own
    package is also called `models`, which is ours here). ImportError names what is missing."""
    root = Path(root)
    if not (root / "models" / "networks.py").is_file() or not (root / "models" / "pix2pix_model.py").is_file():
        raise ImportError(f"{root}: not a pytorch-CycleGAN-and-pix2pix checkout (models/networks.py, "
                          "models/pix2pix_model.py)")  # fmt: skip
    if "ganbench_peer" not in sys.modules:
        pkg = types.ModuleType("ganbench_peer")
        pkg.__path__ = [str(root / "models")]  # its __init__.py is not run: it imports `models` absolutely
        sys.modules["ganbench_peer"] = pkg
        if str(root) not in sys.path:
            sys.path.append(str(root))  # old checkouts import util.image_pool
    return importlib.import_module("ganbench_peer.networks"), importlib.import_module("ganbench_peer.pix2pix_model")


def peer_step(networks, pix2pix_model, size: int, device: torch.device):
    """A Pix2PixModel of the peer with its nets at `size`, its optimizers and losses, on `device`."""

    class Step(pix2pix_model.Pix2PixModel):
        def __init__(self):  # BaseModel.__init__ reads command-line options and makes checkpoint folders
            norm = networks.get_norm_layer("batch")
            self.opt = SimpleNamespace(lambda_L1=100.0, direction="AtoB")
            self.device, self.isTrain, self.gpu_ids = device, True, []
            self.netG = networks.UnetGenerator(3, 3, int(math.log2(size)), 64, norm_layer=norm, use_dropout=True)
            self.netD = networks.NLayerDiscriminator(6, 64, 3, norm_layer=norm)
            for net in (self.netG, self.netD):
                networks.init_weights(net, "normal", 0.02)
                net.to(device).train()
            self.criterionGAN = networks.GANLoss("vanilla").to(device)
            self.criterionL1 = torch.nn.L1Loss()
            self.optimizer_G = torch.optim.Adam(self.netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
            self.optimizer_D = torch.optim.Adam(self.netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
            self.fake_AB_pool = SimpleNamespace(query=lambda x: x)  # old checkouts: pool_size 0

    return Step()


@pytest.mark.skipif(not PEER, reason="set GANBENCH_PEER to a pytorch-CycleGAN-and-pix2pix checkout")
@pytest.mark.benchmark(group="peer/pix2pix_train_step")
@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("size,batch", SHAPES)
def test_pix2pix_step_beside_the_peer(benchmark, device, size, batch, impl):
    gen = torch.Generator().manual_seed(0)
    data = {k: torch.rand(batch, 3, size, size, generator=gen) * 2 - 1 for k in "ab"}
    if impl == "peer":
        seed_everything(0)
        model = peer_step(*load_peer(PEER), size, device)
        model.set_input({"A": data["a"], "B": data["b"], "A_paths": [], "B_paths": []})

        def run():
            model.optimize_parameters()
            sync(device)

    else:
        recipe, eng, batch_t = ours_setup("pix2pix", size, batch, impl, device)
        step = iter(range(10**6))

        def run():
            eng.step(recipe, lambda bs: batch_t, Progress(next(step), 0, 1000 * batch), grad_norm=False)
            sync(device)

    benchmark.extra_info.update(recipe="pix2pix", size=size, batch=batch, images=batch, path=impl, what="train_step",
                                device=str(device), threads=torch.get_num_threads(), peer=PEER)  # fmt: skip
    rounds = 3 if size == 256 and device.type == "cpu" else 10
    benchmark.pedantic(run, rounds=rounds, warmup_rounds=5 if "compile" in impl else 2)
    record_rate(benchmark, batch)


def test_the_peer_loader_names_a_wrong_checkout(tmp_path):
    with pytest.raises(ImportError, match="not a pytorch-CycleGAN-and-pix2pix checkout"):
        load_peer(tmp_path)
