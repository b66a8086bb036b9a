"""GAN losses as free functions: vanilla (BCE with logits; Goodfellow et al. 2014), LSGAN (Mao et al. 2017),
hinge (Lim & Ye 2017; Miyato et al. 2018), WGAN (Arjovsky et al. 2017), plus gradient penalty
(Gulrajani et al. 2017) and multiscale feature matching (Wang et al. 2018, pix2pixHD; SPADE).

`gan_loss(logits, real, kind, for_d)` averages over every output (every patch for a PatchGAN). Hinge
differs between D (margins) and G (-mean(D(fake))), so it takes `for_d`; the others are symmetric.
One-sided label smoothing (Salimans et al. 2016, arXiv:1606.03498) is set by the training loop for the
whole D phase (`real_label_smoothing`, from train.tricks): D's real target becomes 1 - s for the vanilla
and LSGAN losses, so every recipe has it without passing it around.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

GanKind = Literal["vanilla", "lsgan", "hinge", "wgan"]
_SMOOTHING = contextvars.ContextVar("real_label_smoothing", default=0.0)


@contextmanager
def real_label_smoothing(s: float):
    """Within this block, D's real targets are 1 - s (one-sided label smoothing)."""
    token = _SMOOTHING.set(float(s))
    try:
        yield
    finally:
        _SMOOTHING.reset(token)


def gan_loss(logits: Tensor, real: bool, kind: GanKind = "vanilla", for_d: bool = True) -> Tensor:
    target = (1.0 - _SMOOTHING.get() if for_d else 1.0) if real else 0.0
    if kind == "vanilla":
        return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))
    if kind == "lsgan":
        return F.mse_loss(logits, torch.full_like(logits, target))
    if kind == "wgan":
        return -logits.mean() if real else logits.mean()
    if kind == "hinge":
        if not for_d:
            return -logits.mean()  # G: only "real" makes sense
        return F.relu(1 - logits).mean() if real else F.relu(1 + logits).mean()
    raise ValueError(f"GAN loss kind must be vanilla, lsgan, hinge or wgan, got {kind!r}")


def l1_loss(fake: Tensor, target: Tensor) -> Tensor:
    return F.l1_loss(fake, target)


def gradient_penalty(D, real: Tensor, fake: Tensor) -> Tensor:
    """WGAN-GP: E[(||grad D(x_hat)|| - 1)^2] on random interpolates (Eq. 3 of Gulrajani et al.), x_hat drawn as
    Progressive GAN's official code does: lerp(reals, fakes, u), u ~ U(0, 1) per sample, fakes in the reals' dtype
    (a bf16 fake from the fast path is mixed in float32). `D` maps a batch to logits (a closure for extra args)."""
    mix = torch.rand(real.shape[0], *([1] * (real.ndim - 1)), device=real.device)
    x_hat = torch.lerp(real, fake.to(real.dtype), mix).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1.0).pow(2).mean()


def feature_matching(fake: list[list[Tensor]], real: list[list[Tensor]], weight: float) -> Tensor:
    """pix2pixHD / SPADE feature matching: over the scales of a multiscale D and each scale's intermediate
    outputs (all but the last, the logits), weight x L1(fake features, detached real features), summed."""
    return sum(weight * F.l1_loss(f, r.detach()) for fs, rs in zip(fake, real) for f, r in zip(fs[:-1], rs[:-1]))
