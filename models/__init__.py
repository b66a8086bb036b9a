"""ganbench reference GANs: networks, losses, recipes and the one training loop (models/train.py).

RECIPES maps a recipe name to (recipe class, config class). A recipe builds its nets from its config
and exposes `nets`, `g_names`, `d_names`, `forward`, `d_losses`, `g_losses`, `translate`; see Recipe.
"""

from __future__ import annotations

from typing import Protocol

from torch import Tensor, nn

from models.pix2pix import Pix2Pix, Pix2PixConfig


class Recipe(Protocol):
    """What the shared loop needs from one GAN family, and nothing more."""

    nets: dict[str, nn.Module]  # {"G": ..., "D": ...}; CycleGAN: G_ab, G_ba, D_a, D_b
    g_names: tuple[str, ...]  # nets stepped by the G optimizer
    d_names: tuple[str, ...]  # nets stepped by the D optimizer

    def forward(self, batch: dict, progress: float) -> dict[str, Tensor]: ...  # fakes, reconstructions

    def d_losses(self, batch: dict, out: dict[str, Tensor]) -> dict[str, Tensor]: ...  # summed by the loop

    def g_losses(self, batch: dict, out: dict[str, Tensor]) -> dict[str, Tensor]: ...

    def translate(self, batch: dict) -> Tensor: ...  # what the metrics score


RECIPES: dict[str, tuple[type, type]] = {"pix2pix": (Pix2Pix, Pix2PixConfig)}
