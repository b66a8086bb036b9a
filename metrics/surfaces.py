"""Metrics for the gaussian_surfaces toy data (studies/datasets/surfaces.py): "it learned the family" as a number.

- `fit_alpha`: per generated surface, the alpha whose surface fits its points best (least squares over alpha
  in [0.5, 16] in steps of 0.05) and the RMS residual of that fit (the [-1, 1] scale): how surface-like it is.
  A cloud or grid has one point per grid position, so each generated point (x, y, z) is compared with
  (x_i, y_i, z_alpha(x_i, y_i)) at its grid position i: a generator that collapses the points is far from
  every surface. The points format has no positions: one alpha is fitted to all generated points together,
  z against z_alpha at their own x, y (a collapse there shows in the energy distance).
- `SurfaceFit` accumulator: `alpha_residual` (mean residual, lower is better), `alpha_coverage` (share of the
  data's alpha values that some generated surface fits within 0.5 at a residual below TOL: mode coverage),
  `converged` (1 when every alpha is covered and the mean residual is below TOL; its mean over seeds is the
  share of seeds that converge).
- `EnergyDistance`: 2 E|X - Y| - E|X - X'| - E|Y - Y'| between generated and real items (points, or whole
  surfaces as vectors; Szekely & Rizzo 2013, V-statistic, >= 0, 0 only for equal samples). Energy distance
  rather than a sliced Wasserstein: it is a metric on distributions in any dimension with no directions or
  bins to choose, and at these sizes (<= 1,000 items per set) its O(n^2) cost is negligible.

The surface family lives here, once: `surface_z(x, y, alpha)` on the plane grid `grid_xy(n)`, the densities of
N(0, alpha I) scaled into [-SCALE, SCALE]; the dataset renders its items from it and the metrics fit it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

EXTENT = 3.5  # half-width of the plane grid in N(0, alpha I) units: 3.5 sigma of alpha = 1, 1.75 of alpha = 4
SCALE = 0.9  # every coordinate lies in [-SCALE, SCALE]


def surface_z(x: torch.Tensor, y: torch.Tensor, alpha) -> torch.Tensor:
    """z of the surface with variance `alpha` at normalised plane coordinates x, y (broadcasting)."""
    r2 = (x * EXTENT / SCALE) ** 2 + (y * EXTENT / SCALE) ** 2
    return SCALE * (2 * torch.exp(-r2 / (2 * alpha)) / alpha - 1)


def grid_xy(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    axis = torch.linspace(-SCALE, SCALE, n, dtype=torch.float64)
    return torch.meshgrid(axis, axis, indexing="ij")


TOL = 0.075  # RMS residual (coordinates in [-0.9, 0.9]) below which a generated surface counts as that surface
ALPHAS = torch.arange(0.5, 16.0001, 0.05, dtype=torch.float64)


def as_points(x: Tensor) -> Tensor:
    """(N, 3) points, (N, M, 3) clouds or (N, 3, G, G) grids -> float64 (S, M, 3) surfaces (points: S = 1)."""
    x = x.detach().double().cpu()
    if x.ndim == 2 and x.shape[1] == 3:
        return x[None]
    if x.ndim == 3 and x.shape[2] == 3:
        return x
    if x.ndim == 4 and x.shape[1] == 3:
        return x.flatten(2).transpose(1, 2)
    raise ValueError(
        f"surface metrics need points (N, 3), clouds (N, M, 3) or grids (N, 3, G, G), got {tuple(x.shape)}"
    )


def fit_alpha(surfaces: Tensor, on_grid: bool = True) -> tuple[Tensor, Tensor]:
    """(best alpha (S,), RMS residual (S,)) of float (S, M, 3) surfaces in normalised coordinates; `on_grid`:
    point i belongs at grid position i (M = G^2, the order of `grid_xy`), else free points.

    Example:
        >>> x, y = grid_xy(9)
        >>> s = torch.stack([x, y, surface_z(x, y, 3)], -1).reshape(1, -1, 3)
        >>> [round(v, 3) for v in map(float, fit_alpha(s)[0])]
        [3.0]
    """
    x, y, z = surfaces[..., 0:1], surfaces[..., 1:2], surfaces[..., 2:3]  # (S, M, 1)
    if on_grid:
        g = round(surfaces.shape[1] ** 0.5)
        if g * g != surfaces.shape[1]:
            raise ValueError(f"a surface on a grid has G^2 points, got {surfaces.shape[1]}")
        gx, gy = (v.reshape(1, -1, 1) for v in grid_xy(g))
        pred = surface_z(gx, gy, ALPHAS.view(1, 1, -1))  # (1, M, A)
        err = ((z - pred).pow(2) + (x - gx).pow(2) + (y - gy).pow(2)) / 3
    else:
        err = (z - surface_z(x, y, ALPHAS.view(1, 1, -1))).pow(2)  # (S, M, A)
    rmse = err.mean(1).sqrt()  # (S, A)
    best = rmse.argmin(1)
    return ALPHAS[best], rmse.gather(1, best[:, None])[:, 0]


class SurfaceFit:
    """Streams generated surfaces (and the data's alpha labels); fits each; coverage at compute()."""

    merge_exact = True

    def reset(self) -> None:
        self.alphas, self.residuals, self.points, self.data_alphas = [], [], [], set()

    def __init__(self):
        self.reset()

    def update(self, fake: Tensor, alpha: Tensor) -> None:
        self.data_alphas |= {int(a) for a in alpha.flatten().tolist()}
        if fake.ndim == 2:  # the points format: one surface, fitted once at the end
            self.points.append(fake.detach().double().cpu())
            return
        a, r = fit_alpha(as_points(fake))
        self.alphas.append(a)
        self.residuals.append(r)

    def merge(self, other: SurfaceFit) -> None:
        self.alphas += other.alphas
        self.residuals += other.residuals
        self.points += other.points
        self.data_alphas |= other.data_alphas

    def _fits(self) -> tuple[Tensor, Tensor]:
        if self.points:
            return fit_alpha(torch.cat(self.points)[None], on_grid=False)
        if not self.alphas:
            raise ValueError("surface_fit: no generated surfaces were given")
        return torch.cat(self.alphas), torch.cat(self.residuals)

    def compute(self) -> dict[str, float]:
        alphas, res = self._fits()
        good = alphas[res < TOL]
        covered = [a for a in self.data_alphas if (good - a).abs().lt(0.5).any()]
        coverage = len(covered) / max(len(self.data_alphas), 1)
        residual = float(res.mean())
        return {"alpha_residual": residual, "alpha_coverage": coverage,
                "converged": float(coverage == 1.0 and residual < TOL)}  # fmt: skip

    def per_item(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(positions, {alpha_residual: per generated surface}); nothing for the points format."""
        if self.points or not self.residuals:
            return np.zeros(0, dtype=int), {}
        res = torch.cat(self.residuals).numpy()
        return np.arange(len(res)), {"alpha_residual": res}


class EnergyDistance:
    """Energy distance between generated and real items (flattened), each set capped at `max_items` (first)."""

    merge_exact = True

    def __init__(self, max_items: int = 1000):
        self.max_items = max_items
        self.reset()

    def reset(self) -> None:
        self.real, self.fake = [], []

    def _take(self, store: list, x: Tensor) -> None:
        have = sum(len(v) for v in store)
        if have < self.max_items:
            store.append(x.detach().double().cpu().flatten(1)[: self.max_items - have])

    def update(self, real: Tensor, fake: Tensor) -> None:
        self._take(self.real, real)
        self._take(self.fake, fake)

    def merge(self, other: EnergyDistance) -> None:
        for v in other.real:
            self._take(self.real, v)
        for v in other.fake:
            self._take(self.fake, v)

    def compute(self) -> dict[str, float]:
        if not self.real or not self.fake:
            raise ValueError("energy_distance: both sets need items")
        x, y = torch.cat(self.fake), torch.cat(self.real)
        e = 2 * torch.cdist(x, y).mean() - torch.cdist(x, x).mean() - torch.cdist(y, y).mean()
        return {"energy_distance": float(e.clamp_min(0))}
