"""A run's pieces from its RunSpec: the datasets in the recipe's views, and the recipe built from the facts
of the data (channels, classes, size), initialised from the run's own seed. Used by the runner, by
rescoring and by everything that loads a finished run (studies/checkpoints.py)."""

from __future__ import annotations

import torch

from models.train import seed_everything
from studies.data import ViewUnavailable, make_dataset
from studies.spec import RunSpec


def datasets(spec: RunSpec) -> tuple:
    """(train set with augmentation, test set) in the recipe's train and eval views; data without the eval view
    (a CycleGAN folder has no pairs) is scored in the train view, and metrics that need pairs are refused."""
    train_view, eval_view = spec.recipe_cls.views
    train = make_dataset(spec.data, "train", augment=True, view=train_view)
    try:
        test = make_dataset(spec.data, "test", view=eval_view)
    except ViewUnavailable:
        if eval_view == train_view:
            raise
        test = make_dataset(spec.data, "test", view=train_view)
    return train, test


def build_recipe(spec: RunSpec, train_set):
    """The run's nets, initialised from the run's own seed, whatever ran before in this process."""
    with torch.random.fork_rng(devices=[]):
        facts = train_set.facts()  # reads one (augmented) item: must not move the run's RNG
    seed_everything(spec.train.seed)
    return spec.recipe_cls(spec.model, facts)
