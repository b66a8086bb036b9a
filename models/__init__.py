"""ganbench reference GANs: networks, losses, recipes and the one training loop (models/train.py).

RECIPES maps a recipe name to its class; the class names its config dataclass (`Config`). The
`Recipe` protocol below is the contract every GAN family meets (contract v2); the loop, evaluation
(studies/runner/evaluation.py) and the runner read only what it declares, and never branch on the family.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from torch import Tensor, nn

from models.contract import DataFacts, Progress, View
from models.cyclegan import CycleGAN
from models.pix2pix import Pix2Pix
from models.pix2pixhd import Pix2PixHD
from models.progan import ProGAN
from models.spade import Spade
from models.toy import ToyGAN


class Recipe(Protocol):
    """What the shared loop, evaluation and runner need from one GAN family, and nothing more.

    Class-level declarations (read before the recipe is built):
        Config: the recipe's frozen config dataclass (`model.*` of a RunSpec).
        views: (train view, eval view) of the dataset, e.g. ("unpaired", "paired") for CycleGAN.
        metrics: the metric keys (metrics.METRICS) a run scores when its study names none.
        defaults: the paper's settings as dotted overrides, applied before the profile, the study and
            --set: {"train.opt.d.lr": 4e-4, "train.phases": ("g", "d")}.
        smoke: dotted overrides for a seconds-long run at 32 px (the contract tests use it).
        sample_rows: batch/output keys drawn as the rows of a sample grid, e.g. ("a", "b", "fake_b").
        test_images: file role -> key of the per-item test PNGs: {"input": "a", "truth": "b", "output": "fake_b"}.
        modality: how samples are drawn (studies/runner/evaluation.py SAMPLE_WRITERS): "image" or "surface"; a
            recipe that serves several kinds of data sets it per instance from DataFacts.modality.

    Built as `Recipe(cfg, facts: DataFacts)`, then:
        nets: every trainable network by name; checkpointed; moved to the device by the loop.
        groups: optimizer groups {"g": ("G",), "d": ("D",)}; each group's settings are train.opt.<group>.
        ema: {"G_ema": "G"}: the loop keeps an average of G (train.ema) and evaluation swaps it in for G.
        frozen: helper nets (a VGG for a perceptual loss): moved to the device, never optimized, compiled
            or checkpointed.
        forward(batch, t) -> named tensors (fakes, reconstructions), computed once per fresh batch.
        losses(group, batch, out, t) -> named loss terms of one phase; the loop sums them, freezes the
            nets of the other groups, steps the group's optimizer and logs "<group>/<term>".
        translate(batch, t) -> named outputs that metrics read (with the batch's own keys, which an output of
            the same name replaces: Progressive GAN gives the real images at its current level as `b`);
            images float NCHW in [-1, 1], clamped by the recipe; no gradients.

    Optional, class-level:
        weights(cfg) -> {name: path} of local weight files the config reads ("" = not given: the runner leaves
            the run out and says which `--weights NAME=PATH` it needs; nothing is downloaded).

    Optional (the loop uses the default when a recipe does not define it):
        trainable(t) -> set of net names trained now (staged training); default: all nets.
        batch_size(t) -> minibatch at this progress, or None for train.batch_size.
        state_dict() / load_state_dict(state): non-net state (CycleGAN's image pool), checkpointed.
        describe(t) -> diagnostics for runs.csv: receptive fields, current resolution, fade-in alpha.
        phase(t) -> a name of the training phase ("16px-fade"); the loop draws a sample grid when it changes.
        multimodal: True where one input gives many outputs (a latent each: SPADE's VAE); the Playground shows
            several, each translated under its own seed.

    The loop order per iteration is train.phases (("d", "g") for pix2pix); a group that repeats gets a
    fresh batch and a fresh forward (("d",) * 5 + ("g",) steps a critic five times per G step).
    """

    Config: ClassVar[type]
    views: ClassVar[tuple[View, View]]
    metrics: ClassVar[tuple[str, ...]]
    defaults: ClassVar[dict[str, Any]]
    smoke: ClassVar[dict[str, Any]]
    sample_rows: ClassVar[tuple[str, ...]]
    test_images: ClassVar[dict[str, str]]
    modality: ClassVar[str]

    nets: dict[str, nn.Module]
    groups: dict[str, tuple[str, ...]]
    ema: dict[str, str]
    frozen: dict[str, nn.Module]

    def __init__(self, cfg: Any, facts: DataFacts) -> None: ...

    def forward(self, batch: dict[str, Tensor], t: Progress) -> dict[str, Tensor]: ...

    def losses(
        self, group: str, batch: dict[str, Tensor], out: dict[str, Tensor], t: Progress
    ) -> dict[str, Tensor]: ...

    def translate(self, batch: dict[str, Tensor], t: Progress) -> dict[str, Tensor]: ...


RECIPES: dict[str, type] = {"pix2pix": Pix2Pix, "cyclegan": CycleGAN, "progan": ProGAN, "toy": ToyGAN,
                            "pix2pixhd": Pix2PixHD, "spade": Spade}  # fmt: skip


def recipe_class(name: str) -> type:
    """The class of a recipe name: shipped here, an installed entry point, or `module:Class` (models/plugins.py)."""
    from models import plugins

    return plugins.resolve(RECIPES, name)


__all__ = ["RECIPES", "DataFacts", "Progress", "Recipe", "recipe_class"]
