"""SSIM / MS-SSIM in their references' own conventions (uint8 images, data_range / max_val 255): skimage for SSIM,
a NumPy port of Progressive GAN's ms_ssim.py for MS-SSIM and diversity; properties; bad inputs."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity
from torchmetrics.functional.image import multiscale_structural_similarity_index_measure as tm_ms_ssim

from bench import pggan_ms_ssim
from metrics.protocol import from_uint8
from metrics.ssim import PairDiversity, ms_ssim, ms_ssim_diversity, ssim


def _pair(n, size, noise, gen, smooth=True):
    x = torch.rand(n, 3, size, size, generator=gen) * 2 - 1
    if smooth:
        x = F.avg_pool2d(x, 5, 1, 2)
    y = (x + noise * torch.randn(x.shape, generator=gen)).clamp(-1, 1)
    return x, y


def _uint8_pair(n, size, noise, gen, dark=0.0):
    """uint8 NCHW images: smooth, with a brightness offset (means far from 0.5 expose range mistakes)."""
    x, y = _pair(n, size, noise, gen)
    return tuple(((v - dark).clamp(-1, 1) + 1).mul(127.5).round().to(torch.uint8) for v in (x, y))


def _nhwc(x: torch.Tensor) -> np.ndarray:
    return x.permute(0, 2, 3, 1).numpy()


@pytest.mark.parametrize("size,noise,dark", [(32, 0.3, 0.0), (64, 0.05, 0.6), (64, 1.0, -0.5), (128, 0.2, 0.7),
                                             (48, 0.2, 0.3)])  # fmt: skip
def test_ssim_matches_skimage_on_uint8(size, noise, dark, gen):
    x, y = _uint8_pair(4, size, noise, gen, dark)
    ours = ssim(from_uint8(x), from_uint8(y))  # the ganbench range [-1, 1]
    ours01 = ssim(x.float() / 255, y.float() / 255, data_range=1.0)  # [0, 1] input
    for i in range(4):
        ref = structural_similarity(_nhwc(x)[i], _nhwc(y)[i], gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, data_range=255, channel_axis=2)  # fmt: skip
        assert ours[i].item() == pytest.approx(ref, abs=1e-4)
        assert ours01[i].item() == pytest.approx(ref, abs=1e-4)


@pytest.mark.parametrize("size,noise,dark", [(32, 0.3, 0.0), (64, 0.05, 0.6), (64, 0.6, -0.4), (128, 0.2, 0.5)])
def test_ms_ssim_matches_progressive_gan_on_uint8(size, noise, dark, gen):
    x, y = _uint8_pair(4, size, noise, gen, dark)
    ref = pggan_ms_ssim.ms_ssim_per_image(_nhwc(x), _nhwc(y))
    ours = ms_ssim(from_uint8(x), from_uint8(y)).numpy()
    assert ours == pytest.approx(ref, abs=1e-3)


def test_diversity_matches_progressive_gan_on_256_smooth_images(gen):
    x, _ = _uint8_pair(256, 64, 0.0, gen, dark=0.3)  # the case: 256 smooth 64 px images
    ref = pggan_ms_ssim.diversity(_nhwc(x))
    assert ms_ssim_diversity(from_uint8(x)) == pytest.approx(ref, abs=1e-3)
    assert ref > 0.05  # smooth images are alike: far from 0, where a range mistake is easy to miss


def test_ssim_properties(gen):
    x, y = _pair(3, 32, 0.4, gen)
    assert torch.allclose(ssim(x, x), torch.ones(3))
    assert torch.allclose(ssim(x, y), ssim(y, x), atol=1e-6)
    assert (ssim(x, y) < 1).all()


def test_ms_ssim_matches_torchmetrics_where_valid(gen):
    x, y = _pair(3, 192, 0.05, gen)  # similar pairs at >= 176 px: torchmetrics' domain, in its [0, 1] convention
    x01, y01 = (x + 1) / 2, (y + 1) / 2
    assert torch.allclose(ms_ssim(x, y).float(), tm_ms_ssim(x01, y01, data_range=1.0, reduction="none"), atol=1e-3)


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


def test_constant_images_use_intensities():
    # constant images: only luminance is left, on [0, 1] intensities with C1 = 0.01^2 (black vs mid-grey)
    a, b = torch.full((1, 3, 16, 16), -1.0), torch.zeros(1, 3, 16, 16)  # intensities 0 and 0.5
    assert ssim(a, a).item() == pytest.approx(1.0)
    assert ssim(a, b).item() == pytest.approx((2 * 0 * 0.5 + 1e-4) / (0.25 + 1e-4), rel=1e-4)
    with pytest.raises(ValueError, match="data_range must be 2"):
        ssim(b, b, data_range=255.0)
