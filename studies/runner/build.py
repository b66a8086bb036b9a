"""A run's pieces from its RunSpec: the datasets in the recipe's views, and the recipe built from the facts of
the data (channels, classes, size), initialised from the run's own seed.

`Builds` holds what one study process builds, each once: every dataset (shared by the runs, the segmenter and
the ceiling that read the same data config, split and view), each run's recipe (built and checked by the
preflight, then handed to that run's training) and the FCN-score segmenters (trained on real train photos on
first use, cached on disk). The cost: the recipes of the pending runs live on the CPU from the preflight until
each trains (4 bytes per parameter: the 12 runs of a paper-width pix2pix study, 57 M parameters each, hold about
2.7 GB); `--executor` runs keep none (their jobs build their own). The free functions serve one-off callers:
tests, and opening a finished run (studies/runner/checkpoints.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from metrics.fcn_score import train_segmenter
from models.train import seed_everything
from studies.datasets import ViewUnavailable, make_dataset
from studies.spec import RunSpec


def datasets(spec: RunSpec, make=make_dataset) -> tuple:
    """(train set with augmentation, test set) in the recipe's train and eval views; data without the eval view
    (a CycleGAN folder has no pairs) is scored in the train view, and metrics that need pairs are refused."""
    train_view, eval_view = spec.recipe_cls.views
    train = make(spec.data, "train", augment=True, view=train_view)
    try:
        test = make(spec.data, "test", view=eval_view)
    except ViewUnavailable:
        if eval_view == train_view:
            raise
        test = make(spec.data, "test", view=train_view)
    return train, test


def build_recipe(spec: RunSpec, train_set):
    """The run's nets, initialised from the run's own seed, whatever ran before in this process."""
    with torch.random.fork_rng(devices=[]):
        facts = train_set.facts()  # reads one (augmented) item: must not move the run's RNG
    seed_everything(spec.train.seed)
    return spec.recipe_cls(spec.model, facts)


class Builds:
    """The datasets, recipes and segmenters of one study process, each built once (module docstring)."""

    def __init__(self, cache_dir: Path, device: torch.device | None):
        self.cache_dir, self.device = Path(cache_dir), device
        self._sets: dict[tuple, object] = {}
        self._recipes: dict[str, tuple[RunSpec, object]] = {}
        self._segmenters: dict[tuple, object] = {}

    def dataset(self, data, split: str, augment: bool = False, view: str = "paired"):
        key = (data, split, augment, view)
        if key not in self._sets:
            self._sets[key] = make_dataset(data, split, augment=augment, view=view)
        return self._sets[key]

    def datasets(self, spec: RunSpec) -> tuple:
        return datasets(spec, self.dataset)

    def recipe(self, run_id: str, spec: RunSpec, keep: bool = True):
        """The run's recipe, built once: kept (on the CPU, untrained) until `take` hands it to the run."""
        if run_id in self._recipes and self._recipes[run_id][0] == spec:
            return self._recipes[run_id][1]
        recipe = build_recipe(spec, self.datasets(spec)[0])
        if keep:
            self._recipes[run_id] = (spec, recipe)
        return recipe

    def take(self, run_id: str, spec: RunSpec):
        """The recipe the preflight built for this run (given up: nothing else holds it), or a new one."""
        kept = self._recipes.pop(run_id, None)
        return kept[1] if kept is not None and kept[0] == spec else build_recipe(spec, self.datasets(spec)[0])

    def segmenter(self, spec: RunSpec):
        """The FCN-score segmenter of the run's data: trained on its real train photos once, cached on disk."""
        key = (dataclasses.replace(spec.data, jitter=False), spec.eval.segmenter_epochs)
        if key not in self._segmenters:
            train_set = self.dataset(spec.data, "train", view="paired")
            print(f"[segmenter] {train_set.identity} at {spec.data.size}px, {key[1]} epochs (cached)")
            self._segmenters[key] = train_segmenter(train_set, train_set.n_classes, size=spec.data.size,
                                                    epochs=key[1], seed=0, device=self.device,
                                                    cache_dir=self.cache_dir)  # fmt: skip
        return self._segmenters[key]
