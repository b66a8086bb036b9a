"""Progressive GAN: the G_paper / D_paper networks, growing with fade-in, and the ProGAN recipe.

Karras et al. 2018, "Progressive Growing of GANs for Improved Quality, Stability, and Variation",
arXiv:1710.10196; official code github.com/tkarras/progressive_growing_of_gans (TensorFlow: networks.py G_paper,
D_paper; loss.py G_wgan_acgan, D_wgangp_acgan; train.py TrainingSchedule), implemented from its description:
- G: a 512-d latent (pixel-normalised), a dense 4x4 block and a 3x3 conv, then per level nearest x2 upsampling
  and two 3x3 convs, LeakyReLU 0.2 and pixel norm after every conv, a 1x1 toRGB per level. D mirrors it: a 1x1
  fromRGB per level, two 3x3 convs and 2x2 average pooling per level, the minibatch stddev (group 4) before
  the last block, a 3x3 conv and two dense layers. Feature maps min(fmap_base / 2^level, fmap_max) (8192,
  512). Equalised learning rate: weights N(0, 1), scaled at run time by gain / sqrt(fan_in) (He), gain
  sqrt(2) (sqrt(2)/4 for G's dense 4x4, 1 for toRGB and D's last dense). Parameter counts as the official
  networks (tested): 128 px G 22,933,394 / D 22,941,313; 32 px G 20,719,628 / D 20,726,785.
- Growing: from 4 px, each level stabilises for `stabilize_images`, then the next fades in over
  `transition_images` with alpha rising linearly 0 -> 1 (the official schedule: phase = stabilise then
  transition; its default 600k each, the paper 800k); G's output blends toRGB of the new level with the
  upsampled lower level, D's input real images are downscaled to the level and blended the same way, D
  blends its new fromRGB path with the lower one. Level and alpha come from Progress (images), the minibatch
  per level from `minibatch`.
- Loss: WGAN-GP (lambda 10, target 1) plus the drift term 0.001 E[D(x)^2]; Adam 1e-3 (0, 0.99), eps 1e-8,
  constant lr; G_ema with decay 0.999 for every sample and metric.
Deviations: the official TF code runs every level at the full resolution (upscaled, selected by lod); we run
each level at its own resolution, which is the same function. Each technique is a switch (growing, mbstd,
equalized_lr, pixelnorm), for Table 1's ablation; with growing off, training runs at the full resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from models.contract import DataFacts, Progress
from models.layers import requires_grad
from models.losses import gradient_penalty


@dataclass(frozen=True)
class ProGANConfig:
    latent: int = 512
    fmap_base: int = 8192  # feature maps of level l: min(fmap_base / 2^l, fmap_max)
    fmap_max: int = 512
    growing: bool = True  # progressive growing from 4 px (False: the full resolution from the start)
    mbstd: bool = True  # minibatch stddev layer before D's last block (group size 4)
    equalized_lr: bool = True  # run-time He scaling of N(0, 1) weights
    pixelnorm: bool = True  # pixelwise feature normalisation in G
    stabilize_images: int = 600_000  # per level (the official code; the paper: 800k)
    transition_images: int = 600_000  # fade-in of each new level
    minibatch: tuple[tuple[int, int], ...] = ((4, 128), (8, 128), (16, 128), (32, 64), (64, 32), (128, 16))
    lambda_gp: float = 10.0
    drift: float = 0.001  # epsilon_drift x E[D(real)^2]


def nf(stage: int, cfg: ProGANConfig) -> int:
    return min(int(cfg.fmap_base / 2.0**stage), cfg.fmap_max)


class EqConv(nn.Module):
    """Conv (or dense, kernel 0) whose N(0, 1) weights are scaled by gain / sqrt(fan_in) at run time when
    equalised; otherwise He-initialised and unscaled (the official use_wscale switch)."""

    def __init__(self, cin: int, cout: int, k: int, gain: float = math.sqrt(2), equalized: bool = True,
                 bias: bool = True):  # fmt: skip
        super().__init__()
        shape = (cout, cin) if k == 0 else (cout, cin, k, k)
        std = gain / math.sqrt(cin * max(k, 1) ** 2)
        self.weight = nn.Parameter(torch.randn(shape) * (1.0 if equalized else std))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.scale, self.k = std if equalized else 1.0, k

    def forward(self, x: Tensor) -> Tensor:
        w = self.weight * self.scale
        return F.linear(x, w, self.bias) if self.k == 0 else F.conv2d(x, w, self.bias, padding=self.k // 2)


def pixel_norm(x: Tensor, eps: float = 1e-8) -> Tensor:
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


def minibatch_stddev(x: Tensor, group: int = 4) -> Tensor:
    """The official layer: stddev over groups of `group` samples, averaged to one feature map, appended."""
    n, c, h, w = x.shape
    g = max(d for d in range(1, min(group, n) + 1) if n % d == 0)
    y = x.view(g, -1, c, h, w)
    y = (y - y.mean(0)).pow(2).mean(0).add(1e-8).sqrt().mean(dim=(1, 2, 3))  # (n / g,)
    return torch.cat([x, y.view(-1, 1, 1, 1).repeat(g, 1, h, w)], dim=1)


def lrelu(x: Tensor) -> Tensor:
    return F.leaky_relu(x, 0.2)


class Generator(nn.Module):
    def __init__(self, cfg: ProGANConfig, channels: int, resolution: int):
        super().__init__()
        self.cfg, self.levels, eq = cfg, int(math.log2(resolution)) - 1, cfg.equalized_lr  # level k -> 2^(k+1) px
        self.dense = EqConv(cfg.latent, nf(1, cfg) * 16, 0, gain=math.sqrt(2) / 4, equalized=eq, bias=False)
        self.dense_bias = nn.Parameter(torch.zeros(nf(1, cfg)))  # per channel of the 4x4 map, as the official
        self.blocks = nn.ModuleList([nn.ModuleList([EqConv(nf(1, cfg), nf(1, cfg), 3, equalized=eq)])])
        for res in range(3, self.levels + 2):
            cin, cout = nf(res - 2, cfg), nf(res - 1, cfg)
            self.blocks.append(nn.ModuleList([EqConv(cin, cout, 3, equalized=eq), EqConv(cout, cout, 3, equalized=eq)]))
        self.to_rgb = nn.ModuleList([EqConv(nf(res - 1, cfg), channels, 1, gain=1.0, equalized=eq)
                                     for res in range(2, self.levels + 2)])  # fmt: skip

    def _norm(self, x: Tensor) -> Tensor:
        return pixel_norm(x) if self.cfg.pixelnorm else x

    def forward(self, z: Tensor, level: int, alpha: float = 1.0) -> Tensor:
        """Images at 2^(level + 2) px (level 0: 4 px); alpha < 1 blends in level from the one below."""
        x = self.dense(self._norm(z)).view(z.shape[0], -1, 4, 4) + self.dense_bias.view(1, -1, 1, 1)
        x = self._norm(lrelu(x))
        x = self._norm(lrelu(self.blocks[0][0](x)))
        prev = x
        for k in range(1, level + 1):
            prev = x
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            for conv in self.blocks[k]:
                x = self._norm(lrelu(conv(x)))
        out = self.to_rgb[level](x)
        if alpha < 1 and level > 0:
            low = F.interpolate(self.to_rgb[level - 1](prev), scale_factor=2, mode="nearest")
            out = torch.lerp(low, out, alpha)
        return out


class Discriminator(nn.Module):
    def __init__(self, cfg: ProGANConfig, channels: int, resolution: int):
        super().__init__()
        self.cfg, self.levels, eq = cfg, int(math.log2(resolution)) - 1, cfg.equalized_lr
        self.from_rgb = nn.ModuleList([EqConv(channels, nf(res - 1, cfg), 1, equalized=eq)
                                       for res in range(2, self.levels + 2)])  # fmt: skip
        self.blocks = nn.ModuleList([nn.ModuleList()])  # level 0 is the head below
        for res in range(3, self.levels + 2):
            cin, cout = nf(res - 1, cfg), nf(res - 2, cfg)
            self.blocks.append(nn.ModuleList([EqConv(cin, cin, 3, equalized=eq), EqConv(cin, cout, 3, equalized=eq)]))
        c = nf(1, cfg) + (1 if cfg.mbstd else 0)
        self.head = nn.ModuleList([EqConv(c, nf(1, cfg), 3, equalized=eq),
                                   EqConv(nf(1, cfg) * 16, nf(0, cfg), 0, equalized=eq),
                                   EqConv(nf(0, cfg), 1, 0, gain=1.0, equalized=eq)])  # fmt: skip

    def forward(self, img: Tensor, level: int, alpha: float = 1.0) -> Tensor:
        x = lrelu(self.from_rgb[level](img))
        for k in range(level, 0, -1):
            for conv in self.blocks[k]:
                x = lrelu(conv(x))
            x = F.avg_pool2d(x, 2)
            if k == level and alpha < 1:
                x = torch.lerp(lrelu(self.from_rgb[level - 1](F.avg_pool2d(img, 2))), x, alpha)
        if self.cfg.mbstd:
            x = minibatch_stddev(x)
        x = lrelu(self.head[0](x))
        x = lrelu(self.head[1](x.flatten(1)))
        return self.head[2](x)


def schedule(cfg: ProGANConfig, images: int, levels: int) -> tuple[int, float]:
    """(level, alpha) after `images` training images: the official TrainingSchedule's lod, from 4 px."""
    if not cfg.growing:
        return levels - 1, 1.0
    phase = cfg.stabilize_images + cfg.transition_images
    k, into = divmod(images, phase)
    if k >= levels - 1:
        return levels - 1, 1.0
    if into < cfg.stabilize_images:
        return k, 1.0
    return k + 1, (into - cfg.stabilize_images) / cfg.transition_images


class ProGAN:
    """Unconditional: G(z) at the current level; D judges real images brought to the same level."""

    Config = ProGANConfig
    views = ("unconditional", "unconditional")
    metrics = ("swd", "ms_ssim_diversity")
    defaults = {"train.phases": ("d", "g"), "train.opt.g.lr": 1e-3, "train.opt.g.betas": (0.0, 0.99),
                "train.opt.d.lr": 1e-3, "train.opt.d.betas": (0.0, 0.99), "train.opt.g.eps": 1e-8,
                "train.opt.d.eps": 1e-8, "train.opt.g.schedule": "constant", "train.opt.d.schedule": "constant",
                "train.ema.decay": 0.999, "train.ema.half_life": 0}  # fmt: skip
    smoke = {"data.size": 32, "model.latent": 16, "model.fmap_base": 64, "model.fmap_max": 16,
             "model.stabilize_images": 4, "model.transition_images": 4,
             "model.minibatch": ((4, 2), (8, 2), (16, 2), (32, 2))}  # fmt: skip
    sample_rows = ("fake_b",)
    test_images = {"output": "fake_b"}
    modality = "image"

    def __init__(self, cfg: ProGANConfig, facts: DataFacts):
        size = facts.shape[-1] if facts.shape else facts.size
        if size < 4 or size & (size - 1) or (facts.shape and facts.shape[-1] != facts.shape[-2]):
            raise ValueError(f"Progressive GAN needs square images of a power-of-two size >= 4, got {facts.shape}")
        if facts.native and (facts.native[0] != facts.native[1] or min(facts.native) < size):
            h, w = facts.native
            raise ValueError(f"the data's images are {w}x{h} px: Progressive GAN needs square images of at least "
                             f"{size} px (data.size), or it would stretch or upsample them")  # fmt: skip
        self.cfg, self.levels = cfg, int(math.log2(size)) - 1
        self.nets: dict[str, nn.Module] = {"G": Generator(cfg, facts.channels_b, size),
                                           "D": Discriminator(cfg, facts.channels_b, size)}  # fmt: skip
        self.groups = {"g": ("G",), "d": ("D",)}
        self.ema = {"G_ema": "G"}
        self.frozen: dict[str, nn.Module] = {}

    def level(self, t: Progress) -> tuple[int, float]:
        return schedule(self.cfg, t.images, self.levels)

    def batch_size(self, t: Progress) -> int | None:
        res = 2 ** (self.level(t)[0] + 2)
        return dict(self.cfg.minibatch).get(res)

    def _reals(self, b: Tensor, level: int, alpha: float) -> Tensor:
        """Real images at the level's resolution, blended with the lower level during a fade-in."""
        x = F.adaptive_avg_pool2d(b, 2 ** (level + 2)) if b.shape[-1] != 2 ** (level + 2) else b
        if alpha < 1:
            x = torch.lerp(F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest"), x, alpha)
        return x

    def forward(self, batch: dict, t: Progress) -> dict[str, Tensor]:
        level, alpha = self.level(t)
        z = torch.randn(batch["b"].shape[0], self.cfg.latent, device=batch["b"].device)
        return {"fake_b": self.nets["G"](z, level, alpha), "real": self._reals(batch["b"], level, alpha),
                "level": torch.tensor(level), "alpha": torch.tensor(alpha)}  # fmt: skip

    def losses(self, group: str, batch: dict, out: dict, t: Progress) -> dict[str, Tensor]:
        D, level, alpha = self.nets["D"], int(out["level"]), float(out["alpha"])
        fake, real = out["fake_b"], out["real"]
        if group == "g":
            return {"wgan": -D(fake, level, alpha).mean()}
        fake = fake.detach()
        d_real, d_fake = D(real, level, alpha), D(fake, level, alpha)
        gp = gradient_penalty(lambda x: D(x, level, alpha), real, fake)  # official: lerp(reals, fakes, u)
        return {"wgan": d_fake.mean() - d_real.mean(), "gp": self.cfg.lambda_gp * gp,
                "drift": self.cfg.drift * d_real.pow(2).mean()}  # fmt: skip

    @torch.no_grad()
    def translate(self, batch: dict, t: Progress) -> dict[str, Tensor]:
        """Fixed latents (the evaluator seeds the RNG) through G (G_ema in evaluation) at the current level, with
        the real images brought to that level; below 16 px both are upsampled (nearest) to 16, SWD's and
        MS-SSIM's smallest size."""
        level, alpha = self.level(t)
        G = self.nets["G"]
        with requires_grad([G], False):
            fake = G(torch.randn(batch["b"].shape[0], self.cfg.latent, device=batch["b"].device), level, alpha)
        real = self._reals(batch["b"], level, alpha)
        if fake.shape[-1] < 16:
            fake, real = (F.interpolate(x, size=16, mode="nearest") for x in (fake, real))
        return {"fake_b": fake.float().clamp(-1, 1), "b": real.float().clamp(-1, 1)}

    def phase(self, t: Progress) -> str:
        """Where the growth stands: "8px" (stable) or "8px-fade"; the loop draws samples when it changes."""
        level, alpha = self.level(t)
        return f"{2 ** (level + 2)}px" + ("-fade" if alpha < 1 else "")

    def describe(self, t: Progress) -> dict:
        level, alpha = self.level(t)
        return {"resolution": 2 ** (level + 2), "fade_alpha": round(alpha, 4)}
