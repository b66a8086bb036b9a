"""The one training loop for every recipe (contract v2, models/__init__.py Recipe).

Shape after StyleGAN2-ADA's training_loop.py (Karras et al. 2020): the loop owns data order, optimizer
groups and their schedules, phase order, EMA, AMP, checkpoints and logging, and never branches on the
model family; a recipe supplies nets and named loss terms; evaluation lives in studies/runner/evaluation.py
and is called at the points the config names. Length and every interval are counted in training
images, so a recipe may change its minibatch with progress. Defaults follow pix2pix (Isola et al.
2017): Adam 2e-4 (0.5, 0.999), constant then linear decay to 0 over the second half, D phase then G
phase with the other group frozen. Exact resume: the data order is a function of (seed, epoch), each batch's
augmentation of its position (so DataLoader workers change nothing), and checkpoints hold nets, EMA copies,
optimizers, progress, data position and RNG states.
"""

from __future__ import annotations

import copy
import math
import random
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from models import checkpoint as ckpt
from models.contract import Progress
from models.convtune import ConvAutotune
from models.distributed import average_gradients, average_values, shard, sync_batchnorm
from models.distributed import world as dist_world
from models.layers import requires_grad
from models.losses import real_label_smoothing
from models.runlog import RunLog
from models.stream import DataStream


@dataclass(frozen=True)
class OptConfig:
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    eps: float = 1e-8
    schedule: Literal["linear", "constant"] = "linear"  # linear: constant, then linearly to 0 from decay_from
    decay_from: float = 0.5  # fraction of the run's images after which the lr decays


@dataclass(frozen=True)
class OptGroups:
    g: OptConfig = field(default_factory=OptConfig)  # the generator side (G; CycleGAN both G; SPADE G + E)
    d: OptConfig = field(default_factory=OptConfig)  # the discriminator side


@dataclass(frozen=True)
class EMAConfig:
    decay: float = 0.999  # per iteration (Progressive GAN), used when half_life is 0
    half_life: int = 0  # images (StyleGAN2's ema_kimg x 1000); 0 = use decay
    rampup: float = 0.0  # half-life capped at images seen x rampup (StyleGAN2: 0.05); 0 = off


@dataclass(frozen=True)
class TricksConfig:
    """GAN stabilisation tricks (as the Beggs et al. report used them), for every recipe; off by default."""

    d_steps: int = 1  # D phases per G phase, each on a fresh batch (WGAN's n_critic; Arjovsky et al. 2017)
    instance_noise: float = 0.0  # std of Gaussian noise on D's inputs (Sonderby et al. 2017, arXiv:1610.04490)
    noise_anneal: Literal["linear", "none"] = "linear"  # linear: the std falls to 0 at the end of the run
    label_smoothing: float = 0.0  # one-sided: D's real target 1 - s (Salimans et al. 2016)
    d_lr_mult: float = 1.0  # D's learning rate x this (a larger D lr, as TTUR; Heusel et al. 2017)


@dataclass(frozen=True)
class TrainConfig:
    images: int = 1000  # length of the run in training images (pix2pix paper: 200 epochs x 2,975, batch 1)
    batch_size: int = 1  # unless the recipe sets one per progress
    opt: OptGroups = field(default_factory=OptGroups)
    phases: tuple[str, ...] = ("d", "g")  # groups per iteration; a repeated group gets a fresh batch
    ema: EMAConfig = field(default_factory=EMAConfig)  # for the nets a recipe names in `ema`
    tricks: TricksConfig = field(default_factory=TricksConfig)  # stabilisation switches, for any recipe
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    amp: bool | None = None  # bf16 autocast; None = on for CUDA only
    channels_last: bool | None = None  # None = on for CUDA only
    fused_adam: bool = False  # fast path: one fused kernel per Adam step, same maths
    compile: bool = False  # fast path: torch.compile every net (in place); first steps pay compile time
    conv_autotune: bool = False  # CPU: per conv shape the faster of oneDNN and torch's kernels (models/convtune.py)
    log_every: int = 10  # images between rows of losses.csv (the first and last iteration always log)
    sample_every: int = 0  # images between sample grids (0 = only at the end)
    ckpt_every: int = 500  # images between checkpoints (and always at the end)
    eval_every: int = 0  # images between evaluations (0 = only at the end)
    workers: int = 0  # DataLoader processes building batches ahead (0: in the training process); same results
    pin_memory: bool | None = None  # page-locked batches for fast host-to-GPU copies; None = on for CUDA only


class NonFiniteLoss(FloatingPointError):
    """A loss became NaN or inf; the run fails with the step and the term that diverged."""


class DeviceUnavailable(RuntimeError):
    """The configured device does not exist on this machine."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailable("--device cuda was asked for, but CUDA is not available here (use --device cpu)")
    if name not in ("cpu", "cuda"):
        raise DeviceUnavailable(f"device must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX); elsewhere autocast to bf16 is emulated."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # an older torch without the probes: assume the instructions are there
        return True


def to_device(batch: dict, device: torch.device, channels_last: bool = False) -> dict:
    out = {}
    for k, v in batch.items():
        v = v.to(device, non_blocking=True)
        out[k] = v.contiguous(memory_format=torch.channels_last) if channels_last and v.ndim == 4 else v
    return out


def lr_factor(cfg: OptConfig, t: Progress) -> float:
    """pix2pix's `linear` policy in images: 1 until decay_from of the run, then linearly to 0."""
    if cfg.schedule == "constant":
        return 1.0
    start = int(t.total * cfg.decay_from)
    return 1.0 - max(0, t.images - start) / max(1, t.total - start)


def trainable(recipe, t: Progress) -> set[str]:
    fn = getattr(recipe, "trainable", None)  # optional in the contract: default all nets
    return set(fn(t)) if fn else set(recipe.nets)


def batch_size(recipe, t: Progress, default: int) -> int:
    fn = getattr(recipe, "batch_size", None)  # optional: a recipe may set its minibatch per progress
    return (fn(t) if fn else None) or default


def batches_per_iteration(phases: tuple[str, ...], groups) -> int:
    """Fresh batches one iteration draws: a new one whenever a group repeats since the last batch."""
    n, seen = 0, None
    for g in (p for p in phases if p in groups):
        if seen is None or g in seen:
            n, seen = n + 1, set()
        seen.add(g)
    return n


def expand_phases(cfg: TrainConfig) -> tuple[str, ...]:
    """train.phases with every "d" phase repeated train.tricks.d_steps times."""
    return tuple(p for ph in cfg.phases for p in ([ph] * cfg.tricks.d_steps if ph == "d" else [ph]))


def crossed(before: int, after: int, every: int) -> bool:
    """Whether a multiple of `every` lies in (before, after]."""
    return every > 0 and after // every > before // every


@dataclass
class Engine:
    """Device, precision, optimizer groups and EMA copies of one recipe; `step` runs one iteration."""

    cfg: TrainConfig
    device: torch.device
    amp: bool
    channels_last: bool
    opts: dict[str, torch.optim.Optimizer]
    ema_nets: dict[str, nn.Module]
    noise: list[float] = field(default_factory=lambda: [0.0])  # instance-noise std of this iteration
    rank: int = 0  # torchrun: this process's rank and the world size (models/distributed.py)
    size: int = 1
    tuner: ConvAutotune | None = None  # train.conv_autotune on a CPU: held over each step, its choices kept

    @classmethod
    def build(cls, recipe, cfg: TrainConfig) -> Engine:
        device = resolve_device(cfg.device)
        amp = cfg.amp if cfg.amp is not None else device.type == "cuda"
        if amp and device.type == "cpu" and not native_bf16():
            warnings.warn("train.amp on a CPU without native bf16 (no AVX512-BF16 or AMX): autocast is emulated and "
                          "a step is 7-16x slower than fp32 here (python -m bench.parity --speed); the fastest CPU "
                          "path is train.amp=False with train.fused_adam=True", stacklevel=2)  # fmt: skip
        channels_last = cfg.channels_last if cfg.channels_last is not None else device.type == "cuda"
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        rank, size = dist_world()
        if size > 1:
            sync_batchnorm(recipe.nets)
        grouped = [n for names in recipe.groups.values() for n in names]
        orphans = sorted(set(recipe.nets) - set(grouped))
        if orphans or len(grouped) != len(set(grouped)):
            raise ValueError(f"every net must be in exactly one optimizer group; nets {sorted(recipe.nets)}, "
                             f"groups {recipe.groups}")  # fmt: skip
        for net in recipe.nets.values():
            net.to(device, memory_format=fmt).train()
        for net in getattr(recipe, "frozen", {}).values():
            net.to(device, memory_format=fmt).eval().requires_grad_(False)
        ema_nets = {k: copy.deepcopy(recipe.nets[src]).requires_grad_(False) for k, src in recipe.ema.items()}
        if cfg.compile:
            for net in recipe.nets.values():
                net.compile()  # in place: state_dict keys unchanged
        opts = {}
        for group, names in recipe.groups.items():
            oc = getattr(cfg.opt, group, None)
            if oc is None:
                raise ValueError(f"optimizer group {group!r} has no settings in train.opt (groups: g, d)")
            params = [p for n in names for p in recipe.nets[n].parameters()]
            if params:
                opts[group] = torch.optim.Adam(params, lr=oc.lr, betas=oc.betas, eps=oc.eps,
                                               fused=cfg.fused_adam or None)  # fmt: skip
        tuner = ConvAutotune() if cfg.conv_autotune and device.type == "cpu" else None
        eng = cls(cfg, device, amp, channels_last, opts, ema_nets, rank=rank, size=size, tuner=tuner)
        if cfg.tricks.instance_noise > 0:
            for name in recipe.groups.get("d", ()):
                recipe.nets[name].register_forward_pre_hook(eng._add_noise)
        return eng

    def _add_noise(self, module: nn.Module, args: tuple):
        """Instance noise on the first input of every D net, in training only."""
        if module.training and self.noise[0] > 0 and args and torch.is_tensor(args[0]):
            return (args[0] + self.noise[0] * torch.randn_like(args[0]), *args[1:])
        return None

    @property
    def phases(self) -> tuple[str, ...]:
        return expand_phases(self.cfg)

    def lr(self, group: str, t: Progress) -> float:
        oc = getattr(self.cfg.opt, group)
        return oc.lr * lr_factor(oc, t) * (self.cfg.tricks.d_lr_mult if group == "d" else 1.0)

    def _optimize(self, group: str, losses: dict[str, Tensor], t: Progress, grad_norm: bool) -> dict[str, float]:
        """Sum named terms, check they are finite, backprop, (on logged steps) measure the gradient norm, step."""
        values = {k: v.detach().float().item() for k, v in losses.items()}
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            raise NonFiniteLoss(f"step {t.step}: loss {group}/{bad[0]} is {values[bad[0]]}")
        opt = self.opts[group]
        opt.zero_grad(set_to_none=True)
        sum(losses.values()).backward()
        if self.size > 1:  # data parallel: the mean gradient of the ranks' slices = the full batch's
            average_gradients(p for g in opt.param_groups for p in g["params"])
            values = average_values(values)
        if grad_norm:
            grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
            values["grad_norm"] = torch.nn.utils.get_total_norm(grads).item() if grads else 0.0
        for pg in opt.param_groups:
            pg["lr"] = self.lr(group, t)
        opt.step()
        return values

    def step(self, recipe, next_batch: Callable[[int], dict], t: Progress, grad_norm: bool = True) -> dict[str, float]:
        """One iteration: the phases of train.phases in order; returns the mean of each logged term."""
        bs = batch_size(recipe, t, self.cfg.batch_size)
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp)
        idle = [net for n, net in recipe.nets.items() if n not in trainable(recipe, t)]
        values: dict[str, list[float]] = {}
        batch, out, seen = None, None, set()
        tricks = self.cfg.tricks
        self.noise[0] = tricks.instance_noise * ((1 - t.fraction) if tricks.noise_anneal == "linear" else 1.0)
        with (requires_grad(idle, False), real_label_smoothing(tricks.label_smoothing),
              self.tuner if self.tuner is not None else nullcontext()):  # fmt: skip
            for group in (p for p in self.phases if p in self.opts):
                if batch is None or group in seen:
                    batch, seen = shard(next_batch(bs), self.rank, self.size), set()
                    with autocast:
                        out = recipe.forward(batch, t)
                seen.add(group)
                others = [recipe.nets[n] for g, names in recipe.groups.items() if g != group for n in names]
                with requires_grad(others, False):
                    with autocast:
                        losses = recipe.losses(group, batch, out, t)
                    for k, v in self._optimize(group, losses, t, grad_norm).items():
                        values.setdefault(f"{group}/{k}", []).append(v)
        self._update_ema(recipe, t, bs * batches_per_iteration(self.phases, self.opts))
        return {k: sum(v) / len(v) for k, v in values.items()}

    @torch.no_grad()
    def _update_ema(self, recipe, t: Progress, images: int) -> None:
        if not self.ema_nets:
            return
        e = self.cfg.ema
        beta = e.decay
        if e.half_life:
            half_life = min(e.half_life, (t.images + images) * e.rampup) if e.rampup else e.half_life
            beta = 0.5 ** (images / max(half_life, 1e-8))
        for name, avg in self.ema_nets.items():
            src = recipe.nets[recipe.ema[name]]
            for p_avg, p in zip(avg.parameters(), src.parameters()):
                p_avg.copy_(p.detach().lerp(p_avg, beta))
            for b_avg, b in zip(avg.buffers(), src.buffers()):
                b_avg.copy_(b)

    @contextmanager
    def averaged(self, recipe) -> Iterator[None]:
        """Evaluation sees the EMA copies in place of the nets they average (G_ema for G)."""
        saved = {src: recipe.nets[src] for src in recipe.ema.values()}
        try:
            for name, avg in self.ema_nets.items():
                recipe.nets[recipe.ema[name]] = avg
            yield
        finally:
            recipe.nets.update(saved)

    def state_dict(self, recipe, t: Progress, stream: DataStream) -> dict:
        state_fn = getattr(recipe, "state_dict", None)
        return {"nets": {k: n.state_dict() for k, n in recipe.nets.items()},
                "ema": {k: n.state_dict() for k, n in self.ema_nets.items()},
                "opt": {k: o.state_dict() for k, o in self.opts.items()},
                "progress": {"step": t.step, "images": t.images}, "data": stream.state_dict(),
                "rng": ckpt.rng_state(), "recipe": state_fn() if state_fn else {}}  # fmt: skip

    def load_state_dict(self, recipe, state: dict, stream: DataStream, path: Path) -> Progress:
        ckpt.load_nets(recipe.nets, state["nets"], path)
        ckpt.load_nets(self.ema_nets, state["ema"], path, "EMA nets")
        for k, o in self.opts.items():
            o.load_state_dict(state["opt"][k])
        stream.load_state_dict(state["data"])
        ckpt.set_rng_state(state["rng"])
        if getattr(recipe, "load_state_dict", None):
            recipe.load_state_dict(state["recipe"])
        return Progress(int(state["progress"]["step"]), int(state["progress"]["images"]), self.cfg.images)


def train(recipe, cfg: TrainConfig, data: Dataset, run_dir: Path, *, evaluator=None, progress: bool = True,
          desc: str = "") -> dict:  # fmt: skip
    """Train `recipe` for cfg.images (resuming from run_dir/checkpoint.pt), evaluate, return a summary.

    `evaluator` (studies/runner/evaluation.py Evaluator) draws sample grids and scores the run at the points
    train.sample_every / eval_every name, and at the end; its rows go to metrics.jsonl."""
    # --- setup ---
    run_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    eng = Engine.build(recipe, cfg)
    main = eng.rank == 0  # torchrun: rank 0 alone writes logs, checkpoints, samples and metrics
    evaluator = evaluator if main else None
    pin = cfg.pin_memory if cfg.pin_memory is not None else eng.device.type == "cuda"
    log, stream, path = (
        RunLog(run_dir, write=main),
        DataStream(data, cfg.seed, cfg.workers, pin),
        run_dir / "checkpoint.pt",
    )
    t = Progress(0, 0, cfg.images)
    if path.exists():
        t = eng.load_state_dict(recipe, ckpt.load(path, eng.device), stream, path)
        log.truncate(t.step)
    per_iter = batches_per_iteration(eng.phases, eng.opts)

    def next_batch(bs: int) -> dict:
        return to_device(stream.next(bs), eng.device, eng.channels_last)

    def evaluate(at: Progress, final: bool = False) -> dict:
        if evaluator is None:
            return {}
        with eng.averaged(recipe):
            values = evaluator.evaluate(recipe, at, run_dir, final=final)
        log.evaluation(at, values, evaluator.protocols)
        return values

    phase_fn = getattr(recipe, "phase", None)  # optional: a sample grid whenever the training phase changes

    # --- loop ---
    bar = _progress(t.images, cfg.images, progress, desc)
    t0, trained, values = time.perf_counter(), 0, {}
    while t.images < cfg.images:
        images = batch_size(recipe, t, cfg.batch_size) * per_iter
        done = Progress(t.step + 1, t.images + images, cfg.images)
        logged = t.step == 0 or done.images >= cfg.images or crossed(t.images - 1, done.images - 1, cfg.log_every)
        row = eng.step(recipe, next_batch, t, grad_norm=logged)
        trained += images
        # --- log ---
        if logged:
            lrs = {f"lr/{g}": eng.lr(g, t) for g in eng.opts}
            phases = {f"phase/{k}": v for k, v in getattr(recipe, "describe", dict)(t).items()
                      if isinstance(v, int | float)} if phase_fn is not None else {}  # fmt: skip
            log.scalars(t, row | lrs | phases)
        bar.update(images)
        # --- eval / samples / checkpoint (the end has its own, below) ---
        if done.images < cfg.images:
            if crossed(t.images, done.images, cfg.eval_every):
                values = evaluate(done)
            if evaluator is not None and crossed(t.images, done.images, cfg.sample_every):
                with eng.averaged(recipe):
                    evaluator.samples(recipe, done, run_dir / "samples" / f"step_{done.step:06d}.png")
            if evaluator is not None and phase_fn is not None and phase_fn(done) != phase_fn(t):  # end of a phase
                with eng.averaged(recipe):
                    evaluator.samples(recipe, t, run_dir / "samples" / f"step_{t.step:06d}_{phase_fn(t)}.png")
            if main and crossed(t.images, done.images, cfg.ckpt_every):
                ckpt.save(eng.state_dict(recipe, done, stream), path)
        t = done
    bar.close()
    stream.close()
    wall = time.perf_counter() - t0
    # --- end: checkpoint, then samples, test images and metrics from one evaluation pass ---
    if main:
        ckpt.save(eng.state_dict(recipe, t, stream), path)
    values = evaluate(t, final=True)
    params = {f"params/{k}": sum(p.numel() for p in n.parameters()) for k, n in recipe.nets.items()}
    cost = {"params_m": sum(params.values()) / 1e6} | ({"train_images_per_s": trained / wall} if trained else {})
    log.evaluation(t, log.stability() | cost, {}, split="train")  # gradient-norm spikes and spread; what a run costs
    describe = getattr(recipe, "describe", None)
    return {"device": str(eng.device), "amp": eng.amp, "channels_last": eng.channels_last, "train_seconds": wall,
            "train_images_per_s": trained / wall if trained else float("nan"), "metrics": values, **params,
            "steps": t.step, "images": t.images, "protocols": evaluator.protocols if evaluator else {},
            "weights_sha256": evaluator.weights_sha256 if evaluator else {},
            **(describe(t) if describe else {})}  # fmt: skip


def _progress(start: int, total: int, enabled: bool, desc: str):
    """A progress bar; where stderr is not a terminal (CI logs, SLURM files), one line per 4% of the run."""
    from tqdm.auto import tqdm

    log = {} if sys.stderr.isatty() else {"miniters": max(1, (total - start) // 25), "mininterval": 0}
    return tqdm(total=total, initial=start, disable=not enabled, unit="img", unit_scale=False, dynamic_ncols=True,
                leave=False, desc=desc or None, **log)  # fmt: skip
