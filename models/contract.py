"""The plain data the training loop hands to recipes (recipe contract v2, see models/__init__.py Recipe).

`Progress` is where a run stands, counted in training images (as StyleGAN2-ADA's `cur_nimg`), so a
recipe may change its minibatch with progress and every schedule stays exact on resume. `DataFacts`
are what a recipe needs to know about the data to build its nets (channels, classes, size, view).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

View = Literal["paired", "unpaired", "unconditional"]


@dataclass(frozen=True)
class Progress:
    step: int  # iterations completed before this one
    images: int  # training images seen before this iteration (every fresh batch counts)
    total: int  # training images of the whole run (train.images)

    @property
    def fraction(self) -> float:
        return self.images / max(self.total, 1)


@dataclass(frozen=True)
class DataFacts:
    channels_a: int  # input channels (0: no input, unconditional data)
    channels_b: int  # target / photo channels
    n_classes: int  # label classes (0: no label maps)
    size: int  # square image size fed to the nets, px
    view: View  # the training view: paired (a, b), unpaired (a, b drawn independently) or b only
    shape: tuple[int, ...] = ()  # one item's `b` shape, e.g. (3, 64, 64); (3,) for a point, (N, 3) for a cloud
    modality: str = "image"  # how samples are drawn (studies/runner/evaluation.py SAMPLE_WRITERS): image, surface
    native: tuple[int, int] | None = None  # (H, W) of the stored images before resizing, where the data knows it
    instances: bool = False  # items carry an `instance` map (NHW int64 ids), for instance-boundary inputs
