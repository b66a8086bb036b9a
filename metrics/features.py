"""Distances between the feature distributions of generated and real images: FD, KD and PRDC, on DINOv2 features
(Stein et al., NeurIPS 2023, arXiv:2306.04675; reference code layer6ai-labs/dgm-eval, as NVlabs EDM2 uses it) and
PRDC also on Inception features (for comparability with StudioGAN).

- Features. DINOv2: each image quantised to uint8, resized to 224x224 by PIL bicubic (dgm-eval's transform, EDM2's
  'pil' resize mode), scaled to [0, 1], ImageNet-normalised; the feature is the class token after the final norm
  (`x_norm_clstoken`, the hub model's output). Network and weights: metrics/weights.py. Inception: torch-fidelity's
  2048-d pool features of the uint8 image (its own 299 px resize), as metrics/fid.py.
- FD (Frechet distance, Heusel et al. 2017): means and covariances (N - 1) in float64, tr sqrt(S1 S2) from the
  eigenvalues of S1^1/2 S2 S1^1/2 (both PSD, so exact without a complex sqrtm). With fewer images than feature
  dimensions the covariances are rank-deficient and FD is dominated by its bias: the report says so (`caveat`).
- KD (kernel distance, Binkowski et al. 2018, arXiv:1801.01401): unbiased MMD^2 with the cubic polynomial kernel
  k(x, y) = (x.y / d + 1)^3 on all images at once (no subsets: the test sets of paired translation are small),
  and its standard error, the square root of the U-statistic variance estimate of Sutherland et al. 2017
  (arXiv:1611.04488, appendix; the estimate Binkowski et al.'s code reports), for equal set sizes.
- PRDC (Naeem et al. 2020, arXiv:2002.09797; reference clovaai/generative-evaluation-prdc), k = 5: precision and
  density over the fake set against the real k-NN balls, recall against the fake k-NN balls, coverage of the real
  balls. Deviation: distances in float64 with torch.cdist instead of sklearn's float32 (the tests compare with
  the `prdc` package on float64 features).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from metrics.protocol import check_images, check_pair

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
NEAREST_K = 5


def to_uint8(x: Tensor) -> Tensor:
    """[-1, 1] float (N, C, H, W) -> uint8 RGB (grey images as three equal channels)."""
    x = ((x.float() + 1) * 127.5).round().clamp(0, 255).byte()
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


class DINOv2Features(nn.Module):
    """dgm-eval's DINOv2 transform and feature: PIL bicubic to 224, /255, ImageNet normalisation, class token."""

    def __init__(self, net: nn.Module, size: int = 224):
        super().__init__()
        self.net, self.size = net, size
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        u8 = to_uint8(images).permute(0, 2, 3, 1).cpu().numpy()
        resized = np.stack([np.asarray(Image.fromarray(im, "RGB").resize((self.size, self.size), Image.BICUBIC))
                            for im in u8])  # fmt: skip
        x = torch.from_numpy(resized).permute(0, 3, 1, 2).to(self.mean.device).float() / 255
        return self.net((x - self.mean) / self.std).double()


class InceptionFeatures(nn.Module):
    """torch-fidelity's 2048-d Inception pool features of the uint8 images (metrics/fid.py's extractor)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        return self.net(to_uint8(images)).reshape(len(images), -1).double()


def frechet_distance(real: Tensor, fake: Tensor) -> float:
    """FD between Gaussians fitted (float64, N - 1) to two feature sets."""
    a, b = real.double(), fake.double()
    mu = a.mean(0) - b.mean(0)
    s1, s2 = torch.cov(a.T).reshape(a.shape[1], -1), torch.cov(b.T).reshape(b.shape[1], -1)
    w, v = torch.linalg.eigh(s1)
    root1 = (v * w.clamp(min=0).sqrt()) @ v.T
    middle = torch.linalg.eigvalsh(root1 @ s2 @ root1)
    return float(mu @ mu + s1.trace() + s2.trace() - 2 * middle.clamp(min=0).sqrt().sum())


def kernel_distance(real: Tensor, fake: Tensor) -> tuple[float, float]:
    """(unbiased MMD^2 with the cubic polynomial kernel, its standard error); equal set sizes m >= 4."""
    x, y = real.double(), fake.double()
    m, d = x.shape
    if y.shape[0] != m or m < 4:
        raise ValueError(f"kernel distance: needs two sets of the same size >= 4, got {m} and {y.shape[0]}")

    def kernel(p: Tensor, q: Tensor) -> Tensor:
        return (p @ q.T / d + 1) ** 3

    kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
    kxx.fill_diagonal_(0)
    kyy.fill_diagonal_(0)
    rx, ry = kxx.sum(1), kyy.sum(1)  # row sums without the diagonal
    cx, cy = kxy.sum(1), kxy.sum(0)  # K_XY row and column sums
    sxx, syy, sxy = rx.sum(), ry.sum(), kxy.sum()
    pairs = m * (m - 1)
    mmd2 = (sxx + syy) / pairs - 2 * sxy / m**2
    # Sutherland et al. (2017), eq. for Var[MMD^2_U] estimated from the same kernel matrices (m = n)
    qxx, qyy, qxy = (kxx**2).sum(), (kyy**2).sum(), (kxy**2).sum()
    tri = (rx @ rx - qxx + ry @ ry - qyy) / (m * (m - 1) * (m - 2))
    sq = (sxx**2 + syy**2) / pairs**2
    cross = (cx @ cx + cy @ cy - 2 * qxy) / (m * m * (m - 1))
    mixed = (rx @ cx + ry @ cy) / (m * m * (m - 1))
    joint = (sxx + syy) * sxy / (m**3 * (m - 1))
    zeta1 = tri - sq + cross - 2 * sxy**2 / m**4 - 2 * mixed + 2 * joint
    zeta2 = (qxx + qyy) / pairs - sq + 2 * qxy / m**2 - 2 * sxy**2 / m**4 - 4 * mixed + 4 * joint
    var = 4 * (m - 2) / pairs * zeta1 + 2 / pairs * zeta2
    return float(mmd2), float(var.clamp(min=0).sqrt())


def prdc(real: Tensor, fake: Tensor, k: int = NEAREST_K) -> dict[str, float]:
    """Precision, recall, density, coverage (Naeem et al. 2020) with k nearest neighbours; needs > k per set."""
    x, y = real.double(), fake.double()
    if min(len(x), len(y)) <= k:
        raise ValueError(f"prdc: needs more than k={k} images per set, got {len(x)} real and {len(y)} fake")
    radius_x = torch.cdist(x, x).kthvalue(k + 1, dim=1).values  # the k-th neighbour, not counting itself
    radius_y = torch.cdist(y, y).kthvalue(k + 1, dim=1).values
    dxy = torch.cdist(x, y)  # real x fake
    inside_real = dxy < radius_x[:, None]
    return {
        "precision": inside_real.any(0).double().mean().item(),
        "recall": (dxy < radius_y[None, :]).any(1).double().mean().item(),
        "density": inside_real.sum(0).double().mean().item() / k,
        "coverage": (dxy.min(1).values < radius_x).double().mean().item(),
    }


class FeatureDistances:
    """FD, KD (+ standard error) and PRDC between the features of fake and real images, keys `<name>_<suffix>`.
    The state is the two feature lists, so shards merge exactly; the real side can come from a cache."""

    merge_exact = True

    def __init__(self, extractor: nn.Module, suffix: str, weights: dict[str, str], keys=("fd", "kd", "prdc")):
        self.extractor, self.suffix, self.weights, self.keys = extractor, suffix, weights, keys
        self.reset()

    def reset(self) -> None:
        self.real: list[Tensor] = []
        self.fake: list[Tensor] = []
        self.frozen_real = False

    def update(self, fake: Tensor, real: Tensor) -> None:
        if self.frozen_real:
            check_images(fake, "fake")
        else:
            check_pair(fake, real, ("fake", "real"))
            self.real.append(self.extractor.to(real.device)(real).cpu())
        self.fake.append(self.extractor.to(fake.device)(fake).cpu())

    def real_state(self) -> dict:
        return {"features": torch.cat(self.real) if self.real else torch.zeros(0)}

    def set_real_state(self, state: dict) -> None:
        self.real, self.frozen_real = [state["features"].cpu()], True  # the cache loads onto the eval device

    def merge(self, other: FeatureDistances) -> None:
        self.real += other.real
        self.fake += other.fake

    def compute(self) -> dict[str, float]:
        if not self.fake:
            raise ValueError(f"{self.suffix}: no samples were given")
        real, fake = torch.cat(self.real), torch.cat(self.fake)
        s, out = self.suffix, {f"n_{self.suffix}": float(len(fake)), f"dim_{self.suffix}": float(fake.shape[1])}
        if "fd" in self.keys:
            out[f"fd_{s}"] = frechet_distance(real, fake)
        if "kd" in self.keys:
            out[f"kd_{s}"], out[f"kd_{s}_se"] = kernel_distance(real, fake)
        if "prdc" in self.keys:
            out |= {f"{k}_{s}": v for k, v in prdc(real, fake).items()}
        return out


def rank_caveat(suffix: str):
    """The report's caveat for FD on fewer images than feature dimensions (values: a run's mean metrics)."""

    def caveat(values: dict[str, float]) -> str | None:
        n, d = values.get(f"n_{suffix}"), values.get(f"dim_{suffix}")
        if n is None or d is None or n >= d:
            return None
        return (f"fd_{suffix}: {n:.0f} images per set < {d:.0f} feature dimensions: the covariances are rank-"
                f"deficient and FD is dominated by its bias; compare only equal n, prefer kd_{suffix}")  # fmt: skip

    return caveat
