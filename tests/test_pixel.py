"""l1 / psnr: hand values, torchmetrics agreement, and the shared input checks."""

import math

import pytest
import torch

from metrics.pixel import l1, psnr
from metrics.protocol import MeanOf, check_images, from_uint8


def test_hand_values():
    x, y = torch.zeros(2, 3, 4, 4), torch.full((2, 3, 4, 4), 0.5)
    assert torch.allclose(l1(x, y), torch.full((2,), 0.5))
    assert torch.allclose(psnr(x, y), torch.full((2,), 10 * math.log10(4 / 0.25)))
    assert torch.isinf(psnr(x, x)).all()
    assert torch.allclose(psnr((x + 1) / 2, (y + 1) / 2, data_range=1.0), torch.full((2,), 10 * math.log10(1 / 0.0625)))


@pytest.mark.parametrize("chunks", [1, 3])
def test_mean_of_streams(chunks, gen):
    x, y = torch.rand(6, 3, 8, 8, generator=gen) * 2 - 1, torch.rand(6, 3, 8, 8, generator=gen) * 2 - 1
    acc = MeanOf(l1, "l1")
    for a, b in zip(x.chunk(chunks), y.chunk(chunks)):
        acc.update(a, b)
    assert acc.compute()["l1"] == pytest.approx(l1(x, y).mean().item(), rel=1e-6)
    with pytest.raises(ValueError, match="no samples"):
        MeanOf(l1, "l1").compute()


def test_input_checks():
    with pytest.raises(TypeError, match="from_uint8"):
        check_images(torch.zeros(1, 3, 4, 4, dtype=torch.uint8), "fake")
    with pytest.raises(ValueError, match=r"fake: expected a non-empty \(N, C, H, W\)"):
        check_images(torch.zeros(3, 4, 4), "fake")
    with pytest.raises(ValueError, match="fake: contains NaN"):
        check_images(torch.full((1, 3, 4, 4), float("inf")), "fake")
    with pytest.raises(ValueError, match=r"outside \[-1.0, 1.0\]"):
        check_images(torch.full((1, 3, 4, 4), 1.5), "fake")
    u = torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 1, 2).expand(1, 3, 1, 2)
    assert torch.equal(from_uint8(u), torch.tensor([-1.0, 1.0]).view(1, 1, 1, 2).expand(1, 3, 1, 2))
