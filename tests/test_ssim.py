"""SSIM / MS-SSIM: skimage and torchmetrics as oracles, properties, and bad inputs."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity
from torchmetrics.functional.image import multiscale_structural_similarity_index_measure as tm_ms_ssim

from metrics.ssim import PairDiversity, ms_ssim, ms_ssim_diversity, ssim


def _pair(n, size, noise, gen, smooth=True):
    x = torch.rand(n, 3, size, size, generator=gen) * 2 - 1
    if smooth:
        x = F.avg_pool2d(x, 5, 1, 2)
    y = (x + noise * torch.randn(x.shape, generator=gen)).clamp(-1, 1)
    return x, y


@pytest.mark.parametrize("size,noise,data_range", [(32, 0.3, 2.0), (64, 0.05, 2.0), (64, 1.0, 2.0), (48, 0.2, 1.0)])
def test_ssim_matches_skimage(size, noise, data_range, gen):
    x, y = _pair(4, size, noise, gen)
    if data_range == 1.0:
        x, y = (x + 1) / 2, (y + 1) / 2
    ours = ssim(x, y, data_range=data_range)
    for i in range(4):
        ref = structural_similarity(x[i].permute(1, 2, 0).double().numpy(), y[i].permute(1, 2, 0).double().numpy(),
                                    gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                    data_range=data_range, channel_axis=2)  # fmt: skip
        assert ours[i].item() == pytest.approx(ref, abs=1e-4)


def test_ssim_properties(gen):
    x, y = _pair(3, 32, 0.4, gen)
    assert torch.allclose(ssim(x, x), torch.ones(3))
    assert torch.allclose(ssim(x, y), ssim(y, x), atol=1e-6)
    assert (ssim(x, y) < 1).all()


def test_ms_ssim_matches_torchmetrics_where_valid(gen):
    x, y = _pair(3, 192, 0.05, gen)  # similar pairs at >= 176 px: torchmetrics' domain
    assert torch.allclose(ms_ssim(x, y).float(), tm_ms_ssim(x, y, data_range=2.0, reduction="none"), atol=1e-3)


def test_ms_ssim_small_images_and_clipping(gen):
    for size in (16, 32, 64):
        x, y = _pair(4, size, 1.0, gen, smooth=False)
        v = ms_ssim(x, y)
        assert v.shape == (4,) and torch.isfinite(v).all() and (v >= 0).all() and (v <= 1).all()
        assert torch.allclose(ms_ssim(x, x), torch.ones(4, dtype=torch.float64))
    # anti-correlated images: negative cs terms are clipped to 0 (the reference), never NaN
    x = torch.rand(2, 3, 32, 32, generator=gen) * 2 - 1
    assert torch.equal(ms_ssim(x, -x), torch.zeros(2, dtype=torch.float64))


def test_ms_ssim_is_monotone_in_noise(gen):
    x, _ = _pair(4, 64, 0, gen)
    scores = [ms_ssim(x, (x + s * torch.randn(x.shape, generator=gen)).clamp(-1, 1)).mean() for s in (0.02, 0.2, 0.8)]
    assert scores[0] > scores[1] > scores[2]


def test_diversity(gen):
    x = torch.rand(6, 3, 32, 32, generator=gen) * 2 - 1
    collapsed = x[:1].repeat(6, 1, 1, 1)
    assert ms_ssim_diversity(collapsed) == pytest.approx(1.0)
    assert ms_ssim_diversity(x) == pytest.approx(ms_ssim(x[0::2], x[1::2]).mean().item())
    assert ms_ssim_diversity(x) < 0.5
    assert ms_ssim_diversity(x[:5]) == pytest.approx(ms_ssim(x[0:4:2], x[1:4:2]).mean().item())


@pytest.mark.parametrize("chunks", [[6], [1, 5], [3, 3], [1, 1, 1, 3]])
def test_diversity_streaming(chunks, gen):
    x = torch.rand(6, 3, 32, 32, generator=gen) * 2 - 1
    acc = PairDiversity()
    for part in x.split(chunks):
        acc.update(part)
    assert acc.compute()["ms_ssim_diversity"] == pytest.approx(ms_ssim_diversity(x), rel=1e-9)


@pytest.mark.parametrize("fn", [ssim, ms_ssim])
def test_bad_inputs(fn):
    x = torch.zeros(2, 3, 32, 32)
    with pytest.raises(ValueError, match="differ in shape"):
        fn(x, torch.zeros(2, 3, 32, 31))
    with pytest.raises(ValueError, match="outside"):
        fn(x, torch.full_like(x, 3.0))
    with pytest.raises(ValueError, match="NaN"):
        fn(x, torch.full_like(x, float("nan")))
    with pytest.raises(TypeError, match="float tensor"):
        fn(x, x.to(torch.uint8))
    with pytest.raises(ValueError, match="non-empty"):
        fn(x[:0], x[:0])
    with pytest.raises(ValueError, match=r"H, W >= 1[16]"):
        fn(x[..., :8, :8], x[..., :8, :8])
    with pytest.raises(ValueError, match="at least 2 images"):
        ms_ssim_diversity(x[:1])


def test_float64_reference_is_stable():
    # ssim on constant images: C1/C2 keep it defined; equal constants give 1, different ones < 1
    a, b = torch.zeros(1, 3, 16, 16), torch.full((1, 3, 16, 16), 0.5)
    assert ssim(a, a).item() == pytest.approx(1.0)
    assert ssim(a, b).item() == pytest.approx(np.float64((2 * 0 * 0.5 + 4e-4) / (0.25 + 4e-4)), rel=1e-4)
