"""CIE Lab colour-histogram intersection between generated and real image sets (pix2pix, Isola et al. 2017,
arXiv:1611.07004, Fig. 7 and Table 5).

One marginal histogram per Lab channel, pooled over ALL pixels of each set (L on [0, 100], a and b on
[-128, 127], `bins` equal bins), each normalised to sum 1; intersection = sum of bin-wise minima, 1 for
identical distributions, 0 for disjoint ones. The sRGB -> Lab conversion (D65, 2 degree observer) is a
torch port of `skimage.color.rgb2lab`, tested against it. Deviation: pix2pix does not publish its
binning; we follow its figure (log-probability marginals) with 256 bins per channel.
"""

from __future__ import annotations

import torch
from torch import Tensor

from metrics.protocol import check_images

RANGES = {"L": (0.0, 100.0), "a": (-128.0, 127.0), "b": (-128.0, 127.0)}
_XYZ_FROM_RGB = torch.tensor(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]],
    dtype=torch.float64,
)
_D65 = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)


def rgb_to_lab(images: Tensor) -> Tensor:
    """sRGB float (N, 3, H, W) in [-1, 1] -> CIE Lab float64 (N, 3, H, W), as skimage.color.rgb2lab.

    Example:
        >>> rgb_to_lab(torch.ones(1, 3, 1, 1)).flatten().round(decimals=2)
        tensor([100.,  -0.,   0.], dtype=torch.float64)
    """
    check_images(images, "images")
    rgb = (images.double() + 1) / 2
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = torch.einsum("ij,njhw->nihw", _XYZ_FROM_RGB.to(rgb.device), linear)
    xyz = xyz / _D65.to(rgb.device).view(1, 3, 1, 1)
    f = torch.where(xyz > 0.008856, xyz.clamp_min(0) ** (1 / 3), 7.787 * xyz + 16 / 116)
    return torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], dim=1)


def lab_histograms(images: Tensor, bins: int = 256) -> Tensor:
    """Summed (unnormalised) per-channel Lab histograms, float64 (3, bins)."""
    lab = rgb_to_lab(images)
    return torch.stack([torch.histc(lab[:, i], bins=bins, min=lo, max=hi) for i, (lo, hi) in
                        enumerate(RANGES.values())]).cpu()  # fmt: skip


def intersection(h1: Tensor, h2: Tensor) -> Tensor:
    """Per-row intersection of histograms normalised to sum 1: sum of minima, in [0, 1]."""
    return torch.minimum(h1 / h1.sum(-1, keepdim=True), h2 / h2.sum(-1, keepdim=True)).sum(-1)


class LabHistogram:
    """Streaming Lab histogram intersection: summed histograms of each set are the whole state (exact merge).
    The real set's histogram can come from a cache (set_real_state), and update() then skips the real images."""

    merge_exact = True

    def __init__(self, bins: int = 256):
        self.bins = bins
        self.reset()

    def reset(self) -> None:
        self.fake = torch.zeros(3, self.bins, dtype=torch.float64)
        self.real = torch.zeros(3, self.bins, dtype=torch.float64)
        self.frozen_real = False

    def update(self, fake: Tensor, real: Tensor) -> None:
        self.fake += lab_histograms(fake, self.bins)
        if not self.frozen_real:
            self.real += lab_histograms(real, self.bins)

    def real_state(self) -> dict:
        return {"hist": self.real.clone()}

    def set_real_state(self, state: dict) -> None:
        self.real, self.frozen_real = state["hist"].clone(), True

    def merge(self, other: LabHistogram) -> None:
        self.fake += other.fake
        self.real += other.real

    def compute(self) -> dict[str, float]:
        if not self.fake.sum() or not self.real.sum():
            raise ValueError("hist_intersection: both sets need images")
        return {f"hist_{c}": float(v) for c, v in zip(RANGES, intersection(self.fake, self.real))}


def lab_histogram_intersection(fake: Tensor, real: Tensor, bins: int = 256) -> dict[str, float]:
    """Histogram intersection of the L, a, b marginals of two image sets (pix2pix Fig. 7).

    Args:
        fake, real: float (N, 3, H, W) in [-1, 1]; the sets may differ in size.
        bins: bins per channel.

    Returns:
        {"hist_L", "hist_a", "hist_b"}: each in [0, 1], higher = closer colour distributions.

    Example:
        >>> x = torch.rand(2, 3, 16, 16) * 2 - 1
        >>> lab_histogram_intersection(x, x)
        {'hist_L': 1.0, 'hist_a': 1.0, 'hist_b': 1.0}
    """
    acc = LabHistogram(bins)
    acc.update(fake, real)
    return acc.compute()
