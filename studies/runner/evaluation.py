"""Evaluating a run, the evaluator the loop calls: translate the eval split in batches, feed the metrics, write
samples, and at the end the per-item file (studies/results/per_item.py).

Every metric reads its inputs by key from the eval batch merged with the recipe's `translate` outputs
(metrics.METRICS[name].inputs, e.g. ("fake_b", "label")); `check_inputs` proves on one batch, before
any training, that every key exists. Evaluation runs under a forked RNG seeded with the run's seed, so
stochastic test-time behaviour (pix2pix's dropout) is reproducible and never perturbs training. The
final pass writes the sample grid and the per-item test PNGs from the very batches it scores.
Statistics of the real images (SWD descriptors, Lab histograms, Inception features: metrics with a
`real` input) are cached per (dataset identity, split, view, size, items, protocol version) under
`cache_dir`, so an evaluation after the first pays only for the generated images.
A ceiling (metrics that declare one, e.g. the FCN-score on real photos) scores the data itself: each
declared output key is replaced by a key of the batch (translate = identity).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset, default_collate
from torchvision.utils import save_image

from models.contract import Progress
from models.train import to_device
from studies.results.per_item import write_per_item


class MetricInputError(KeyError):
    """A metric reads a key that neither the eval batch nor the recipe's translate provides."""

    def __str__(self) -> str:
        return str(self.args[0])


def _rows(tensors: dict[str, Tensor], keys: Iterable[str], n: int) -> list[Tensor]:
    return [tensors[k][:n].float().cpu() for k in keys if k in tensors and tensors[k].ndim == 4]


def write_image_grid(tensors: dict[str, Tensor], keys: tuple[str, ...], path: Path, n: int) -> None:
    """One row per key (input, target, output, ...), one column per item; images in [-1, 1]."""
    rows = _rows(tensors, keys, n)
    if rows:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(torch.cat([r.expand(-1, 3, -1, -1) if r.shape[1] == 1 else r for r in rows]).add(1).div(2), path,
                   nrow=rows[0].shape[0], padding=1)  # fmt: skip


def write_surface_plots(tensors: dict[str, Tensor], keys: tuple[str, ...], path: Path, n: int) -> None:
    """3-D plots (matplotlib): one row per key (real b, generated fake_b), up to `n` surfaces each; points
    (N, 3) are drawn as one scatter of all points per key."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(k, tensors[k].detach().float().cpu()) for k in keys if k in tensors]
    if not rows:
        return
    cols = 1 if rows[0][1].ndim == 2 else min(n, rows[0][1].shape[0])
    fig = plt.figure(figsize=(2.2 * cols, 2.2 * len(rows)), dpi=80)
    for r, (key, x) in enumerate(rows):
        clouds = [x] if x.ndim == 2 else [v.flatten(1).T if v.ndim == 3 else v for v in x[:cols]]  # (M, 3) each
        for c, pts in enumerate(clouds):
            ax = fig.add_subplot(len(rows), cols, r * cols + c + 1, projection="3d")
            ax.scatter(pts[:, 0], pts[:, 1], pts[:, 2], c=pts[:, 2], cmap="viridis", s=4, vmin=-1, vmax=1)
            ax.set(xlim=(-1, 1), ylim=(-1, 1), zlim=(-1, 1), xticks=[], yticks=[], zticks=[])
            ax.set_title(key if c == 0 else "", fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


SAMPLE_WRITERS = {"image": write_image_grid, "surface": write_surface_plots}  # modality -> writer(tensors, keys, ...)


def write_test_images(tensors: dict[str, Tensor], roles: dict[str, str], folder: Path, n: int) -> None:
    """<index>_<role>.png for the first `n` items: input, truth, output (the dashboard's Samples page)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, index in enumerate(tensors["index"][:n].tolist()):
        for role, key in roles.items():
            if key in tensors and tensors[key].ndim == 4:
                save_image(tensors[key][i].float().cpu().add(1).div(2), folder / f"{index:06d}_{role}.png")


@contextmanager
def seeded(device: torch.device, seed: int) -> Iterator[None]:
    """A forked RNG seeded with `seed`: evaluation is reproducible (pix2pix's test-time dropout, KID's subsets)
    and leaves the training RNG exactly where it was."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


def _update(metrics: dict, tensors: dict) -> None:
    for spec, acc in metrics.values():
        acc.update(*[tensors[k] for k in spec.inputs])


def _compute(metrics: dict) -> dict[str, float]:
    values: dict[str, float] = {}
    for _, acc in metrics.values():
        values |= acc.compute()
    return values


def score(metrics: dict, pairs: Iterable[tuple[dict, dict]]) -> dict[str, float]:
    """Feed each (batch, outputs) pair to the accumulators of `metrics` ({name: (spec, acc)}); their values."""
    for _, acc in metrics.values():
        acc.reset()
    for batch, out in pairs:
        _update(metrics, batch | out)
    return _compute(metrics)


@dataclass
class Evaluator:
    data: Dataset  # the eval view of the test split
    metrics: dict  # {name: (MetricSpec, accumulator)}
    device: torch.device
    batch_size: int = 32  # eval.batch_size (pix2pix's test-time batch statistics depend on it)
    seed: int = 0
    n_samples: int = 8  # items in sample grids and per-item test PNGs
    cache_dir: Path | None = None  # real-image statistics (SWD descriptors, histograms, Inception features)

    @property
    def protocols(self) -> dict[str, str]:
        """{metric: protocol version} of this evaluation, recorded with every metrics.jsonl row."""
        return {name: spec.version for name, (spec, _) in self.metrics.items()}

    @property
    def weights_sha256(self) -> dict[str, dict[str, str]]:
        """{metric: {pretrained net: sha256 of its file}} of the metrics that read a weight file (run.json)."""
        return {name: dict(acc.weights) for name, (_, acc) in self.metrics.items() if getattr(acc, "weights", None)}

    def _batches(self, limit: int | None = None) -> Iterator[dict]:
        n = len(self.data) if limit is None else min(limit, len(self.data))
        for start in range(0, n, self.batch_size):
            items = [self.data[i] for i in range(start, min(start + self.batch_size, n))]
            yield to_device(default_collate(items), self.device)

    def _write(self, recipe, tensors: dict, grid: Path | None, test_dir: Path | None) -> None:
        if grid is not None:
            SAMPLE_WRITERS[getattr(recipe, "modality", "image")](tensors, recipe.sample_rows, grid, self.n_samples)
        if test_dir is not None:
            write_test_images(tensors, recipe.test_images, test_dir, self.n_samples)

    def samples(self, recipe, t: Progress, path: Path) -> None:
        """A sample grid from the first eval batch, exactly as the scoring pass sees it."""
        with seeded(self.device, self.seed):
            batch = next(self._batches(limit=self.batch_size))
            self._write(recipe, batch | recipe.translate(batch, t), path, None)

    def evaluate(self, recipe, t: Progress, run_dir: Path, final: bool = False) -> dict[str, float]:
        """Metric values over the eval data; at the end also the grid and test PNGs of the same pass."""
        with seeded(self.device, self.seed):
            cached, indices = self._load_real(), []
            for _, acc in self.metrics.values():
                acc.reset()
            for i, batch in enumerate(self._batches()):
                out = recipe.translate(batch, t)
                if i == 0:  # a real side that translate replaces (ProGAN's level) is not the cached one
                    cached = {k: v for k, v in cached.items() if self.metrics[k][0].real not in out}
                    for name, state in cached.items():
                        self.metrics[name][1].set_real_state(state)
                    if final:
                        self._write(recipe, batch | out, run_dir / "samples" / f"step_{t.step:06d}.png",
                                    run_dir / "samples" / "test")  # fmt: skip
                    fresh = [k for k, (spec, _) in self.metrics.items() if spec.real not in out]
                _update(self.metrics, batch | out)
                indices += batch["index"].tolist() if "index" in batch else []
            self._save_real(cached, fresh)
            values = _compute(self.metrics)
        if final:
            write_per_item(self.metrics, indices, run_dir)
        return values

    def ceiling(self) -> dict[str, float]:
        """Metrics that declare a ceiling, scored on the data itself (e.g. FCN-score of real photos)."""
        chosen = {k: v for k, v in self.metrics.items() if v[0].ceiling}
        if not chosen:
            return {}
        pairs = ((b, {out: b[src] for _, (spec, _) in chosen.items() for out, src in spec.ceiling.items()})
                 for b in self._batches())  # fmt: skip
        with seeded(self.device, self.seed):
            return score(chosen, pairs)

    # --- cached statistics of the real images (they do not change between evaluations) ---

    def _real_path(self, name: str, spec) -> Path | None:
        identity = getattr(self.data, "identity", "")
        if self.cache_dir is None or not spec.real or not identity or not hasattr(self.metrics[name][1], "real_state"):
            return None
        cfg = getattr(self.data, "cfg", None)
        blob = json.dumps([identity, getattr(self.data, "split", ""), getattr(self.data, "view", ""),
                           getattr(cfg, "size", 0), len(self.data), name, spec.version, spec.real,
                           getattr(self.metrics[name][1], "weights", {})])  # fmt: skip
        return self.cache_dir / f"real-{name}-{hashlib.sha1(blob.encode()).hexdigest()[:16]}.pt"

    def _load_real(self) -> dict[str, dict]:
        out = {}
        for name, (spec, _) in self.metrics.items():
            path = self._real_path(name, spec)
            if path is not None and path.exists():
                try:
                    out[name] = torch.load(path, map_location=self.device, weights_only=True)
                except Exception:  # noqa: BLE001 - a damaged cache file is recomputed, never trusted
                    path.unlink(missing_ok=True)
        return out

    def _save_real(self, cached: dict, allowed: list[str]) -> None:
        for name, (spec, acc) in self.metrics.items():
            path = self._real_path(name, spec)
            if path is not None and name not in cached and name in allowed:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
                os.close(fd)
                torch.save(acc.real_state(), tmp)
                os.replace(tmp, path)


def check_inputs(recipe, data: Dataset, specs: dict, t: Progress, name: str = "") -> None:
    """Translate two items and check that every metric ({name: MetricSpec}) finds its input keys; the nets'
    buffers are restored afterwards, so the checked recipe is the one that trains."""
    device = next(p.device for net in recipe.nets.values() for p in net.parameters())
    item = to_device(default_collate([data[i] for i in range(min(2, len(data)))]), device)
    saved = [(b, b.clone()) for net in recipe.nets.values() for b in net.buffers()]
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        out = recipe.translate(item, t)
    for buffer, value in saved:  # the recipe goes on to train: the check leaves no trace (batch statistics)
        buffer.copy_(value)
    for metric, spec in specs.items():
        for key in spec.inputs:
            if key not in item and key not in out:
                raise MetricInputError(
                    f"metric {metric!r} reads {key!r}, which neither the eval batch ({', '.join(item)}) nor "
                    f"{name or type(recipe).__name__}.translate ({', '.join(out)}) provides"
                )
