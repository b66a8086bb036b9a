"""Study and run specifications: RunSpec (one run's whole config), Study (variants x seeds x profiles),
and the one `override(cfg, "a.b.c", value)` helper that serves studies and the CLI's --set.

A study asks one question by varying one set of field paths; every variant must override the same
paths (checked). Run ids are deterministic: `<variant>-s<seed>`. A profile sets sizes and steps
(smoke / quick / paper) and may re-map variants to its resolution (see ablation_patchgan).
"""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from models import RECIPES
from models.pix2pix import Pix2PixConfig
from models.train import TrainConfig
from studies.data import DataConfig

PIX2PIX_METRICS = (
    "fcn_score",
    "ssim",
    "ms_ssim",
    "l1",
    "psnr",
    "hist_intersection",
    "swd",
    "ms_ssim_diversity",
)


@dataclass(frozen=True)
class EvalConfig:
    batch_size: int = 32  # test-time batch (batch statistics at test time depend on it, as in pix2pix)
    segmenter_epochs: int = 8  # FCN-score segmenter training on real photos (cached)
    inception_weights: str | None = None  # local file for FID/KID; never downloaded


@dataclass(frozen=True)
class RunSpec:
    recipe: str = "pix2pix"  # key of models.RECIPES
    model: Any = field(default_factory=Pix2PixConfig)  # the recipe's config dataclass
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    metrics: tuple[str, ...] = PIX2PIX_METRICS  # keys of metrics.METRICS

    def build(self):
        if self.recipe not in RECIPES:
            raise KeyError(f"unknown recipe {self.recipe!r}; known: {sorted(RECIPES)}")
        recipe_cls, cfg_cls = RECIPES[self.recipe]
        if not isinstance(self.model, cfg_cls):
            raise TypeError(f"recipe {self.recipe!r} needs a {cfg_cls.__name__}, got {type(self.model).__name__}")
        return recipe_cls(self.model)


def override(cfg, dotted: str, value):
    """Copy of `cfg` with field `a.b.c` set to `value`; unknown names raise KeyError listing valid ones."""
    head, _, rest = dotted.partition(".")
    if not dataclasses.is_dataclass(cfg):
        raise KeyError(f"cannot set {dotted!r}: {type(cfg).__name__} has no fields")
    names = [f.name for f in dataclasses.fields(cfg)]
    if head not in names:
        raise KeyError(f"{type(cfg).__name__} has no field {head!r}; valid: {', '.join(names)}")
    new = override(getattr(cfg, head), rest, value) if rest else value
    return dataclasses.replace(cfg, **{head: new})


def parse_set(item: str) -> tuple[str, Any]:
    """'train.steps=1000' -> ('train.steps', 1000); values via ast.literal_eval, else kept as strings."""
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise ValueError(f"--set expects key=value, got {item!r}")
    try:
        return key.strip(), ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return key.strip(), raw


def flatten(cfg, prefix: str = "") -> dict[str, Any]:
    """{'model.d.n_layers': 3, ...} for a (nested) dataclass."""
    out = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        key = f"{prefix}{f.name}"
        out |= flatten(v, key + ".") if dataclasses.is_dataclass(v) else {key: v}
    return out


@dataclass(frozen=True)
class Profile:
    settings: dict[str, Any] = field(default_factory=dict)  # dotted overrides for every run
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)  # replaces a variant's overrides
    note: str = ""  # why this profile's choices (shown by --list and in the table)


@dataclass(frozen=True)
class Study:
    name: str
    question: str  # shown in the dashboard
    base: RunSpec
    variants: dict[str, dict[str, Any]]
    profiles: dict[str, Profile]
    seeds: tuple[int, ...] = (0,)
    reference: tuple[str, ...] = ()  # tables of studies/reference/pix2pix_cityscapes.csv
    reference_names: dict[str, tuple[str, ...]] = field(default_factory=dict)  # variant -> published rows

    def __post_init__(self):
        for name, profile in [("", None), *self.profiles.items()]:
            variants = {**self.variants, **(profile.variants if profile else {})}
            paths = {v: frozenset(o) for v, o in variants.items()}
            if len(set(paths.values())) > 1:
                raise ValueError(f"study {self.name}{' profile ' + name if name else ''}: variants must override "
                                 f"the same fields, got {({v: sorted(p) for v, p in paths.items()})}")  # fmt: skip

    def variant_overrides(self, variant: str, profile: str) -> dict[str, Any]:
        return self.profiles[profile].variants.get(variant, self.variants[variant])

    def runs(self, profile: str = "quick", seeds=None, sets: dict[str, Any] | None = None):
        """[(run_id, variant, seed, RunSpec)] for every variant x seed, profile and --set applied."""
        if profile not in self.profiles:
            raise KeyError(f"study {self.name} has no profile {profile!r}; known: {sorted(self.profiles)}")
        out = []
        for variant in self.variants:
            for seed in seeds if seeds is not None else self.seeds:
                spec = self.base
                for k, v in {**self.profiles[profile].settings, **self.variant_overrides(variant, profile),
                             **(sets or {}), "train.seed": seed}.items():  # fmt: skip
                    spec = override(spec, k, v)
                out.append((f"{variant}-s{seed}", variant, seed, spec))
        return out
