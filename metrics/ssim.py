"""SSIM, MS-SSIM and MS-SSIM diversity, each following one named reference exactly.

All three are defined on non-negative intensities: the luminance term (2 mu_x mu_y + C1) / (mu_x^2 +
mu_y^2 + C1) is not shift invariant, so images in the ganbench range [-1, 1] are first mapped to [0, 1]
and scored with L = 1 (C1 = (0.01 L)^2, C2 = (0.03 L)^2), which equals the references on uint8 images
with data_range / max_val 255. `data_range` names the range of the INPUT: 2 for [-1, 1] (default),
1 for [0, 1]. (Protocol v1, before 2026-12, scored the [-1, 1] values directly: up to 0.1 off.)

- `ssim`: Wang et al. 2004 ("Image quality assessment: from error visibility to structural
  similarity"), 11x11 Gaussian window (sigma 1.5), K1 0.01, K2 0.03, population covariances, averaged
  over the VALID region (windows fully inside the image) and the channels, as
  `skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`.
  Built on torchmetrics' SSIM map: torchmetrics reflect-pads and averages the padded map (up to 0.05
  off at 64 px); we crop its full map by 5 px, which leaves exactly the valid region.
- `ms_ssim`: Wang et al. 2003 as implemented by Progressive GAN (Karras et al. 2018, arXiv:1710.10196,
  github.com/tkarras/progressive_growing_of_gans/metrics/ms_ssim.py): 5 scales, weights (0.0448,
  0.2856, 0.3001, 0.2363, 0.1333), 2x2 average downsampling, valid windows at every scale (including
  the last, which torchmetrics leaves uncropped), channels averaged per scale, each image's cs and ssim
  clipped at 0, and the window shrunk to min(11, H, W) with sigma scaled by the same factor, so 32 and
  64 px images work. The reference takes uint8 images with max value 255 and computes in float32; we
  compute in float64 on [0, 1] (equal within 1e-3, tested against a NumPy port of its protocol).
- `ms_ssim_diversity`: the mean MS-SSIM of consecutive pairs of generated images (as in Odena et al.
  2017 and Progressive GAN); lower = more diverse.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics.functional.image import structural_similarity_index_measure as _tm_ssim

from metrics.protocol import check_images, check_pair

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
K1, K2 = 0.01, 0.03


def to_intensity(x: Tensor, data_range: float) -> Tensor:
    """Images in [-1, 1] (data_range 2) or [0, 1] (data_range 1) as intensities in [0, 1]."""
    if data_range == 2.0:
        return (x + 1) / 2
    if data_range == 1.0:
        return x
    raise ValueError(f"data_range must be 2 (images in [-1, 1]) or 1 (images in [0, 1]), got {data_range}")


def ssim(x: Tensor, y: Tensor, *, data_range: float = 2.0) -> Tensor:
    """Per-image SSIM over the valid region and channels (Wang et al. 2004; equals skimage's).

    Args:
        x, y: float (N, C, H, W) in [-1, 1] (data_range 2) or [0, 1] (data_range 1); H, W >= 11.
        data_range: width of the input range; the images are scored as [0, 1] intensities (L = 1).

    Returns:
        float (N,) in [-1, 1]; 1 only for identical images.

    Example:
        >>> x = torch.rand(2, 3, 32, 32) * 2 - 1
        >>> ssim(x, x)
        tensor([1., 1.])
    """
    check_pair(x, y, ("x", "y"), data_range=data_range)
    if min(x.shape[-2:]) < 11:
        raise ValueError(f"ssim needs H, W >= 11 (the 11x11 window), got {tuple(x.shape[-2:])}")
    x, y = to_intensity(x.float(), data_range), to_intensity(y.float(), data_range)
    _, full = _tm_ssim(x, y, data_range=1.0, kernel_size=11, sigma=1.5, reduction="none", return_full_image=True)
    return full[..., 5:-5, 5:-5].mean(dim=(1, 2, 3))


def _gaussian_window(size: int, sigma: float, device, dtype) -> Tensor:
    coords = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return g / g.sum()


def _ssim_cs(x: Tensor, y: Tensor, size: int, sigma: float, data_range: float) -> tuple[Tensor, Tensor]:
    """Per-image (ssim, cs) averaged over the valid region and channels, window `size` x `size`."""
    c = x.shape[1]
    g = _gaussian_window(size, sigma, x.device, x.dtype)
    kh, kw = g.view(1, 1, size, 1).repeat(c, 1, 1, 1), g.view(1, 1, 1, size).repeat(c, 1, 1, 1)
    stack = torch.cat([x, y, x * x, y * y, x * y])  # (5N, C, H, W)
    mu_x, mu_y, xx, yy, xy = F.conv2d(F.conv2d(stack, kh, groups=c), kw, groups=c).chunk(5)  # valid
    var_x, var_y, cov = xx - mu_x**2, yy - mu_y**2, xy - mu_x * mu_y
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    cs_map = (2 * cov + c2) / (var_x + var_y + c2)
    ssim_map = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * cs_map
    return ssim_map.mean(dim=(1, 2, 3)), cs_map.mean(dim=(1, 2, 3))


def ms_ssim(x: Tensor, y: Tensor, *, data_range: float = 2.0) -> Tensor:
    """Per-image MS-SSIM, Progressive GAN protocol (5 scales, valid windows, clipped terms).

    Args:
        x, y: float (N, C, H, W) in [-1, 1] (data_range 2) or [0, 1] (data_range 1); H, W >= 16.
        data_range: width of the input range; the images are scored as [0, 1] intensities (L = 1).

    Returns:
        float (N,) in [0, 1]; 1 for identical images.

    Example:
        >>> x = torch.rand(2, 3, 64, 64) * 2 - 1
        >>> ms_ssim(x, x)
        tensor([1., 1.], dtype=torch.float64)
    """
    check_pair(x, y, ("x", "y"), data_range=data_range)
    if min(x.shape[-2:]) < 2 ** (len(MS_SSIM_WEIGHTS) - 1):
        raise ValueError(f"ms_ssim needs H, W >= 16 for 5 scales, got {tuple(x.shape[-2:])}")
    x, y = to_intensity(x.double(), data_range), to_intensity(y.double(), data_range)
    weights = torch.tensor(MS_SSIM_WEIGHTS, dtype=x.dtype, device=x.device)
    terms = []
    for scale in range(len(MS_SSIM_WEIGHTS)):
        size = min(11, *x.shape[-2:])
        s, cs = _ssim_cs(x, y, size, 1.5 * size / 11, 1.0)
        if scale == len(MS_SSIM_WEIGHTS) - 1:
            terms.append(s)
        else:
            terms.append(cs)
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    stacked = torch.stack(terms).clamp_min(0)  # (5, N); clipping avoids NaN powers, as the reference
    return (stacked ** weights[:, None]).prod(dim=0)


def ms_ssim_diversity(images: Tensor, *, data_range: float = 2.0) -> float:
    """Mean MS-SSIM over the pairs (0, 1), (2, 3), ... of generated images; lower = more diverse.

    Args:
        images: float (N, C, H, W), N >= 2; with odd N the last image is left out.

    Returns:
        float in [0, 1].

    Example:
        >>> x = torch.rand(4, 3, 32, 32) * 2 - 1
        >>> ms_ssim_diversity(torch.cat([x[:1], x[:1]]))
        1.0
    """
    check_images(images, "images", data_range=data_range)
    if images.shape[0] < 2:
        raise ValueError(f"images: ms_ssim_diversity needs at least 2 images, got {images.shape[0]}")
    n = images.shape[0] // 2 * 2
    return ms_ssim(images[0:n:2], images[1:n:2], data_range=data_range).mean().item()


class PairDiversity:
    """Streaming `ms_ssim_diversity`: pairs consecutive images across update() calls (streaming is exact; a
    merge of shards drops a pair split between them, so merge_exact is False)."""

    name = "ms_ssim_diversity"
    merge_exact = False

    def __init__(self, data_range: float = 2.0):
        self.data_range = data_range
        self.reset()

    def reset(self) -> None:
        self.total, self.count, self.pending, self.values = 0.0, 0, None, []

    def update(self, fake: Tensor) -> None:
        check_images(fake, "fake", data_range=self.data_range)
        if self.pending is not None:
            fake = torch.cat([self.pending, fake])
        n = fake.shape[0] // 2 * 2
        self.pending = fake[n:] if n < fake.shape[0] else None
        if n:
            v = ms_ssim(fake[0:n:2], fake[1:n:2], data_range=self.data_range)
            self.total, self.count = self.total + v.sum().item(), self.count + v.numel()
            self.values.append(v.cpu())

    def per_item(self):
        """(positions of each pair's first image in update order, {ms_ssim_diversity: value per pair})."""
        values = torch.cat(self.values).numpy() if self.values else np.zeros(0)
        return 2 * np.arange(len(values)), {self.name: values}

    def merge(self, other: PairDiversity) -> None:
        """Adds the other shard's pairs; an unpaired image left over in either shard is dropped."""
        self.total, self.count = self.total + other.total, self.count + other.count

    def compute(self) -> dict[str, float]:
        if not self.count:
            raise ValueError("ms_ssim_diversity: needs at least 2 images")
        return {self.name: self.total / self.count}


def latent_ms_ssim(latents: Tensor, *, data_range: float = 2.0) -> Tensor:
    """Per item, the mean MS-SSIM over every pair of its K outputs (one label map, K latents); lower = more
    diverse. The multimodal protocol of BicycleGAN (Zhu et al. 2017) and SPADE's VAE with MS-SSIM as the
    similarity.

    Args:
        latents: float (N, K, C, H, W) in [-1, 1], K >= 2 outputs per item.

    Returns:
        float (N,) in [0, 1].
    """
    if latents.ndim != 5 or latents.shape[1] < 2:
        raise ValueError(f"latents: expected (N, K >= 2, C, H, W), got {tuple(latents.shape)}")
    n, k = latents.shape[:2]
    check_images(latents.flatten(0, 1), "latents", data_range=data_range)
    i, j = torch.triu_indices(k, k, 1)
    x, y = latents[:, i].flatten(0, 1), latents[:, j].flatten(0, 1)
    return ms_ssim(x, y, data_range=data_range).view(n, -1).mean(1)
