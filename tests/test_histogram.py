"""Lab histogram intersection: skimage's rgb2lab as the oracle, identical and disjoint sets, streaming."""

import numpy as np
import pytest
import torch
from skimage.color import rgb2lab

from metrics.histogram import LabHistogram, lab_histogram_intersection, rgb_to_lab


def test_lab_matches_skimage(gen):
    x = torch.rand(2, 3, 16, 16, generator=gen) * 2 - 1
    ours = rgb_to_lab(x).permute(0, 2, 3, 1).numpy()
    ref = rgb2lab(((x + 1) / 2).permute(0, 2, 3, 1).double().numpy())
    assert np.abs(ours - ref).max() < 1e-6


def test_identical_and_disjoint_sets(gen):
    x = torch.rand(3, 3, 16, 16, generator=gen) * 2 - 1
    assert lab_histogram_intersection(x, x) == pytest.approx({"hist_L": 1.0, "hist_a": 1.0, "hist_b": 1.0})
    black, white = -torch.ones(1, 3, 8, 8), torch.ones(2, 3, 8, 8)
    assert lab_histogram_intersection(black, white)["hist_L"] == 0.0
    red = torch.tensor([1.0, -1, -1]).view(1, 3, 1, 1).expand(1, 3, 8, 8)
    green = torch.tensor([-1.0, 1, -1]).view(1, 3, 1, 1).expand(1, 3, 8, 8)
    assert lab_histogram_intersection(red, green)["hist_a"] == 0.0
    # half the pixels shared -> intersection 0.5
    mixed = torch.cat([black, white[:1]])
    assert lab_histogram_intersection(mixed, black)["hist_L"] == pytest.approx(0.5)


@pytest.mark.parametrize("chunks", [1, 2, 4])
def test_streaming(chunks, gen):
    fake, real = (
        torch.rand(4, 3, 8, 8, generator=gen) * 2 - 1,
        torch.rand(4, 3, 8, 8, generator=gen) * 1.5 - 1,
    )
    acc = LabHistogram()
    for f, r in zip(fake.chunk(chunks), real.chunk(chunks)):
        acc.update(f, r)
    assert acc.compute() == pytest.approx(lab_histogram_intersection(fake, real), rel=1e-12)


def test_errors():
    with pytest.raises(ValueError, match="both sets"):
        LabHistogram().compute()
    with pytest.raises(ValueError, match="outside"):
        lab_histogram_intersection(torch.full((1, 3, 4, 4), 2.0), torch.zeros(1, 3, 4, 4))
