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


class _Sigma(torch.autograd.Function):
    """sigma = u . (W v) from the power iteration's last W v (u, v constants, as torch.nn.utils.spectral_norm
    treats them); its gradient for W is torch's: the outer product (g u) v^T, as mv's backward computes it."""

    @staticmethod
    def forward(ctx, w_mat, u, v, wv):
        ctx.save_for_backward(u, v)
        return torch.dot(u, wv)

    @staticmethod
    def backward(ctx, g):
        u, v = ctx.saved_tensors
        return torch.outer(g * u, v), None, None, None


class SNConv2d(nn.Conv2d):
    """A conv under spectral norm as torch.nn.utils.spectral_norm computes it (Miyato et al. 2018; the hook SPADE's
    normalization.py applies): `weight_orig`, unit vectors `weight_u` / `weight_v` (buffers), one power iteration
    per training forward, v = normalize(W^T u) then u = normalize(W v), in place; sigma = u . W v; eval: no iteration.
    Same tensors and state_dict keys as torch's hook, and the same sigma bit for bit (the last W v of the iteration
    is reused instead of computed again). Deviation, for speed: conv(x, W / sigma) is computed as conv(x, W) / sigma
    (+ bias) where the conv's output is smaller than its weight (SPADE's wide convs at low resolution: 9.4 M weights
    on 4x4 maps), which drops several full passes over the weight per forward and backward; equal in exact
    arithmetic, float rounding aside. Build with `spectral_norm(conv)`."""

    eps = 1e-12

    @property
    def weight(self) -> torch.Tensor:  # W / sigma as of the current u, v (no iteration), as torch's `module.weight`
        w = self.weight_orig
        return w / torch.dot(self.weight_u, torch.mv(w.flatten(1), self.weight_v))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight_orig
        w_mat = w.flatten(1)
        if self.training:
            with torch.no_grad():
                v = nn.functional.normalize(torch.mv(w_mat.t(), self.weight_u), dim=0, eps=self.eps, out=self.weight_v)
                wv = torch.mv(w_mat, v)
                u = nn.functional.normalize(wv, dim=0, eps=self.eps, out=self.weight_u)
            sigma = _Sigma.apply(w_mat, u.clone(), v.clone(), wv)
        else:
            sigma = torch.dot(self.weight_u, torch.mv(w_mat, self.weight_v))
        out_numel = x.numel() // x.shape[1] * self.out_channels // (self.stride[0] * self.stride[1])
        if w.numel() <= out_numel:
            return self._conv_forward(x, w / sigma, self.bias)
        y = self._conv_forward(x, w, None) / sigma
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)


def spectral_norm(conv: nn.Conv2d) -> SNConv2d:
    """`conv` under spectral norm (SNConv2d), in place: its weight becomes `weight_orig`, and unit `weight_u`,
    `weight_v` are drawn from N(0, 1) in that order, as torch.nn.utils.spectral_norm draws them."""
    if type(conv) is not nn.Conv2d:
        raise TypeError(f"spectral_norm takes an nn.Conv2d, got {type(conv).__name__}")
    w = conv._parameters.pop("weight")
    with torch.no_grad():
        u = nn.functional.normalize(w.new_empty(w.shape[0]).normal_(0, 1), dim=0, eps=SNConv2d.eps)
        v = nn.functional.normalize(w.new_empty(w[0].numel()).normal_(0, 1), dim=0, eps=SNConv2d.eps)
    conv.__class__ = SNConv2d
    conv.register_parameter("weight_orig", w)
    conv.register_buffer("weight_u", u)
    conv.register_buffer("weight_v", v)
    return conv
