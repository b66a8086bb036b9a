"""Small GANs anyone can train in a minute: a fully connected GAN and DCGAN, one recipe (`toy`).

FC-GAN as the Beggs, Khadem, Lund, Thompson report describes it: G two hidden layers of 128 with LeakyReLU
(0.2) and a tanh output, D two hidden layers of 256 with LeakyReLU and one logit (BCE with logits), on
flattened items (a point, a cloud of points, an image). DCGAN after Radford et al. 2016 (arXiv:1511.06434)
exactly as the PyTorch examples' dcgan/main.py: G strided transposed convs with batch norm and ReLU, tanh;
D strided convs with LeakyReLU (batch norm from the second), no biases, N(0, 0.02) init (batch norm
N(1, 0.02)); at 64 px, nz 100, ngf = ndf = 64, 3 channels: G 3,576,704 and D 2,765,568 parameters. Other
power-of-two sizes add or drop a stride-2 level. Adam 2e-4 (0.5, 0.999), constant lr, D phase then G.
Deviation: D ends in a logit (BCEWithLogitsLoss) instead of the example's Sigmoid + BCELoss (the same loss,
numerically safer). The stability tricks the report used (more D steps, instance noise, one-sided label
smoothing, a larger D lr) are loop switches for every recipe (train.tricks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from models.contract import DataFacts, Progress
from models.layers import init_weights, requires_grad
from models.losses import gan_loss


@dataclass(frozen=True)
class ToyConfig:
    arch: Literal["fc", "dcgan"] = "fc"
    nz: int = 16  # latent size (the DCGAN examples use 100)
    hidden_g: int = 128  # FC-GAN widths
    hidden_d: int = 256
    ngf: int = 64  # DCGAN widths
    ndf: int = 64


class FCGenerator(nn.Module):
    def __init__(self, nz: int, shape: tuple[int, ...], hidden: int = 128):
        super().__init__()
        self.shape = shape
        self.net = nn.Sequential(nn.Linear(nz, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, math.prod(shape)), nn.Tanh())  # fmt: skip

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(z.shape[0], *self.shape)


class FCDiscriminator(nn.Module):
    def __init__(self, shape: tuple[int, ...], hidden: int = 256):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(shape), hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def _levels(size: int) -> int:
    if size < 8 or size & (size - 1):
        raise ValueError(f"DCGAN needs a power-of-two image size >= 8, got {size}")
    return int(math.log2(size)) - 3  # stride-2 levels between the 4x4 block and the output


class DCGANGenerator(nn.Module):
    """PyTorch examples' netG: z (N, nz, 1, 1) -> 4x4 -> ... -> (N, nc, size, size)."""

    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3, size: int = 64):
        super().__init__()
        n = _levels(size)
        mult = 2**n
        layers = [nn.ConvTranspose2d(nz, ngf * mult, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * mult), nn.ReLU(True)]
        for _ in range(n):
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ngf * mult // 2), nn.ReLU(True)]  # fmt: skip
            mult //= 2
        layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))


class DCGANDiscriminator(nn.Module):
    """PyTorch examples' netD without the final Sigmoid: (N, nc, size, size) -> (N, 1) logits."""

    def __init__(self, ndf: int = 64, nc: int = 3, size: int = 64):
        super().__init__()
        n = _levels(size)
        layers, mult = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)], 1
        for _ in range(n):
            layers += [nn.Conv2d(ndf * mult, ndf * mult * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * mult * 2),
                       nn.LeakyReLU(0.2, True)]  # fmt: skip
            mult *= 2
        layers.append(nn.Conv2d(ndf * mult, 1, 4, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).flatten(1)


class ToyGAN:
    """An unconditional GAN on points, clouds of points, surface grids or images: G(z) -> fake_b."""

    Config = ToyConfig
    views = ("unconditional", "unconditional")
    metrics = ("surface_fit", "energy_distance")
    defaults = {"train.phases": ("d", "g"), "train.opt.g.lr": 2e-4, "train.opt.d.lr": 2e-4,
                "train.opt.g.schedule": "constant", "train.opt.d.schedule": "constant",
                "data.name": "gaussian_surfaces", "eval.batch_size": 64}  # fmt: skip
    smoke = {"data.surfaces.format": "clouds", "data.surfaces.grid": 8, "model.hidden_g": 16, "model.hidden_d": 16}
    sample_rows = ("b", "fake_b")
    modality = "surface"  # the default data's; set per instance from DataFacts (images for photos)
    test_images: dict[str, str] = {}

    def __init__(self, cfg: ToyConfig, facts: DataFacts):
        self.cfg, self.shape = cfg, facts.shape
        self.modality = facts.modality
        if cfg.arch == "dcgan":
            if len(facts.shape) != 3:
                raise ValueError(f"the DCGAN needs image-shaped items (C, H, W), got {facts.shape}: use the grids "
                                 "format (data.surfaces.format=grids) or images")  # fmt: skip
            c, size = facts.shape[0], facts.shape[-1]
            G, D = DCGANGenerator(cfg.nz, cfg.ngf, c, size), DCGANDiscriminator(cfg.ndf, c, size)
            G, D = init_weights(G), init_weights(D)
        else:
            G, D = FCGenerator(cfg.nz, facts.shape, cfg.hidden_g), FCDiscriminator(facts.shape, cfg.hidden_d)
        self.nets: dict[str, nn.Module] = {"G": G, "D": D}
        self.groups = {"g": ("G",), "d": ("D",)}
        self.ema: dict[str, str] = {}
        self.frozen: dict[str, nn.Module] = {}

    def _z(self, n: int, device) -> Tensor:
        return torch.randn(n, self.cfg.nz, device=device)

    def forward(self, batch: dict, t: Progress) -> dict[str, Tensor]:
        return {"fake_b": self.nets["G"](self._z(batch["b"].shape[0], batch["b"].device))}

    def losses(self, group: str, batch: dict, out: dict, t: Progress) -> dict[str, Tensor]:
        D = self.nets["D"]
        if group == "d":
            return {"real": gan_loss(D(batch["b"]), True), "fake": gan_loss(D(out["fake_b"].detach()), False)}
        return {"gan": gan_loss(D(out["fake_b"]), True, for_d=False)}

    @torch.no_grad()
    def translate(self, batch: dict, t: Progress) -> dict[str, Tensor]:
        G = self.nets["G"]
        was = G.training
        G.eval()
        with requires_grad([G], False):
            fake = G(self._z(batch["b"].shape[0], batch["b"].device))  # the evaluator seeds the RNG: fixed latents
        G.train(was)
        return {"fake_b": fake.float().clamp(-1, 1)}
