"""The contract every ganbench metric follows: input checks, the streaming mean, the registry entry.

Follows torchmetrics' functional/modular split (functions return per-sample values; accumulators hold
summable state) without its `Metric`/`nn.Module` machinery: an accumulator is `reset / update /
compute -> dict[str, float] / merge`. Streaming (several update() calls on one accumulator) always
equals computing at once. Merging shards does so only where the accumulator says `merge_exact = True`
(sums, counts, confusion matrices, histograms); SWD (patch positions follow each shard's own image
indices) and pair diversity (a pair split between shards is lost) say False and merge approximately.
An accumulator with a real-image side (SWD, histograms, FID) may also give `real_state()` and take
`set_real_state(state)`: then update() skips the real images, whose statistics come from a cache.
One whose value is a function of per-item contributions (means; the FCN-score's per-item class counts)
gives `per_item() -> (positions, {key: values})`, positions in update order, so that the statistics
(studies/results/stats.py) can resample test items without the checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor


class MetricUnavailable(RuntimeError):
    """A metric cannot run here (e.g. FID without a local Inception weights file); callers skip it."""


class WeightsNotGiven(MetricUnavailable):
    """A metric needs a pretrained net whose local file was not given (`--weights NAME=PATH`)."""


def check_images(x: Tensor, name: str = "images", *, data_range: float = 2.0) -> Tensor:
    """Validate a float (N, C, H, W) batch in [-1, 1] (data_range 2) or [0, 1] (data_range 1); returns x.

    Raises:
        TypeError: `x` is not a floating tensor.
        ValueError: wrong rank, empty, NaN/inf, or values outside the range.
    """
    if not isinstance(x, Tensor) or not x.is_floating_point():
        kind = x.dtype if isinstance(x, Tensor) else type(x).__name__
        raise TypeError(f"{name}: expected a float tensor in [-1, 1], got {kind} (convert uint8 with from_uint8)")
    if x.ndim != 4 or 0 in x.shape:
        raise ValueError(f"{name}: expected a non-empty (N, C, H, W) tensor, got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name}: contains NaN or inf")
    low = -1.0 if data_range == 2.0 else 0.0
    lo, hi = x.min().item(), x.max().item()
    if lo < low - 1e-4 or hi > low + data_range + 1e-4:
        raise ValueError(f"{name}: values in [{lo:.3g}, {hi:.3g}] fall outside [{low}, {low + data_range}]")
    return x


def check_pair(x: Tensor, y: Tensor, names: tuple[str, str] = ("x", "y"), *, data_range: float = 2.0) -> None:
    """Both batches valid and of the same shape."""
    check_images(x, names[0], data_range=data_range)
    check_images(y, names[1], data_range=data_range)
    if x.shape != y.shape:
        raise ValueError(f"{names[0]} {tuple(x.shape)} and {names[1]} {tuple(y.shape)} differ in shape")


def from_uint8(images: Tensor) -> Tensor:
    """uint8 (N, C, H, W) in [0, 255] -> float32 in [-1, 1], the ganbench convention."""
    if images.dtype != torch.uint8:
        raise TypeError(f"from_uint8 expects uint8, got {images.dtype}")
    return images.float().div(127.5).sub(1.0)


class MeanOf:
    """Streaming mean of a per-sample metric. State is (total, count), so shards merge by addition."""

    merge_exact = True

    def __init__(self, fn: Callable[..., Tensor], name: str, **kw: Any):
        self.fn, self.name, self.kw = fn, name, kw
        self.reset()

    def reset(self) -> None:
        self.total, self.count, self.values = 0.0, 0, []

    def update(self, *tensors: Tensor) -> None:
        values = self.fn(*tensors, **self.kw).double()
        self.total += values.sum().item()
        self.count += values.numel()
        self.values.append(values.detach().cpu())

    def per_item(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(positions 0..n-1, {name: the per-item values})."""
        values = torch.cat(self.values).numpy() if self.values else np.zeros(0)
        return np.arange(len(values)), {self.name: values}

    def merge(self, other: MeanOf) -> None:
        self.total += other.total
        self.count += other.count
        self.values += other.values

    def compute(self) -> dict[str, float]:
        if not self.count:
            raise ValueError(f"{self.name}: no samples were given")
        return {self.name: self.total / self.count}


@dataclass
class EvalContext:
    """What metric factories may need beyond images: the device, classes, a segmenter, weight files."""

    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    n_classes: int = 0
    segmenter: Callable[[], torch.nn.Module] | None = None  # lazy: trained/loaded only when asked for
    palette: Any = None  # RGB uint8 (C, 3) class colours of the data (label_score)
    inception_weights: Path | None = None
    weights: dict[str, str] = field(default_factory=dict)  # --weights NAME=PATH (metrics/weights.py NETS)


@dataclass(frozen=True)
class MetricSpec:
    """A registry entry: how to build the accumulator, what it reads, what it reports and how."""

    make: Callable[[EvalContext], Any]  # -> accumulator with reset/update/compute/merge
    inputs: tuple[str, ...]  # keys of eval batch | translate outputs that update() takes, e.g. ("fake_b", "b")
    outputs: dict[str, bool | None]  # metric key -> higher_is_better (None: a diagnostic, never compared)
    protocol: str  # versioned description; goes into runs.csv and the dashboard
    ceiling: dict[str, str] = field(default_factory=dict)  # output key -> batch key for the real-data row
    table: tuple[str, ...] | None = None  # the outputs the printed table shows (None: all)
    real: str | None = None  # input key of the real side whose statistics may be cached (real_state)
    paired: bool = False  # compares each output with its own target: needs paired eval data
    caveat: Callable[[dict[str, float]], str | None] | None = None  # a line for the report, from a run's values
    weights: tuple[str, ...] = ()  # pretrained nets (metrics/weights.py) of which it needs one file

    @property
    def version(self) -> str:
        """'ssim-v2': the protocol string up to its colon; runs record it, stale rows are older."""
        return self.protocol.split(":", 1)[0]

    @property
    def table_keys(self) -> tuple[str, ...]:
        return tuple(self.outputs) if self.table is None else self.table
