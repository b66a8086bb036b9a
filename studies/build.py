"""A run's pieces from its RunSpec: the datasets in the recipe's views, and the recipe built from the facts
of the data (channels, classes, size), initialised from the run's own seed. Used by the runner, by
rescoring and by everything that loads a finished run (studies/checkpoints.py)."""

from __future__ import annotations

import torch

from models.train import seed_everything
from studies.data import make_dataset
from studies.spec import RunSpec


def datasets(spec: RunSpec) -> tuple:
    """(train set with augmentation, test set) in the recipe's train and eval views."""
    train_view, eval_view = spec.recipe_cls.views
    return (make_dataset(spec.data, "train", augment=True, view=train_view),
            make_dataset(spec.data, "test", view=eval_view))  # fmt: skip


def build_recipe(spec: RunSpec, train_set):
    """The run's nets, initialised from the run's own seed, whatever ran before in this process."""
    with torch.random.fork_rng(devices=[]):
        facts = train_set.facts()  # reads one (augmented) item: must not move the run's RNG
    seed_everything(spec.train.seed)
    return spec.recipe_cls(spec.model, facts)
