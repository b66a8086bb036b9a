"""Each speed switch of TrainConfig (bf16 autocast, channels_last, fused Adam, torch.compile, DataLoader workers with
pinned memory, CPU convolution autotune) gives the reference path's results within tolerance: the same init and
batches, a few loop steps, then the losses and the weights compared. On CUDA (marker gpu, skipped without it) every
switch; on the CPU the cheap ones, through the same check."""

import pytest
import torch

from models.contract import DataFacts, Progress
from models.pix2pix import PatchDConfig, Pix2Pix, Pix2PixConfig, UNetConfig
from models.train import DataStream, Engine, TrainConfig, seed_everything
from studies.datasets import DataConfig, make_dataset

SWITCHES = {  # switch -> (TrainConfig fields, loss tolerance (relative), weight tolerance (absolute))
    "fused_adam": ({"fused_adam": True}, 1e-4, 1e-5),
    "channels_last": ({"channels_last": True}, 1e-3, 1e-4),
    "amp": ({"amp": True}, 5e-2, 2e-3),  # bf16: 8 mantissa bits
    "compile": ({"compile": True}, 1e-3, 1e-4),
    "workers": ({"workers": 2, "pin_memory": True}, 1e-6, 1e-7),  # the same batches: the same numbers
    # CPU only (CUDA: no effect); other kernels' rounding, which Adam's first steps can turn into up to 2 x lr in a
    # near-zero gradient's weight: 4e-6 to 2.1e-5 over six random mixes of the two kernels, so channels_last's 1e-4
    "conv_autotune": ({"conv_autotune": True}, 1e-4, 1e-4),
}
REFERENCE = {"amp": False, "channels_last": False, "fused_adam": False, "compile": False}


def _run(device: str, fields: dict, steps: int = 3):
    seed_everything(0)
    recipe = Pix2Pix(
        Pix2PixConfig(g=UNetConfig(num_downs=5, ngf=8), d=PatchDConfig(ndf=8)), DataFacts(3, 3, 8, 32, "paired")
    )
    for net in recipe.nets.values():  # no dropout: the switches must agree step for step
        for m in net.modules():
            if isinstance(m, torch.nn.Dropout):
                m.p = 0.0
    cfg = TrainConfig(images=8 * steps, batch_size=4, device=device, **(REFERENCE | fields))
    eng = Engine.build(recipe, cfg)
    data = make_dataset(DataConfig(size=32, n_train=16, n_val=2, n_test=2), "train", augment=True)
    stream = DataStream(data, 0, cfg.workers, bool(cfg.pin_memory) and device == "cuda")
    fmt = torch.channels_last if eng.channels_last else torch.contiguous_format

    def next_batch(bs):
        b = stream.next(bs)
        return {k: (v.to(device, memory_format=fmt) if v.ndim == 4 else v.to(device)) for k, v in b.items()}

    rows = [eng.step(recipe, next_batch, Progress(i, 8 * i, 8 * steps)) for i in range(steps)]
    stream.close()
    return rows, {k: [p.detach().float().cpu() for p in n.parameters()] for k, n in recipe.nets.items()}


def _check(device: str, switch: str) -> None:
    fields, loss_tol, weight_tol = SWITCHES[switch]
    ref_rows, ref_w = _run(device, {})
    rows, w = _run(device, fields)
    for a, b in zip(ref_rows, rows):
        for k in ("d/real", "d/fake", "g/gan", "g/l1"):
            assert abs(a[k] - b[k]) <= loss_tol * max(1.0, abs(a[k])), (switch, k, a[k], b[k])
    for k in ref_w:
        diff = max((p - q).abs().max().item() for p, q in zip(ref_w[k], w[k]))
        assert diff <= weight_tol, (switch, k, diff)


@pytest.mark.gpu
@pytest.mark.parametrize("switch", [s for s in SWITCHES if s != "conv_autotune"])  # the autotune: CPU only
def test_each_speed_switch_matches_the_reference_path_on_cuda(switch):
    _check("cuda", switch)


@pytest.mark.parametrize("switch", ["fused_adam", "channels_last", "workers", "conv_autotune"])
def test_the_cheap_switches_match_the_reference_path_on_the_cpu(switch):
    _check("cpu", switch)
