"""gaussian_surfaces: the embedded toy data of the Beggs, Khadem, Lund, Thompson report (CSCI 4622, U. Colorado):
surfaces in R^3 that are the densities of N(0, alpha I) in the plane, alpha a natural number, on a grid.

Coordinates are scaled into [-0.9, 0.9], inside the range of a tanh output, which reaches +-1 only
asymptotically: x, y = 0.9 u / EXTENT for plane coordinates u in [-EXTENT, EXTENT], and
z = 0.9 (2 exp(-|u|^2 / (2 alpha)) / alpha - 1), the density rescaled so that alpha = 1 peaks at 0.9 and every
natural alpha lies in [-0.9, 0.9]. The family itself (`surface_z`, `grid_xy`) is defined once, in
metrics/surfaces.py, the metric that fits it; this module renders items from it.
Three formats, as the report used them (`data.surfaces.format`):
- "points": one surface (alpha = `data.surfaces.alpha`) as a point cloud, each item one point (3,), its
  (x, y) drawn uniformly from (seed, index); the FC-GAN learns the distribution of points;
- "clouds": several surfaces, each item a whole surface (grid^2, 3), alpha drawn from `alphas`;
- "grids": the same as images (3, grid, grid): channels x, y, z, for the DCGAN.
Deterministic: every draw comes from numpy.random.default_rng([seed, index]). Items carry `alpha`.
Deviation: the report does not give its grid extent or scaling; these are ours.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from metrics.surfaces import SCALE, grid_xy, surface_z
from models.contract import DataFacts
from studies.datasets.base import SPLITS, DatasetError


class GaussianSurfaces(Dataset):
    """The train / val / test split of gaussian_surfaces in one of its three formats (unconditional view)."""

    views = ("unconditional",)
    classes: tuple[str, ...] = ()
    n_classes = 0
    drawing = ""  # nothing to draw: no input (studies/datasets/base.py _Base.drawing)

    def __init__(self, cfg, split: str, augment: bool = False, view: str = "unconditional"):
        if view not in self.views:
            raise DatasetError(f"gaussian_surfaces gives the unconditional view only, not {view!r} (the recipe's)")
        s = cfg.surfaces
        if s.format in ("clouds", "grids") and (not s.alphas or min(s.alphas) < 1):
            raise DatasetError(f"gaussian_surfaces: data.surfaces.alphas must be natural numbers, got {s.alphas}")
        if s.grid < 4:
            raise DatasetError(f"gaussian_surfaces: data.surfaces.grid must be >= 4, got {s.grid}")
        counts = {"train": cfg.n_train, "val": cfg.n_val, "test": cfg.n_test}
        self.cfg, self.split, self.view, self.augment = cfg, split, view, False
        self.start, self.count = sum(counts[k] for k in SPLITS[: SPLITS.index(split)]), counts[split]
        if self.count <= 0:
            raise DatasetError(f"gaussian_surfaces: split {split!r} is empty (n_{split}={self.count})")
        self.identity = f"gaussian_surfaces-v1-{s.format}-{s.alphas}-{s.alpha}-{s.grid}-seed{cfg.seed}"
        self.x, self.y = grid_xy(s.grid)
        self._cache: dict[int, dict] = {}  # generated items (a few KB each), reused every epoch

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < self.count:
            raise IndexError(i)
        if i not in self._cache:
            self._cache[i] = self._make(i)
        return dict(self._cache[i])

    def _make(self, i: int) -> dict:
        s, index = self.cfg.surfaces, self.start + i
        rng = np.random.default_rng([self.cfg.seed, index])
        if s.format == "points":
            x, y = (torch.tensor(v, dtype=torch.float64) for v in rng.uniform(-SCALE, SCALE, 2))
            b, alpha = torch.stack([x, y, surface_z(x, y, s.alpha)]), s.alpha
        else:
            alpha = int(rng.choice(s.alphas))
            grid = torch.stack([self.x, self.y, surface_z(self.x, self.y, alpha)])  # (3, G, G)
            b = grid if s.format == "grids" else grid.flatten(1).T  # clouds: (G*G, 3)
        return {"b": b.float(), "alpha": torch.tensor(alpha), "index": torch.tensor(index)}

    def facts(self) -> DataFacts:
        shape = tuple(self[0]["b"].shape)
        return DataFacts(channels_a=0, channels_b=shape[0] if len(shape) == 3 else shape[-1], n_classes=0,
                         size=self.cfg.surfaces.grid, view=self.view, shape=shape, modality="surface")  # fmt: skip

    def validate(self) -> None:
        """Generated: nothing on disk to check."""
