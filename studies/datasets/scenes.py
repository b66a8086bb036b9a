"""synthetic_scenes and synthetic_sketches as datasets: the embedded street scenes (studies/datasets/synthetic.py)
rendered deterministically from (seed, index), paired labels -> photo, unpaired (two disjoint halves of a split,
for CycleGAN) or photos only; synthetic_sketches gives each scene's line drawing as the input instead
(studies/datasets/sketches.py). Items follow the convention of studies/datasets/base.py.
"""

from __future__ import annotations

import numpy as np
import torch

from models.contract import View
from studies.datasets import synthetic
from studies.datasets.base import SPLITS, DataConfig, DatasetError, _Base, to_tensor
from studies.datasets.sketches import render_sketch


class SyntheticScenes(_Base):
    """synthetic_scenes (studies/datasets/synthetic.py): paired, unpaired (disjoint halves) or photos only."""

    classes, colors = synthetic.CLASSES, synthetic.COLORS
    views = ("paired", "unpaired", "unconditional")

    def __init__(self, cfg: DataConfig, split: str = "train", augment: bool = False, view: View = "paired"):
        super().__init__(cfg, split, augment, view)
        counts = {"train": cfg.n_train, "val": cfg.n_val, "test": cfg.n_test}
        self.start = sum(counts[s] for s in SPLITS[: SPLITS.index(split)])
        self.count = counts[split] // 2 if view == "unpaired" else counts[split]
        if self.count <= 0:
            raise DatasetError(f"synthetic_scenes: split {split!r} is empty (n_{split}={counts[split]})")
        self.sketches = cfg.name == "synthetic_sketches"
        self.identity = f"{cfg.name}-v1-seed{cfg.seed}-{cfg.n_train}-{cfg.n_val}-{cfg.n_test}"
        self._cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]] = {}

    def __len__(self) -> int:
        return self.count

    @property
    def drawing(self) -> str:
        return "sketch" if self.sketches and self.view != "unconditional" else super().drawing

    def scene(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(label, photo, sketch or None, instance map or None) of one scene."""
        if index not in self._cache:
            if self.sketches:  # a drawing is the input: no instance map
                (label, sketch, photo), inst = render_sketch(self.cfg.seed, index, self.cfg.size), None
            else:
                (label, photo, inst, _), sketch = synthetic.render_instances(self.cfg.seed, index, self.cfg.size), None
            inst = inst.astype(np.int32) if inst is not None else None  # compact: each DataLoader worker keeps one
            self._cache[index] = (label.astype(np.uint8), photo, sketch, inst)
        return self._cache[index]

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < self.count:
            raise IndexError(i)
        index = self.start + i
        label, photo, sketch, inst = self.scene(index)
        item = {"b": to_tensor(photo), "index": torch.tensor(index)}
        if self.view != "unconditional":
            a = sketch if self.sketches else synthetic.colorize(label)
            item["a"], item["label"] = to_tensor(a), torch.from_numpy(label.astype(np.int64))
            if inst is not None:
                item["instance"] = torch.from_numpy(inst.astype(np.int64))
        if self.view == "unpaired":  # B from the other half of the split, at random: never the pair of A
            j = self.start + self.count + int(torch.randint(self.count, ()))
            return self._unpaired(item, to_tensor(self.scene(j)[1]))
        return self._finish(item)
