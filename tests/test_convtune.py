"""train.conv_autotune (models/convtune.py): each convolution on torch's own kernels computes what oneDNN's do, in
float64 to rounding, forward, backward and double backward; timing leaves the random stream alone; the choice is
made once per shape and kept; the loop with it matches the reference path (tests/test_speed_switches.py's check)."""

import pytest
import torch
from torch import nn

from models.convtune import ConvAutotune, onednn


class Native(ConvAutotune):  # every shape on torch's kernels, whatever the timings
    @staticmethod
    def _faster_is_onednn(*args) -> bool:
        return False


LAYERS = [
    (nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect"), (2, 3, 9, 9)),
    (nn.Conv2d(8, 16, 4, 2, 1, bias=False), (1, 8, 8, 8)),
    (nn.ConvTranspose2d(16, 8, 4, 2, 1), (1, 16, 2, 2)),
    (nn.ConvTranspose2d(8, 4, 3, 2, 1, output_padding=1), (2, 8, 4, 4)),
    (nn.Conv2d(4, 6, 3, dilation=2, groups=2), (1, 4, 12, 12)),
]


@pytest.mark.parametrize("k", range(len(LAYERS)))
def test_torchs_kernels_compute_what_onednns_do_forward_backward_and_double_backward(k):
    layer, shape = LAYERS[k]
    layer = layer.double()
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)

    def run(mode):
        layer.zero_grad()
        with mode:
            y = layer(x)
            (gx,) = torch.autograd.grad(y.square().sum(), x, create_graph=True)  # as R1 / gradient penalties
            (y.sum() + gx.square().sum()).backward()
        return [y.detach(), gx.detach()] + [p.grad.clone() for p in layer.parameters()]

    ref, tuner = run(onednn(True)), Native()
    ours = run(tuner)
    assert tuner.choice and not any(tuner.choice.values())  # torch's kernels were used
    for a, b in zip(ref, ours, strict=True):
        assert (a - b).abs().max() <= 1e-12 * a.abs().max() and a.abs().max() > 0


def test_the_choice_is_timed_once_per_shape_and_draws_no_random_numbers():
    conv = nn.Conv2d(3, 4, 3)

    def draws(mode):
        torch.manual_seed(0)
        with mode:
            for shape in [(1, 3, 8, 8), (1, 3, 8, 8), (2, 3, 8, 8)]:
                conv(torch.randn(shape)).sum().backward()
            with torch.no_grad():
                conv(torch.randn(1, 3, 8, 8))
        return torch.rand(3)

    tuner = ConvAutotune()
    assert torch.equal(draws(tuner), draws(onednn(True)))  # timing on copies with ones as gradients: no draws
    assert len(tuner.choice) == 3  # two batch shapes with gradients, one without
    first = dict(tuner.choice)
    draws(tuner)
    assert tuner.choice == first  # kept, not timed again


def test_string_padding_and_unbatched_inputs_pass_through():
    tuner = ConvAutotune()
    with tuner:
        nn.Conv2d(3, 4, 3, padding="same")(torch.randn(1, 3, 8, 8))
        nn.Conv2d(3, 4, 3)(torch.randn(3, 8, 8))
    assert tuner.choice == {}


def test_the_loop_on_torchs_kernels_matches_the_reference_path(monkeypatch):
    from tests.test_speed_switches import _check

    monkeypatch.setattr(ConvAutotune, "_faster_is_onednn", staticmethod(lambda *a: False))
    _check("cpu", "conv_autotune")
