"""The study language: RunSpec (one run's whole config), Study (variants x seeds x profiles), Profile, Claim,
the one typed `override(cfg, "a.b.c", value)` helper that serves studies and the CLI's --set, a run's identity
(the config fields that decide its results), and the one conversion between a RunSpec and its config.json
(`to_config`, `read_config`; checkpoints hold no module paths, so old run directories keep loading).
The study catalogue (studies/catalogue/) imports this module and its profiles, nothing else.

A study asks one question by varying one set of field paths; every variant must override the same
paths (checked). Run ids are deterministic: `<variant>-s<seed>`. The settings of a run are applied in
one order: the recipe's paper defaults, the study's settings, the profile (sizes and lengths: smoke /
quick / paper; then its per-recipe model sizes), the variant, then --set. A variant may change the recipe
("recipe": "cyclegan"); the model config then starts from that recipe's defaults.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from models import recipe_class
from models.train import TrainConfig
from studies.datasets import DataConfig


class ConfigError(ValueError):
    """An unknown config field or a value of the wrong type; the message names the field and what it takes."""


@dataclass(frozen=True)
class Claim:
    order: str  # "70x70 > 16x16 > 1x1": each variant better than the next, by the metric's direction
    metric: str
    source: str = ""

    @property
    def variants(self) -> list[str]:
        return [v.strip() for v in self.order.split(" > ")]


@dataclass(frozen=True)
class EvalConfig:
    batch_size: int = 32  # test-time batch (batch statistics at test time depend on it, as in pix2pix)
    segmenter_epochs: int = 8  # FCN-score segmenter training on real photos (cached)
    inception_weights: str | None = None  # local file for FID/KID; never downloaded (also --weights inception=)
    weights: dict[str, str] = field(default_factory=dict)  # --weights NAME=PATH for metrics (metrics/weights.py)


@dataclass(frozen=True)
class RunSpec:
    recipe: str = "pix2pix"  # key of models.RECIPES
    model: Any = None  # the recipe's Config dataclass; None = its defaults
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    metrics: tuple[str, ...] | None = None  # keys of metrics.METRICS; None = the recipe's defaults

    def __post_init__(self):
        try:
            cls = recipe_class(self.recipe)
        except KeyError as e:
            raise ConfigError(str(e)) from None
        if self.model is None:
            object.__setattr__(self, "model", cls.Config())
        elif not isinstance(self.model, cls.Config):
            raise ConfigError(f"recipe {self.recipe!r} needs a {cls.Config.__name__}, got {type(self.model).__name__}")
        if self.metrics is None:
            object.__setattr__(self, "metrics", tuple(cls.metrics))

    @property
    def recipe_cls(self) -> type:
        return recipe_class(self.recipe)


class CliValue(str):
    """A raw --set value: parsed by the type of the field it sets (a str field keeps it verbatim)."""


def _hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _check(value, hint, where: str):
    """`value` as the type `hint` wants it (int -> float, list -> tuple), or ConfigError naming `where`."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if isinstance(value, CliValue) and hint is not str and str not in args:
        with contextlib.suppress(ValueError, SyntaxError):  # else left a string: the checks say what was expected
            value = ast.literal_eval(value)
    ok, out = True, value
    if hint is Any:
        pass
    elif origin in (typing.Union, types.UnionType):
        for a in args:
            try:
                return _check(value, a, where)
            except ConfigError:
                continue
        ok = False
    elif hint is type(None):
        ok = value is None
    elif origin is Literal:
        ok = value in args
    elif hint is bool:
        ok = isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif hint is float:
        ok, out = isinstance(value, int | float) and not isinstance(value, bool), value
        out = float(value) if ok else value
    elif hint is str:
        ok = isinstance(value, str)
        out = str(value) if ok else value
    elif origin is tuple:
        if isinstance(value, CliValue) and args == (str, Ellipsis):  # --set metrics=l1,ssim
            value = tuple(v.strip() for v in value.split(",") if v.strip())
        ok = isinstance(value, tuple | list)
        if ok:
            items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
            ok = len(items) == len(value)
            out = tuple(_check(v, a, where) for v, a in zip(value, items)) if ok else value
    elif origin is dict:
        ok = isinstance(value, dict)
    elif dataclasses.is_dataclass(hint) and not isinstance(value, hint):
        names = ", ".join(f.name for f in dataclasses.fields(hint))
        raise ConfigError(f"{where} is a group of fields ({hint.__name__}); set one of: {names}")
    if not ok:
        raise ConfigError(f"{where} expects {_describe(hint)}, got {value!r}")
    return out


def _describe(hint) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if hint is type(None):
        return "None"
    return getattr(hint, "__name__", str(hint)).replace("NoneType", "None") if origin is None else str(hint)


def override(cfg, dotted: str, value, _path: str = ""):
    """Copy of `cfg` with field `a.b.c` set to `value`, type-checked; unknown names list the valid ones."""
    head, _, rest = dotted.partition(".")
    where = f"{_path}{head}"
    if not dataclasses.is_dataclass(cfg):
        raise ConfigError(f"cannot set {where}: {type(cfg).__name__} has no fields")
    names = [f.name for f in dataclasses.fields(cfg)]
    if head not in names:
        raise ConfigError(f"{type(cfg).__name__} has no field {head!r} (in {where}); valid: {', '.join(names)}")
    if rest:
        new = override(getattr(cfg, head), rest, value, where + ".")
    elif isinstance(cfg, RunSpec) and head == "recipe":
        value = _check(value, str, where)
        chosen = cfg.metrics if cfg.metrics != tuple(cfg.recipe_cls.metrics) else None  # a study's own choice stays
        return RunSpec(recipe=value, data=cfg.data, train=cfg.train, eval=cfg.eval, metrics=chosen)  # model anew
    else:
        new = _check(value, _hints(type(cfg))[head], where)
    return dataclasses.replace(cfg, **{head: new})


def parse_set(item: str) -> tuple[str, CliValue]:
    """'train.images=1000' -> ('train.images', CliValue('1000')); the field's type parses the value."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects key=value, got {item!r}")
    return key.strip(), CliValue(raw.strip())


def flatten(cfg, prefix: str = "") -> dict[str, Any]:
    """{'model.d.n_layers': 3, ...} for a (nested) dataclass."""
    out = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        key = f"{prefix}{f.name}"
        out |= flatten(v, key + ".") if dataclasses.is_dataclass(v) else {key: v}
    return out


def from_dict(cls, d: dict):
    """Rebuild a (nested) frozen dataclass from `dataclasses.asdict` output (config.json)."""
    hints, kw = _hints(cls), {}
    for f in dataclasses.fields(cls):
        if f.name not in d:
            continue
        hint, v = hints[f.name], d[f.name]
        if dataclasses.is_dataclass(hint) and isinstance(v, dict):
            v = from_dict(hint, v)
        kw[f.name] = _check(v, hint, f"{cls.__name__}.{f.name}") if not dataclasses.is_dataclass(hint) else v
    return cls(**kw)


def upgrade_config(config: dict) -> dict:
    """A config.json written before contract v2 (lengths in steps, one lr for both optimizers) in today's
    fields: images = steps x batch size, every interval likewise, lr and betas for both groups."""
    train = dict(config.get("train", {}))
    if "steps" not in train:
        return config
    bs = int(train.get("batch_size", 1))
    opt = {"lr": train.pop("lr", 2e-4), "betas": train.pop("betas", (0.5, 0.999)),
           "decay_from": train.pop("decay_from", 0.5)}  # fmt: skip
    train["images"] = int(train.pop("steps")) * bs
    for k in ("log_every", "sample_every", "ckpt_every", "eval_every"):
        if k in train:
            train[k] = int(train[k]) * bs
    train["opt"] = {"g": dict(opt), "d": dict(opt)}
    model = {k: v for k, v in (config.get("model") or {}).items() if k not in ("in_ch", "out_ch")}
    data = {k: v for k, v in (config.get("data") or {}).items() if k != "view"}
    return {**config, "train": train, "model": model, "data": data}


def to_config(spec: RunSpec) -> dict:
    """The config.json of a run: plain data (no module paths), read back by `spec_from_config`."""
    return {"recipe": spec.recipe, **dataclasses.asdict(spec)}


def read_config(path: Path) -> RunSpec:
    """The RunSpec of a run's config.json; a missing or unreadable file raises ConfigError naming it."""
    try:
        return spec_from_config(json.loads(Path(path).read_text()))
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found (the run was never started here)") from None
    except (json.JSONDecodeError, UnicodeDecodeError, ConfigError, ValueError, TypeError, KeyError) as e:
        raise ConfigError(f"{path}: not a readable run config ({e})") from None


def spec_from_config(config: dict) -> RunSpec:
    """The RunSpec a run's config.json describes (older layouts upgraded first)."""
    config = upgrade_config(config)
    recipe = config.get("recipe", "pix2pix")
    try:
        cls = recipe_class(recipe)
    except KeyError as e:
        raise ConfigError(f"config names recipe {recipe!r}: {e}") from None
    model = from_dict(cls.Config, config.get("model") or {})
    rest = {k: v for k, v in config.items() if k not in ("model", "recipe")}
    return dataclasses.replace(from_dict(RunSpec, {"recipe": recipe, **rest}), model=model)


NOT_IDENTITY = {
    "train.device",
    "train.log_every",
    "train.ckpt_every",
    "train.sample_every",
    "train.compile",
    "train.workers",
    "train.pin_memory",
    "model.vgg_weights",  # where a weight file lies; its checksum is recorded (runs.csv vgg19_sha256)
    "eval.inception_weights",  # likewise (runs.csv inception_sha256)
    "eval.weights",  # likewise (runs.csv <name>_sha256)
    "metrics",  # what is scored, not how the model trains: --rescore scores a finished run with today's list
}  # bookkeeping and speed: never changes a result


def identity(spec: RunSpec) -> dict[str, str]:
    """The flattened config fields that decide a run's results (bookkeeping such as the device left out)."""
    return {k: json.dumps(v, default=str) for k, v in flatten(spec).items() if k not in NOT_IDENTITY}


def config_hash(spec: RunSpec) -> str:
    return hashlib.sha1(json.dumps(identity(spec), sort_keys=True).encode()).hexdigest()[:12]


def config_diff(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """'field: old -> new' for every identity field that differs."""
    keys = sorted(set(old) | set(new))
    return [f"{k}: {old.get(k, '(absent)')} -> {new.get(k, '(absent)')}" for k in keys if old.get(k) != new.get(k)]


@dataclass(frozen=True)
class Profile:
    settings: dict[str, Any] = field(default_factory=dict)  # dotted overrides for every run
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)  # replaces a variant's overrides
    note: str = ""  # why this profile's choices (shown by --list and in the table)
    recipes: dict[str, dict[str, Any]] = field(default_factory=dict)  # per recipe: its model.* sizes, after settings


@dataclass(frozen=True)
class Study:
    name: str
    question: str  # shown in the dashboard
    base: RunSpec
    variants: dict[str, dict[str, Any]]
    profiles: dict[str, Profile]
    seeds: tuple[int, ...] = (0,)
    settings: dict[str, Any] = field(default_factory=dict)  # dotted overrides of the study, for every profile
    reference_file: str = ""  # studies/reference/<file>.csv: published rows (table, variant, metric, value, source)
    reference: tuple[str, ...] = ()  # which tables of that file
    reference_names: dict[str, tuple[str, ...]] = field(default_factory=dict)  # variant -> published rows
    row_note: str = ""  # per-row note from each run's describe(), e.g. "(D RF {D_receptive_field}px)"
    claims: tuple[Claim, ...] = ()  # published orderings this study tests (studies/results/stats.py verdicts)
    table_extra: tuple[str, ...] = ()  # training diagnostics (split "train", e.g. d_grad_spikes) shown in the table
    imported: tuple[str, ...] = ()  # variants of outputs made elsewhere (--import-outputs), scored, never trained
    # metrics that need pretrained nets (metrics/weights.py): scored when --weights gives their files, else left
    # out with one line naming the flag
    pretrained_metrics: tuple[str, ...] = ("lpips_alex", "dists", "dinov2")

    def __post_init__(self):
        """All variants of one recipe override the same fields (a study that varies two things is two studies);
        variants that change the recipe (pix2pix beside CycleGAN) compare within each recipe."""
        for name, profile in [("", None), *self.profiles.items()]:
            variants = {**self.variants, **(profile.variants if profile else {})}
            by_recipe: dict[str, dict[str, frozenset]] = {}
            for v, o in variants.items():
                by_recipe.setdefault(o.get("recipe", self.base.recipe), {})[v] = frozenset(o)
            for paths in by_recipe.values():
                if len(set(paths.values())) > 1:
                    raise ValueError(f"study {self.name}{' profile ' + name if name else ''}: variants must override "
                                     f"the same fields, got {({v: sorted(p) for v, p in paths.items()})}")  # fmt: skip
        for claim in self.claims:
            unknown = [v for v in claim.variants if v not in self.all_variants]
            if unknown:
                raise ValueError(f"study {self.name}: claim {claim.order!r} names unknown variant(s) {unknown}")
        if self.reference and not self.reference_file:
            raise ValueError(f"study {self.name}: reference tables {self.reference} need a reference_file")

    @property
    def all_variants(self) -> list[str]:
        """The trained variants, then the imported ones: the rows of the tables and statistics."""
        return [*self.variants, *(v for v in self.imported if v not in self.variants)]

    def variant_overrides(self, variant: str, profile: str) -> dict[str, Any]:
        return self.profiles[profile].variants.get(variant, self.variants[variant])

    def run_ids(self, seeds=None, variants=None) -> list[str]:
        return [f"{v}-s{s}" for v in (variants or self.variants) for s in (seeds if seeds is not None else self.seeds)]

    def runs(self, profile: str = "quick", seeds=None, sets: dict[str, Any] | None = None, only=None):
        """[(run_id, variant, seed, RunSpec)] for every variant x seed (or the run ids in `only`; --set applies to
        those alone), with the settings applied in the order of the module docstring."""
        if profile not in self.profiles:
            raise ConfigError(f"study {self.name} has no profile {profile!r}; known: {', '.join(self.profiles)}")
        out = []
        for variant in self.variants:
            for seed in seeds if seeds is not None else self.seeds:
                if only is not None and f"{variant}-s{seed}" not in only:
                    continue
                prof = self.profiles[profile]
                layers = [self.settings, prof.settings, self.variant_overrides(variant, profile), sets or {},
                          {"train.seed": seed}]  # fmt: skip
                recipe = next((layer["recipe"] for layer in reversed(layers) if "recipe" in layer), self.base.recipe)
                layers.insert(2, prof.recipes.get(recipe, {}))
                spec = override(self.base, "recipe", recipe) if recipe != self.base.recipe else self.base
                for layer in [spec.recipe_cls.defaults, *layers]:
                    for k, v in layer.items():
                        if k != "recipe":
                            spec = override(spec, k, v)
                out.append((f"{variant}-s{seed}", variant, seed, spec))
        return out
