"""pix2pix: U-Net / encoder-decoder generator, PatchGAN / PixelGAN discriminator, and the Pix2Pix recipe.

Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial Networks", arXiv:1611.07004;
reference implementation github.com/junyanz/pytorch-CycleGAN-and-pix2pix (models/networks.py,
models/pix2pix_model.py). Layer for layer as the reference with ngf 64 and batch norm (parameter counts
are tested). Defaults as the paper: loss L1+cGAN (vanilla GAN), lambda_L1 100, D loss halved (the fake pair
first, as the reference), D step then G step (`python -m bench.parity` checks them against the reference).
`eval_mode` False (default, as the paper) keeps dropout on and uses batch statistics at test time, so outputs
are stochastic and depend on the test batch; True uses running statistics and no dropout. Running statistics
touched by test-time forward passes are restored afterwards.
Deviations: `kernel` other than 4 is an extension (padding (k-1)//2); `skips=False` is the paper's
encoder-decoder (no concatenations; the reference has no such switch). Variants of Hu, Wang and Wang's report
(no reference code; our reading of its text): `hierarchical` (HierarchicalUNet: a "global" U-Net on the input
2x2-average-pooled, a "local" U-Net at full size on the input concatenated with the bilinearly upsampled global
output, whose output is added to it as a residual; trained end to end by the pix2pix objective on the sum),
`kernel` 2 (stride-2 2x2 convs, no padding), and the D kind "stride16" (four stride-2 4x4 convs, then a 3x3
conv: one logit per 16 x 16 px, a 16 x 16 map at 256 px).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from models.contract import DataFacts, Progress
from models.layers import Norm, bn_state, init_weights, norm_layer, receptive_field, requires_grad, restore_buffers
from models.losses import GanKind, gan_loss, l1_loss


@dataclass(frozen=True)
class UNetConfig:
    num_downs: int = 8  # downsamplings; 8 for 256 px (1x1 bottleneck), 6 for 64 px
    ngf: int = 64  # filters in the outermost conv
    skips: bool = True  # False = the paper's encoder-decoder
    kernel: int = 4
    norm: Norm = "batch"
    dropout: bool = True  # 0.5 in the (num_downs - 5) middle up blocks
    hierarchical: bool = False  # HierarchicalUNet: global U-Net at half size + residual local U-Net


@dataclass(frozen=True)
class PatchDConfig:
    kind: Literal["patch", "pixel", "stride16"] = "patch"  # "pixel" = 1x1 PixelGAN; "stride16": size/16 map
    n_layers: int = 3  # receptive field: 1->16, 2->34, 3->70, 4->142, 5->286 px
    ndf: int = 64
    norm: Norm = "batch"


@dataclass(frozen=True)
class Pix2PixConfig:
    g: UNetConfig = field(default_factory=UNetConfig)
    d: PatchDConfig = field(default_factory=PatchDConfig)
    loss: Literal["l1", "gan", "cgan", "l1+gan", "l1+cgan"] = "l1+cgan"  # gan: D sees only the output
    gan: GanKind = "vanilla"
    lambda_l1: float = 100.0  # weight of the L1 term
    eval_mode: bool = False  # paper: dropout and batch statistics at test time too


class UNetBlock(nn.Module):
    """One level of the reference's UnetSkipConnectionBlock: down, submodule, up, optional skip concat."""

    def __init__(self, outer: int, inner: int, in_ch: int | None = None, sub: nn.Module | None = None,
                 *, outermost: bool = False, skips: bool = True, kernel: int = 4, norm: Norm = "batch",
                 dropout: bool = False):  # fmt: skip
        super().__init__()
        in_ch = outer if in_ch is None else in_ch
        bias = norm != "batch"  # convs followed by batch norm have no bias, as the reference
        pad, out_pad = (kernel - 1) // 2, kernel % 2
        down = nn.Conv2d(in_ch, inner, kernel, 2, pad, bias=bias)
        up_in = inner * 2 if (sub is not None and skips) else inner
        self.skip = skips and not outermost
        if outermost:
            up = nn.ConvTranspose2d(up_in, outer, kernel, 2, pad, output_padding=out_pad)
            layers = [down, sub, nn.ReLU(True), up, nn.Tanh()]
        elif sub is None:  # innermost: no norm after the down conv
            up = nn.ConvTranspose2d(up_in, outer, kernel, 2, pad, output_padding=out_pad, bias=bias)
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), up, norm_layer(norm, outer)]
        else:
            up = nn.ConvTranspose2d(up_in, outer, kernel, 2, pad, output_padding=out_pad, bias=bias)
            layers = [nn.LeakyReLU(0.2, True), down, norm_layer(norm, inner), sub, nn.ReLU(True), up,
                      norm_layer(norm, outer)] + ([nn.Dropout(0.5)] if dropout else [])  # fmt: skip
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x, self.model(x)], 1) if self.skip else self.model(x)


class UNetGenerator(nn.Module):
    def __init__(self, in_ch: int = 3, out_ch: int = 3, num_downs: int = 8, ngf: int = 64, skips: bool = True,
                 kernel: int = 4, norm: Norm = "batch", dropout: bool = True):  # fmt: skip
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"num_downs must be >= 5 (the reference's fixed outer levels), got {num_downs}")
        self.num_downs = num_downs
        kw = {"skips": skips, "kernel": kernel, "norm": norm}
        block = UNetBlock(ngf * 8, ngf * 8, **kw)  # innermost
        for _ in range(num_downs - 5):
            block = UNetBlock(ngf * 8, ngf * 8, sub=block, dropout=dropout, **kw)
        for mult in (4, 2, 1):
            block = UNetBlock(ngf * mult, ngf * mult * 2, sub=block, **kw)
        self.model = UNetBlock(out_ch, ngf, in_ch, sub=block, outermost=True, **kw)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] % 2**self.num_downs or x.shape[-2] % 2**self.num_downs:
            raise ValueError(f"input {tuple(x.shape[-2:])} must be divisible by 2^num_downs = {2**self.num_downs}")
        return self.model(x)


class HierarchicalUNet(nn.Module):
    """Hu, Wang and Wang's hierarchical generator: out = up(global(down(x))) + local([x, up(global(down(x)))])."""

    def __init__(self, in_ch: int = 3, out_ch: int = 3, num_downs: int = 8, ngf: int = 64, skips: bool = True,
                 kernel: int = 4, norm: Norm = "batch", dropout: bool = True):  # fmt: skip
        super().__init__()
        if num_downs < 6:
            raise ValueError(f"the hierarchical U-Net's global net has num_downs - 1 levels (>= 5): num_downs must be "
                             f">= 6, got {num_downs}")  # fmt: skip
        self.num_downs = num_downs
        self.global_net = UNetGenerator(in_ch, out_ch, num_downs - 1, ngf, skips, kernel, norm, dropout)
        self.local_net = UNetGenerator(in_ch + out_ch, out_ch, num_downs, ngf, skips, kernel, norm, dropout)

    def forward(self, x: Tensor) -> Tensor:
        coarse = F.interpolate(self.global_net(F.avg_pool2d(x, 2)), scale_factor=2, mode="bilinear",
                               align_corners=False)  # fmt: skip
        return coarse + self.local_net(torch.cat([x, coarse], 1))


class PatchDiscriminator(nn.Module):
    """PatchGAN (reference NLayerDiscriminator): logits per patch, no sigmoid."""

    def __init__(self, in_ch: int = 6, ndf: int = 64, n_layers: int = 3, norm: Norm = "batch"):
        super().__init__()
        bias = norm != "batch"
        layers = [nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1, bias=bias), norm_layer(norm, ndf * mult),
                       nn.LeakyReLU(0.2, True)]  # fmt: skip
        layers.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


class Stride16Discriminator(nn.Module):
    """A PatchGAN with one logit per 16 x 16 px: four stride-2 4x4 convs (C64-C128-C256-C512 at ndf 64), then
    a 3x3 conv to 1 channel (a 16 x 16 map at 256 px)."""

    def __init__(self, in_ch: int = 6, ndf: int = 64, norm: Norm = "batch"):
        super().__init__()
        bias = norm != "batch"
        layers = [nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for n in range(1, 4):
            layers += [nn.Conv2d(ndf * 2 ** (n - 1), ndf * 2**n, 4, 2, 1, bias=bias), norm_layer(norm, ndf * 2**n),
                       nn.LeakyReLU(0.2, True)]  # fmt: skip
        layers.append(nn.Conv2d(ndf * 8, 1, 3, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """1x1 PixelGAN (reference PixelDiscriminator): judges each pixel's colour only."""

    def __init__(self, in_ch: int = 6, ndf: int = 64, norm: Norm = "batch"):
        super().__init__()
        bias = norm != "batch"
        self.model = nn.Sequential(
            nn.Conv2d(in_ch, ndf, 1), nn.LeakyReLU(0.2, True), nn.Conv2d(ndf, ndf * 2, 1, bias=bias),
            norm_layer(norm, ndf * 2), nn.LeakyReLU(0.2, True), nn.Conv2d(ndf * 2, 1, 1, bias=bias),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


class Pix2Pix:
    """The pix2pix recipe: G(a) -> fake_b; D judges (a, b) pairs (cGAN) or b alone (GAN)."""

    Config = Pix2PixConfig
    views = ("paired", "paired")
    metrics = ("fcn_score", "ssim", "ms_ssim", "l1", "psnr", "hist_intersection", "swd", "ms_ssim_diversity")
    defaults = {"train.phases": ("d", "g"), "train.opt.g.lr": 2e-4, "train.opt.g.betas": (0.5, 0.999),
                "train.opt.d.lr": 2e-4, "train.opt.d.betas": (0.5, 0.999)}  # fmt: skip
    smoke = {"data.size": 32, "model.g.num_downs": 5, "model.g.ngf": 8, "model.d.ndf": 8}
    sample_rows = ("a", "b", "fake_b")
    test_images = {"input": "a", "truth": "b", "output": "fake_b"}
    modality = "image"

    def __init__(self, cfg: Pix2PixConfig, facts: DataFacts):
        self.cfg = cfg
        g, d = cfg.g, cfg.d
        in_ch, out_ch = facts.channels_a, facts.channels_b
        net = HierarchicalUNet if g.hierarchical else UNetGenerator
        G = net(in_ch, out_ch, g.num_downs, g.ngf, g.skips, g.kernel, g.norm, g.dropout)
        self.nets: dict[str, nn.Module] = {"G": init_weights(G)}
        self.groups: dict[str, tuple[str, ...]] = {"g": ("G",)}
        self.ema: dict[str, str] = {}
        self.frozen: dict[str, nn.Module] = {}
        if cfg.loss != "l1":
            d_in = out_ch + (in_ch if cfg.loss.endswith("cgan") else 0)
            D = PixelDiscriminator(d_in, d.ndf, d.norm) if d.kind == "pixel" else \
                Stride16Discriminator(d_in, d.ndf, d.norm) if d.kind == "stride16" else \
                PatchDiscriminator(d_in, d.ndf, d.n_layers, d.norm)  # fmt: skip
            self.nets["D"] = init_weights(D)
            self.groups["d"] = ("D",)

    def _judge(self, a: Tensor, b: Tensor) -> Tensor:
        return self.nets["D"](torch.cat([a, b], 1) if self.cfg.loss.endswith("cgan") else b)

    def forward(self, batch: dict, t: Progress) -> dict[str, Tensor]:
        return {"fake_b": self.nets["G"](batch["a"])}

    def losses(self, group: str, batch: dict, out: dict, t: Progress) -> dict[str, Tensor]:
        a, b, fake_b, kind = batch["a"], batch["b"], out["fake_b"], self.cfg.gan
        if group == "d":
            # D loss halved and the fake pair judged first, as the reference's backward_D (same batch statistics
            # either way; the order sets D's running statistics)
            return {"fake": 0.5 * gan_loss(self._judge(a, fake_b.detach()), False, kind),
                    "real": 0.5 * gan_loss(self._judge(a, b), True, kind)}  # fmt: skip
        losses = {}
        if "D" in self.nets:
            losses["gan"] = gan_loss(self._judge(a, fake_b), True, kind, for_d=False)
        if self.cfg.loss.startswith("l1"):
            losses["l1"] = self.cfg.lambda_l1 * l1_loss(fake_b, b)
        return losses

    @torch.no_grad()
    def translate(self, batch: dict, t: Progress) -> dict[str, Tensor]:
        G = self.nets["G"]
        was_training, saved = G.training, bn_state(G)
        G.train(not self.cfg.eval_mode)
        with requires_grad([G], False):
            fake = G(batch["a"])
        G.train(was_training)
        restore_buffers(G, saved)  # test-time batch statistics must not leak into training
        return {"fake_b": fake.float().clamp(-1, 1)}

    def describe(self, t: Progress) -> dict:
        return {"D_receptive_field": receptive_field(self.nets["D"])} if "D" in self.nets else {}
