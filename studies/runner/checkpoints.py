"""Loading a finished run for inference: the one function every consumer uses (rescoring, the dashboard,
questionnaire export). The run's config.json rebuilds its recipe (studies/spec.py read_config), the
checkpoint is read as weights only, and the EMA copies (G_ema) take the place of the nets they average,
as in evaluation. Every fault (missing or corrupt files, a checkpoint that does not fit the config)
raises CheckpointError naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from models import checkpoint as ckpt
from models.checkpoint import CheckpointError
from models.contract import Progress
from studies.datasets import DatasetError, make_dataset
from studies.runner.build import build_recipe, datasets
from studies.spec import ConfigError, RunSpec, read_config


@dataclass
class LoadedRun:
    spec: RunSpec
    recipe: object  # the recipe, nets in eval-ready state on `device`, EMA weights in place
    progress: Progress  # where the checkpoint stands
    train_set: object  # the train view (the recipe was built from its facts)
    test_set: object  # the eval view of the test split


def load_spec(run_dir: Path) -> RunSpec:
    try:
        return read_config(Path(run_dir) / "config.json")
    except ConfigError as e:
        raise CheckpointError(str(e)) from None


def load_run(run_dir: Path, device: str | torch.device = "cpu", builds=None) -> LoadedRun:
    """The run in `run_dir` with its final (or latest) checkpoint loaded, ready for `translate`; `builds`
    (studies/runner/build.py Builds) shares the datasets a study process has built already."""
    run_dir = Path(run_dir)
    spec = load_spec(run_dir)
    try:
        train_set, test_set = datasets(spec, builds.dataset if builds is not None else make_dataset)
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
