"""Loading a finished run for inference: the one function every consumer uses (rescoring, the dashboard,
questionnaire export). The run's config.json rebuilds its recipe (studies/spec.py spec_from_config), the
checkpoint is read as weights only, and the EMA copies (G_ema) take the place of the nets they average,
as in evaluation. Every fault (missing or corrupt files, a checkpoint that does not fit the config)
raises CheckpointError naming the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from models import checkpoint as ckpt
from models.checkpoint import CheckpointError
from models.contract import Progress
from studies.build import build_recipe, datasets
from studies.data import DatasetError
from studies.spec import ConfigError, RunSpec, spec_from_config


@dataclass
class LoadedRun:
    spec: RunSpec
    recipe: object  # the recipe, nets in eval-ready state on `device`, EMA weights in place
    progress: Progress  # where the checkpoint stands
    train_set: object  # the train view (the recipe was built from its facts)
    test_set: object  # the eval view of the test split


def load_spec(run_dir: Path) -> RunSpec:
    path = Path(run_dir) / "config.json"
    try:
        return spec_from_config(json.loads(path.read_text()))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: not found (the run was never started here)") from None
    except (json.JSONDecodeError, ConfigError, TypeError, KeyError) as e:
        raise CheckpointError(f"{path}: not a readable run config ({e})") from None


def load_run(run_dir: Path, device: str | torch.device = "cpu") -> LoadedRun:
    """The run in `run_dir` with its final (or latest) checkpoint loaded, ready for `translate`."""
    run_dir = Path(run_dir)
    spec = load_spec(run_dir)
    try:
        train_set, test_set = datasets(spec)
    except DatasetError as e:
        raise CheckpointError(f"{run_dir}: the run's data is not readable here: {e}") from None
    recipe = build_recipe(spec, train_set)
    state = ckpt.load(run_dir / "checkpoint.pt", legacy=True)
    ckpt.load_nets(recipe.nets, state["nets"], run_dir / "checkpoint.pt")
    for name, src in getattr(recipe, "ema", {}).items():
        if name not in state.get("ema", {}):
            raise CheckpointError(f"{run_dir / 'checkpoint.pt'}: no EMA weights {name!r} for {src}")
        ckpt.load_nets({src: recipe.nets[src]}, {src: state["ema"][name]}, run_dir / "checkpoint.pt", "EMA net")
    for net in recipe.nets.values():
        net.to(device)
    p = state["progress"]
    images = int(p.get("images", p["step"] * spec.train.batch_size))  # format 1 counted steps of a fixed batch
    return LoadedRun(spec, recipe, Progress(int(p["step"]), images, spec.train.images), train_set, test_set)
