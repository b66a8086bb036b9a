"""CycleGAN: ResnetGenerator, the image pool, and the CycleGAN recipe (unpaired A <-> B).

Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks",
arXiv:1703.10593; reference implementation github.com/junyanz/pytorch-CycleGAN-and-pix2pix
(models/networks.py ResnetGenerator, models/cycle_gan_model.py, util/image_pool.py). Layer for layer as the
reference (parameter counts tested): reflection padding, a 7x7 stem, two stride-2 convs, n residual blocks
at 4 x ngf, two transposed convs, instance norm without affine parameters (so convs keep their biases), tanh;
the 70x70 PatchGAN with instance norm (models/pix2pix.py). The objective as cycle_gan_model.py: LSGAN, cycle
L1 x lambda (10) each way, identity L1 x 0.5 x lambda (the reference's default; the paper used it for
paintings only, so studies say which), a pool of 50 past fakes per D with the 50% swap rule, the G step before
the D step, each D loss halved, Adam 2e-4 (0.5, 0.999), constant lr for half the run then linear to 0.
Naming: D_b judges domain B (the reference's D_A), D_a judges domain A (its D_B). Extensions for the loss
ablation of the paper's Table 4: the GAN and each cycle term can be switched off.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from models.contract import DataFacts, Progress
from models.layers import init_weights, requires_grad
from models.losses import gan_loss
from models.pix2pix import PatchDConfig, PatchDiscriminator


@dataclass(frozen=True)
class ResnetConfig:
    n_blocks: int = 9  # 9 for 256 px, 6 for 128 px (the reference's resnet_9blocks / resnet_6blocks)
    ngf: int = 64


@dataclass(frozen=True)
class CycleGANConfig:
    g: ResnetConfig = field(default_factory=ResnetConfig)
    d: PatchDConfig = field(default_factory=lambda: PatchDConfig(norm="instance"))
    lambda_a: float = 10.0  # cycle A -> B -> A
    lambda_b: float = 10.0  # cycle B -> A -> B
    lambda_identity: float = 0.5  # x lambda; 0 switches the identity terms off (the paper: paintings only)
    gan: bool = True  # the adversarial terms (False: "Cycle alone" of Table 4)
    cycle_forward: bool = True  # A -> B -> A
    cycle_backward: bool = True  # B -> A -> B
    pool_size: int = 50  # past fakes each D sees (0 = none)


class ResnetBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    def __init__(self, in_ch: int = 3, out_ch: int = 3, ngf: int = 64, n_blocks: int = 9):
        super().__init__()
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU(True)]
        for mult in (1, 2):  # two stride-2 downsamplings
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, 2, 1), nn.InstanceNorm2d(ngf * mult * 2), nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4) for _ in range(n_blocks)]
        for mult in (4, 2):
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, 2, 1, output_padding=1),
                       nn.InstanceNorm2d(ngf * mult // 2), nn.ReLU(True)]  # fmt: skip
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_ch, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f"input {tuple(x.shape[-2:])} must be divisible by 4 (two stride-2 levels)")
        return self.model(x)


class ImagePool:
    """The reference's util/image_pool.py: up to `size` past fakes; once full, each new fake is returned with
    probability 0.5, otherwise a random stored one is returned and replaced by it. Python's `random` drives
    it, as in the reference; its state and the pool are checkpointed, so resume is exact."""

    def __init__(self, size: int):
        self.size, self.images = size, []

    def query(self, images: Tensor) -> Tensor:
        """Fakes for D, detached from G's graph (the reference detaches them in backward_D_basic)."""
        if self.size == 0:
            return images.detach()
        out = []
        for image in images.detach():
            image = image[None]
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif random.uniform(0, 1) > 0.5:
                k = random.randint(0, self.size - 1)
                out.append(self.images[k].clone())
                self.images[k] = image
            else:
                out.append(image)
        return torch.cat(out)

    def state(self) -> Tensor:
        return torch.cat(self.images).cpu() if self.images else torch.zeros(0)

    def load(self, state: Tensor, device) -> None:
        self.images = [x[None].to(device) for x in state] if state.numel() else []


class CycleGAN:
    """G_ab: A -> B, G_ba: B -> A, D_b judges B, D_a judges A; trained on unpaired batches, scored on pairs."""

    Config = CycleGANConfig
    views = ("unpaired", "paired")
    metrics = ("fcn_score", "label_score", "ssim", "hist_intersection", "swd")
    defaults = {"train.phases": ("g", "d"), "train.opt.g.lr": 2e-4, "train.opt.g.betas": (0.5, 0.999),
                "train.opt.d.lr": 2e-4, "train.opt.d.betas": (0.5, 0.999), "train.batch_size": 1}  # fmt: skip
    smoke = {"data.size": 32, "model.g.n_blocks": 1, "model.g.ngf": 4, "model.d.ndf": 4, "model.pool_size": 3}
    sample_rows = ("a", "fake_b", "rec_a", "b", "fake_a", "rec_b")
    test_images = {"input": "a", "truth": "b", "output": "fake_b", "reconstruction": "rec_a", "output_a": "fake_a"}
    modality = "image"

    def __init__(self, cfg: CycleGANConfig, facts: DataFacts):
        self.cfg = cfg
        ca, cb, g = facts.channels_a, facts.channels_b, cfg.g
        if cfg.lambda_identity > 0 and ca != cb:
            raise ValueError(f"the identity loss maps B through G_ab, so A and B need the same channels; they have "
                             f"{ca} and {cb} (set model.lambda_identity=0)")  # fmt: skip
        G_ab, G_ba = ResnetGenerator(ca, cb, g.ngf, g.n_blocks), ResnetGenerator(cb, ca, g.ngf, g.n_blocks)
        self.nets: dict[str, nn.Module] = {"G_ab": init_weights(G_ab), "G_ba": init_weights(G_ba)}
        self.groups: dict[str, tuple[str, ...]] = {"g": ("G_ab", "G_ba")}
        if cfg.gan:
            self.nets["D_a"] = init_weights(PatchDiscriminator(ca, cfg.d.ndf, cfg.d.n_layers, cfg.d.norm))
            self.nets["D_b"] = init_weights(PatchDiscriminator(cb, cfg.d.ndf, cfg.d.n_layers, cfg.d.norm))
            self.groups["d"] = ("D_a", "D_b")
        self.ema: dict[str, str] = {}
        self.frozen: dict[str, nn.Module] = {}
        self.pools = {"a": ImagePool(cfg.pool_size), "b": ImagePool(cfg.pool_size)}

    def forward(self, batch: dict, t: Progress) -> dict[str, Tensor]:
        G_ab, G_ba = self.nets["G_ab"], self.nets["G_ba"]
        fake_b, fake_a = G_ab(batch["a"]), G_ba(batch["b"])
        return {"fake_b": fake_b, "fake_a": fake_a, "rec_a": G_ba(fake_b), "rec_b": G_ab(fake_a)}

    def losses(self, group: str, batch: dict, out: dict, t: Progress) -> dict[str, Tensor]:
        a, b, c = batch["a"], batch["b"], self.cfg
        if group == "d":  # the reference's backward_D_basic: (real + fake) x 0.5, fakes from the pools
            D_a, D_b = self.nets["D_a"], self.nets["D_b"]
            fake_b, fake_a = self.pools["b"].query(out["fake_b"]), self.pools["a"].query(out["fake_a"])
            return {"b_real": 0.5 * gan_loss(D_b(b), True, "lsgan"),
                    "b_fake": 0.5 * gan_loss(D_b(fake_b), False, "lsgan"),
                    "a_real": 0.5 * gan_loss(D_a(a), True, "lsgan"),
                    "a_fake": 0.5 * gan_loss(D_a(fake_a), False, "lsgan")}  # fmt: skip
        terms = {}
        if c.gan:
            terms["gan_b"] = gan_loss(self.nets["D_b"](out["fake_b"]), True, "lsgan", for_d=False)
            terms["gan_a"] = gan_loss(self.nets["D_a"](out["fake_a"]), True, "lsgan", for_d=False)
        if c.cycle_forward:
            terms["cycle_a"] = c.lambda_a * (out["rec_a"] - a).abs().mean()
        if c.cycle_backward:
            terms["cycle_b"] = c.lambda_b * (out["rec_b"] - b).abs().mean()
        if c.lambda_identity > 0:  # G_ab(b) should leave b alone (needs equal channel counts, as the reference)
            terms["idt_b"] = c.lambda_b * c.lambda_identity * (self.nets["G_ab"](b) - b).abs().mean()
            terms["idt_a"] = c.lambda_a * c.lambda_identity * (self.nets["G_ba"](a) - a).abs().mean()
        return terms

    @torch.no_grad()
    def translate(self, batch: dict, t: Progress) -> dict[str, Tensor]:
        gens = [self.nets["G_ab"], self.nets["G_ba"]]
        with requires_grad(gens, False):  # instance norm: no running statistics, train and eval modes agree
            if "b" in batch:
                out = self.forward(batch, t)
            else:  # an input alone (a drawing in the dashboard's Playground): the A -> B direction only
                fake_b = gens[0](batch["a"])
                out = {"fake_b": fake_b, "rec_a": gens[1](fake_b)}
        return {k: v.float().clamp(-1, 1) for k, v in out.items()}

    def state_dict(self) -> dict:
        return {k: p.state() for k, p in self.pools.items()}

    def load_state_dict(self, state: dict) -> None:
        device = next(self.nets["G_ab"].parameters()).device
        for k, p in self.pools.items():
            p.load(state.get(k, torch.zeros(0)), device)

    def describe(self, t: Progress) -> dict:
        from models.layers import receptive_field

        return {"D_receptive_field": receptive_field(self.nets["D_b"])} if "D_b" in self.nets else {}
