"""The one training loop for every recipe, plus evaluation and sample grids.

Shape after StyleGAN2-ADA's training_loop.py (Karras et al. 2020): the loop owns data order,
optimizers, learning-rate schedule, AMP, checkpoints, logging and evaluation, and never branches on the
model family; a recipe (models/__init__.py RECIPES) supplies nets and named loss terms. Defaults follow
pix2pix (Isola et al. 2017): Adam 2e-4 (0.5, 0.999), constant then linear decay to 0 over the second
half, D step then G step with D frozen. Exact resume: the data order is a function of (seed, epoch), and
checkpoints hold nets, optimizers, schedulers, step and RNG states; evaluation runs under a forked,
fixed-seed RNG so it never perturbs training.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset, default_collate
from torchvision.utils import save_image

from models.layers import requires_grad


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1000  # optimizer steps (pix2pix paper: 200 epochs at batch 1)
    batch_size: int = 1
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    decay_from: float = 0.5  # fraction of training after which the lr decays linearly to 0
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    amp: bool | None = None  # bf16 autocast; None = on for CUDA only
    channels_last: bool | None = None  # None = on for CUDA only
    fused_adam: bool = False  # fast path: one fused kernel per Adam step, same maths
    compile: bool = False  # fast path: torch.compile every net (in place); first steps pay compile time
    log_every: int = 10  # rows in losses.csv
    sample_every: int = 0  # sample grid every N steps (0 = only at the end)
    ckpt_every: int = 500
    eval_every: int = 0  # metrics every N steps (0 = only at the end)


class NonFiniteLoss(FloatingPointError):
    """A loss became NaN or inf; the run fails with the step and the term that diverged."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but CUDA is not available")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def batches(data: Dataset, batch_size: int, seed: int, start_step: int = 0) -> Iterator[dict]:
    """Endless shuffled batches (drop_last); epoch e uses randperm seeded by (seed, e), so resuming at
    `start_step` replays exactly the same order."""
    per_epoch = len(data) // batch_size
    if per_epoch == 0:
        raise ValueError(f"the training split has {len(data)} items, fewer than batch_size={batch_size}")
    epoch, offset = divmod(start_step, per_epoch)
    while True:
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
        for i in range(offset, per_epoch):
            yield default_collate([data[int(j)] for j in order[i * batch_size : (i + 1) * batch_size]])
        epoch, offset = epoch + 1, 0


def to_device(batch: dict, device: torch.device, channels_last: bool = False) -> dict:
    out = {}
    for k, v in batch.items():
        v = v.to(device, non_blocking=True)
        out[k] = v.contiguous(memory_format=torch.channels_last) if channels_last and v.ndim == 4 else v
    return out


def _optimizer(nets: list[nn.Module], cfg: TrainConfig, device: torch.device) -> torch.optim.Optimizer | None:
    params = [p for n in nets for p in n.parameters()]
    if not params:
        return None
    return torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas, fused=cfg.fused_adam or None)


def _scheduler(opt, cfg: TrainConfig):
    start = int(cfg.steps * cfg.decay_from)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 - max(0, s - start) / max(1, cfg.steps - start))


def _step(opt, losses: dict[str, Tensor], step: int, prefix: str, grad_norm: bool = True) -> dict[str, float]:
    """Sum named terms, check they are finite, backprop, (on logged steps) measure the gradient norm, step."""
    if opt is None or not losses:
        return {}
    values = {k: v.detach().float().item() for k, v in losses.items()}
    bad = [k for k, v in values.items() if not math.isfinite(v)]
    if bad:
        raise NonFiniteLoss(f"step {step}: loss {prefix}/{bad[0]} is {values[bad[0]]}")
    opt.zero_grad(set_to_none=True)
    sum(losses.values()).backward()
    if grad_norm:
        grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
        values["grad_norm"] = torch.nn.utils.get_total_norm(grads).item() if grads else 0.0
    opt.step()
    return values


def _atomic_save(obj, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _truncate_log(path: Path, last_step: int) -> None:
    """Drop rows logged after the checkpoint we resume from (they will be logged again)."""
    if not path.exists():
        return
    if path.suffix == ".csv":
        rows = list(csv.DictReader(path.open()))
        keep = [r for r in rows if int(r["step"]) <= last_step]
        _write_csv(path, keep, list(rows[0].keys()) if rows else [])
    else:
        lines = [ln for ln in path.read_text().splitlines() if ln and json.loads(ln)["step"] <= last_step]
        path.write_text("".join(ln + "\n" for ln in lines))


def _write_csv(path: Path, rows: list[dict], fields: list[str]) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fields)
        w.writeheader()
        w.writerows(rows)


class RunLog:
    """losses.csv (one row per logged step, columns fixed by the first row) and metrics.jsonl."""

    def __init__(self, run_dir: Path):
        self.dir, self.losses, self.metrics = run_dir, run_dir / "losses.csv", run_dir / "metrics.jsonl"
        self.fields: list[str] | None = None

    def scalars(self, step: int, values: dict[str, float]) -> None:
        row = {"step": step, **values}
        if self.fields is None:
            if self.losses.exists() and self.losses.stat().st_size:
                self.fields = next(csv.reader(self.losses.open()))
            else:
                self.fields = list(row)
                _write_csv(self.losses, [], self.fields)
        with self.losses.open("a", newline="") as f:
            csv.DictWriter(f, self.fields, extrasaction="ignore").writerow(row)

    def evaluation(self, step: int, split: str, values: dict[str, float]) -> None:
        with self.metrics.open("a") as f:
            f.write(json.dumps({"step": step, "split": split, **values}) + "\n")


@torch.no_grad()
def evaluate(translate: Callable[[dict], Tensor], data: Dataset, metrics: dict, device: torch.device,
             batch_size: int = 32, seed: int = 0) -> dict[str, float]:  # fmt: skip
    """Run `translate` over `data` and feed the accumulators in `metrics` ({name: (spec, acc)})."""
    for _, acc in metrics.values():
        acc.reset()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)  # dropout at test time (pix2pix) is reproducible and leaves training alone
        for start in range(0, len(data), batch_size):
            batch = to_device(default_collate([data[i] for i in range(start, min(start + batch_size, len(data)))]),
                              device)  # fmt: skip
            tensors = {
                "fake": translate(batch).float().clamp(-1, 1),
                "real": batch["b"],
                "label": batch.get("label"),
            }
            for spec, acc in metrics.values():
                acc.update(*[tensors[k] for k in spec.inputs])
    out: dict[str, float] = {}
    for _, acc in metrics.values():
        out |= acc.compute()
    return out


@torch.no_grad()
def _translate_first(recipe, data: Dataset, device: torch.device, n: int, seed: int) -> tuple[dict, Tensor]:
    """The first `n` items of `data` and their translations, under a forked, fixed-seed RNG."""
    batch = to_device(default_collate([data[i] for i in range(min(n, len(data)))]), device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        return batch, recipe.translate(batch).float().clamp(-1, 1)


def save_samples(recipe, data: Dataset, path: Path, device: torch.device, n: int = 8, seed: int = 0) -> None:
    """Grid of rows: input, target, output for the first `n` items (PNG)."""
    batch, fake = _translate_first(recipe, data, device, n, seed)
    rows = [batch[k] for k in ("a", "b") if k in batch] + [fake]
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(torch.cat(rows).add(1).div(2), path, nrow=fake.shape[0], padding=1)


@dataclass
class Engine:
    """Device, precision, optimizers and schedulers of one recipe; `step` is one D step then one G step."""

    cfg: TrainConfig
    device: torch.device
    amp: bool
    channels_last: bool
    opt_g: torch.optim.Optimizer | None
    opt_d: torch.optim.Optimizer | None
    scheds: dict

    @classmethod
    def build(cls, recipe, cfg: TrainConfig) -> Engine:
        device = resolve_device(cfg.device)
        amp = cfg.amp if cfg.amp is not None else device.type == "cuda"
        channels_last = cfg.channels_last if cfg.channels_last is not None else device.type == "cuda"
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        for net in recipe.nets.values():
            net.to(device, memory_format=fmt).train()
            if cfg.compile:
                net.compile()  # in place: state_dict keys unchanged
        opt_g = _optimizer([recipe.nets[n] for n in recipe.g_names], cfg, device)
        opt_d = _optimizer([recipe.nets[n] for n in recipe.d_names], cfg, device)
        scheds = {k: _scheduler(o, cfg) for k, o in (("g", opt_g), ("d", opt_d)) if o is not None}
        return cls(cfg, device, amp, channels_last, opt_g, opt_d, scheds)

    def step(self, recipe, batch: dict, step: int, grad_norm: bool = True) -> tuple[dict[str, float], dict[str, float]]:
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp)
        with autocast:
            out = recipe.forward(batch, progress=step / self.cfg.steps)
            d = _step(self.opt_d, recipe.d_losses(batch, out), step, "d", grad_norm)
        with requires_grad([recipe.nets[n] for n in recipe.d_names], False), autocast:
            g = _step(self.opt_g, recipe.g_losses(batch, out), step, "g", grad_norm)
        for s in self.scheds.values():
            s.step()
        return d, g


def save_test_outputs(recipe, data: Dataset, folder: Path, device: torch.device, n: int = 8, seed: int = 0) -> None:
    """Per-item PNGs of the first `n` test items: <index>_input.png, <index>_truth.png, <index>_output.png."""
    batch, fake = _translate_first(recipe, data, device, n, seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i, index in enumerate(batch["index"].tolist()):
        for name, images in (("input", batch.get("a")), ("truth", batch.get("b")), ("output", fake)):
            if images is not None:
                save_image(images[i].add(1).div(2), folder / f"{index:06d}_{name}.png")


def train(recipe, cfg: TrainConfig, data: Dataset, run_dir: Path, *, eval_data: Dataset | None = None,
          metrics: dict | None = None, progress: bool = True) -> dict:  # fmt: skip
    """Train `recipe` for cfg.steps (resuming from run_dir/checkpoint.pt), evaluate, return a summary."""
    # --- setup ---
    run_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    eng = Engine.build(recipe, cfg)
    device, opt_g, opt_d, scheds = eng.device, eng.opt_g, eng.opt_d, eng.scheds
    log, ckpt_path, start = RunLog(run_dir), run_dir / "checkpoint.pt", 0
    if ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location=device, weights_only=False)  # our own file: RNG states
        for k, net in recipe.nets.items():
            net.load_state_dict(ckpt["nets"][k])
        for k, o in (("g", opt_g), ("d", opt_d)):
            if o is not None:
                o.load_state_dict(ckpt["opt"][k])
                scheds[k].load_state_dict(ckpt["sched"][k])
        start = ckpt["step"]
        _set_rng_state(ckpt["rng"])
        _truncate_log(log.losses, start - 1)
        _truncate_log(log.metrics, start - 1)

    def checkpoint(step: int) -> None:
        state = {"nets": {k: n.state_dict() for k, n in recipe.nets.items()}, "step": step, "rng": _rng_state(),
                 "opt": {k: o.state_dict() for k, o in (("g", opt_g), ("d", opt_d)) if o is not None},
                 "sched": {k: s.state_dict() for k, s in scheds.items()}}  # fmt: skip
        _atomic_save(state, ckpt_path)

    def run_eval(step: int) -> dict:
        if eval_data is None or not metrics:
            return {}
        values = evaluate(recipe.translate, eval_data, metrics, device, seed=cfg.seed)
        log.evaluation(step, "test", values)
        return values

    # --- loop ---
    data_iter = batches(data, cfg.batch_size, cfg.seed, start)
    bar = _progress(start, cfg.steps, progress)
    t0, trained, values = time.perf_counter(), 0, {}
    for step in range(start, cfg.steps):
        batch = to_device(next(data_iter), device, eng.channels_last)
        logged = step % cfg.log_every == 0 or step == cfg.steps - 1
        d, g = eng.step(recipe, batch, step, grad_norm=logged)
        trained += cfg.batch_size
        # --- log ---
        if logged:
            row = {f"d/{k}": v for k, v in d.items()} | {f"g/{k}": v for k, v in g.items()}
            log.scalars(step, row | {"lr": next(iter(scheds.values())).get_last_lr()[0] if scheds else 0.0})
        bar.update(1)
        bar.set_postfix(img_s=f"{trained / (time.perf_counter() - t0):.1f}", refresh=False)
        # --- checkpoint / samples / eval ---
        done = step + 1
        if eval_data is not None and cfg.sample_every and done % cfg.sample_every == 0:
            save_samples(recipe, eval_data, run_dir / "samples" / f"step_{done:06d}.png", device, seed=cfg.seed)
        if cfg.eval_every and done % cfg.eval_every == 0 and done < cfg.steps:
            values = run_eval(done)
        if cfg.ckpt_every and done % cfg.ckpt_every == 0 and done < cfg.steps:
            checkpoint(done)
    bar.close()
    wall = time.perf_counter() - t0
    # --- end: checkpoint, samples, eval ---
    checkpoint(cfg.steps)
    if eval_data is not None:
        save_samples(recipe, eval_data, run_dir / "samples" / f"step_{cfg.steps:06d}.png", device, seed=cfg.seed)
        save_test_outputs(recipe, eval_data, run_dir / "samples" / "test", device, seed=cfg.seed)
        values = run_eval(cfg.steps)
    return {"device": str(device), "amp": eng.amp, "channels_last": eng.channels_last, "train_seconds": wall,
            "train_images_per_s": trained / wall if trained else float("nan"), "metrics": values}  # fmt: skip


def _progress(start: int, total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=start, disable=not enabled, unit="step", dynamic_ncols=True, leave=False)
