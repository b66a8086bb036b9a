"""Shared network helpers: norm layers, pix2pix weight init, receptive fields, requires_grad toggling.

Init follows pix2pix (Isola et al. 2017, arXiv:1611.07004; github.com/junyanz/pytorch-CycleGAN-and-pix2pix
models/networks.py init_weights 'normal'): conv weights N(0, 0.02), biases 0, batch-norm weights
N(1, 0.02) and biases 0.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Literal

import torch
from torch import nn

Norm = Literal["batch", "instance", "none"]


def norm_layer(kind: Norm, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be 'batch', 'instance' or 'none', got {kind!r}")


def init_weights(net: nn.Module, std: float = 0.02, zero_bias: bool = True) -> nn.Module:
    """pix2pix's init; `zero_bias=False` leaves conv biases at PyTorch's default (pix2pixHD's weights_init)."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None and zero_bias:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return net


def receptive_field(net: nn.Module) -> int:
    """Receptive field (px) of a feed-forward conv stack, from its Conv2d/pool layers in module order."""
    rf, jump = 1, 1
    for m in net.modules():
        if isinstance(m, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
            k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
            s = m.stride if isinstance(m.stride, int) else m.stride[0]
            d = getattr(m, "dilation", 1)
            d = d if isinstance(d, int) else d[0]
            rf += (k - 1) * d * jump
            jump *= s
    return rf


@contextmanager
def requires_grad(nets: list[nn.Module], flag: bool):
    """Temporarily set requires_grad on every parameter of `nets` (restores the previous flags)."""
    params = [p for net in nets for p in net.parameters()]
    before = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(flag)
    try:
        yield
    finally:
        for p, b in zip(params, before):
            p.requires_grad_(b)


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def bn_state(net: nn.Module) -> list[torch.Tensor]:
    """Copies of all buffers (running statistics), to restore after a forward pass in training mode."""
    return [b.detach().clone() for b in net.buffers()]


def restore_buffers(net: nn.Module, saved: list[torch.Tensor]) -> None:
    for b, s in zip(net.buffers(), saved):
        b.copy_(s)


def one_hot(label: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Label map int64 (N, H, W) -> (N, n_classes, H, W) in the default float dtype; ignored pixels (255, any id
    >= n_classes) are all zeros, as pix2pixHD / SPADE's scatter_ of label ids (whose ignore id is a class of its
    own there)."""
    valid = (label >= 0) & (label < n_classes)
    out = torch.nn.functional.one_hot(torch.where(valid, label, 0), n_classes).permute(0, 3, 1, 2)
    return (out * valid[:, None]).to(torch.get_default_dtype())


def instance_edges(inst: torch.Tensor) -> torch.Tensor:
    """pix2pixHD / SPADE `get_edges`: 1 where a pixel's instance id differs from its right, left, lower or upper
    neighbour. Instance map int (N, H, W) -> float (N, 1, H, W)."""
    t = inst[:, None]
    edge = torch.zeros_like(t, dtype=torch.bool)
    dx, dy = t[..., :, 1:] != t[..., :, :-1], t[..., 1:, :] != t[..., :-1, :]
    edge[..., :, 1:] |= dx
    edge[..., :, :-1] |= dx
    edge[..., 1:, :] |= dy
    edge[..., :-1, :] |= dy
    return edge.to(torch.get_default_dtype())


def semantic_input(batch: dict, n_classes: int, edges: bool, scale: float = 1.0) -> torch.Tensor:
    """The semantic input of pix2pixHD and SPADE: the one-hot label map plus (with `edges`) the instance-boundary
    channel; data without label classes (sketches, aligned folders) give their input image `a` instead.
    `scale` < 1 resizes the maps nearest first (their loader at the lower resolution), the image bilinearly."""
    if not n_classes:
        a = batch["a"]
        return a if scale == 1 else torch.nn.functional.interpolate(a, scale_factor=scale, mode="bilinear",
                                                                    antialias=True)  # fmt: skip

    def resized(m: torch.Tensor) -> torch.Tensor:
        if scale == 1:
            return m
        return torch.nn.functional.interpolate(m[:, None].float(), scale_factor=scale, mode="nearest")[:, 0].long()

    parts = [one_hot(resized(batch["label"]), n_classes)]
    if edges:
        parts.append(instance_edges(resized(batch["instance"])))
    return torch.cat(parts, 1)


def semantic_channels(facts, instance_edges: bool) -> tuple[bool, int]:
    """(edges on?, input channels) of pix2pixHD / SPADE's semantic input for this data (see semantic_input)."""
    edges = bool(instance_edges and facts.instances and facts.n_classes > 0)
    return edges, facts.n_classes + edges if facts.n_classes else facts.channels_a
