"""pix2pixHD: GlobalGenerator, LocalEnhancer, MultiscaleDiscriminator, and the Pix2PixHD recipe (labels -> photo).

Wang et al. 2018, "High-Resolution Image Synthesis and Semantic Manipulation with Conditional GANs",
arXiv:1711.11585; reference implementation github.com/NVIDIA/pix2pixHD (models/networks.py,
models/pix2pixHD_model.py, train.py). Layer for layer as the reference (parameter counts tested): the global
generator (7x7 stem, `n_downsampling` stride-2 3x3 convs, 9 residual blocks, transposed convs, instance norm
without affine parameters, reflection padding, tanh); the local enhancer (ngf / 2 branch on the full-size input
whose features are added to the global generator's last features, computed on the input average-pooled 3/2/1,
then 3 residual blocks and the output convs); the multiscale D (num_D 70x70 PatchGANs with padding 2 and
intermediate features, inputs average-pooled 3/2/1 between scales). The objective as pix2pixHD_model.py: LSGAN
summed over scales, feature matching L1 x 1/num_D x 4/(n_layers+1) x lambda_feat (10) over each scale's
intermediate features, VGG19 perceptual loss x lambda_feat as well (the reference has no separate weight;
`lambda_vgg` set to a number overrides it; models/perceptual.py, weights from a local file only), D loss
(fake + real) x 0.5, the G step before the D step on the same fake, Adam 2e-4 (0.5, 0.999). Init as the
reference's weights_init: conv weights N(0, 0.02), conv biases left at PyTorch's default (uniform).
Input: the one-hot label map plus the instance-boundary channel where the data has instance maps
(models/layers.py semantic_input); data without classes give their input image.
Staged training (`local`): the reference trains the global generator at half resolution first, then the local
enhancer around it at full resolution (--niter_fix_global epochs with the global frozen). Here one run does
both: the first `global_share` of the training images train the global generator on inputs and targets at half
size (nearest-resized maps, 2x2-averaged photos), the next `fix_global_share` the local enhancer alone, the rest
both; evaluation during the first stage upsamples the half-size output bilinearly. Not implemented: the
instance-wise feature encoder (--instance_feat / --label_feat) and the D's fake pool (the reference's default
pool_size is 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from metrics.weights import sha256
from models.contract import DataFacts, Progress
from models.layers import init_weights, receptive_field, requires_grad, semantic_channels, semantic_input
from models.losses import feature_matching, gan_loss
from models.perceptual import vgg_term, vgg_weight, vgg_weights


@dataclass(frozen=True)
class GlobalConfig:
    ngf: int = 64  # the global generator's width (netG global: ngf 64; netG local: the local ngf 32 x 2)
    n_downsampling: int = 4  # n_downsample_global
    n_blocks: int = 9  # n_blocks_global
    local: bool = False  # netG local: a LocalEnhancer (width ngf / 2) around the global generator
    n_blocks_local: int = 3
    global_share: float = 0.5  # local only: share of the training images for the global generator alone, half size
    fix_global_share: float = 0.0  # local only: then this share trains the local enhancer alone (niter_fix_global)


@dataclass(frozen=True)
class MultiscaleDConfig:
    num_d: int = 2  # scales
    n_layers: int = 3  # 70x70 PatchGAN at each scale
    ndf: int = 64


@dataclass(frozen=True)
class Pix2PixHDConfig:
    g: GlobalConfig = field(default_factory=GlobalConfig)
    d: MultiscaleDConfig = field(default_factory=MultiscaleDConfig)
    lambda_feat: float = 10.0  # feature matching (0 = no_ganFeat_loss)
    lambda_vgg: float | None = None  # VGG19 perceptual loss; None = lambda_feat (the reference), 0 = no_vgg_loss
    vgg_weights: str = ""  # local VGG19 weight file (--weights vgg19=PATH); never downloaded
    instance_edges: bool = True  # the instance-boundary channel, where the data has instance maps (no_instance)


def _in(c: int) -> nn.Module:
    return nn.InstanceNorm2d(c, affine=False)


class ResnetBlock(nn.Module):
    """The reference's ResnetBlock: reflect pad, 3x3 conv, norm, ReLU, reflect pad, 3x3 conv, norm; plus x."""

    def __init__(self, dim: int):
        super().__init__()
        self.conv_block = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), _in(dim), nn.ReLU(True),
                                        nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), _in(dim))  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv_block(x)


class GlobalGenerator(nn.Module):
    def __init__(self, in_ch: int, out_ch: int = 3, ngf: int = 64, n_downsampling: int = 4, n_blocks: int = 9):
        super().__init__()
        self.factor = 2**n_downsampling
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, ngf, 7), _in(ngf), nn.ReLU(True)]
        for i in range(n_downsampling):
            m = 2**i
            layers += [nn.Conv2d(ngf * m, ngf * m * 2, 3, 2, 1), _in(ngf * m * 2), nn.ReLU(True)]
        layers += [ResnetBlock(ngf * self.factor) for _ in range(n_blocks)]
        for i in range(n_downsampling):
            m = 2 ** (n_downsampling - i)
            layers += [nn.ConvTranspose2d(ngf * m, ngf * m // 2, 3, 2, 1, output_padding=1), _in(ngf * m // 2),
                       nn.ReLU(True)]  # fmt: skip
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_ch, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def _check(self, x: Tensor) -> None:
        if x.shape[-1] % self.factor or x.shape[-2] % self.factor:
            raise ValueError(f"input {tuple(x.shape[-2:])} must be divisible by 2^n_downsampling = {self.factor}")

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return self.model(x)

    def features(self, x: Tensor) -> Tensor:
        """The last features before the output convs (the LocalEnhancer drops the final pad, conv and tanh)."""
        self._check(x)
        return self.model[:-3](x)


def downsample(x: Tensor) -> Tensor:
    """The reference's nn.AvgPool2d(3, stride=2, padding=[1, 1], count_include_pad=False)."""
    return F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)


class LocalEnhancer(nn.Module):
    """The local branch of the reference's LocalEnhancer (n_local_enhancers 1): its global part is a separate
    GlobalGenerator net, so that staged training can train or freeze each."""

    def __init__(self, in_ch: int, out_ch: int = 3, ngf: int = 32, n_blocks: int = 3):
        super().__init__()
        self.model1_1 = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(in_ch, ngf, 7), _in(ngf), nn.ReLU(True),
                                      nn.Conv2d(ngf, ngf * 2, 3, 2, 1), _in(ngf * 2), nn.ReLU(True))  # fmt: skip
        self.model1_2 = nn.Sequential(*[ResnetBlock(ngf * 2) for _ in range(n_blocks)],
                                      nn.ConvTranspose2d(ngf * 2, ngf, 3, 2, 1, output_padding=1), _in(ngf),
                                      nn.ReLU(True), nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_ch, 7),
                                      nn.Tanh())  # fmt: skip

    def forward(self, x: Tensor, global_features: Tensor) -> Tensor:
        return self.model1_2(self.model1_1(x) + global_features)


class NLayerDiscriminator(nn.Module):
    """pix2pixHD's NLayerDiscriminator with getIntermFeat: kernel 4, padding 2, instance norm; every layer's
    output is returned (the last is the patch logits)."""

    def __init__(self, in_ch: int, ndf: int = 64, n_layers: int = 3):
        super().__init__()
        seq = [[nn.Conv2d(in_ch, ndf, 4, 2, 2), nn.LeakyReLU(0.2, True)]]
        nf = ndf
        for _ in range(1, n_layers):
            prev, nf = nf, min(nf * 2, 512)
            seq.append([nn.Conv2d(prev, nf, 4, 2, 2), _in(nf), nn.LeakyReLU(0.2, True)])
        prev, nf = nf, min(nf * 2, 512)
        seq.append([nn.Conv2d(prev, nf, 4, 1, 2), _in(nf), nn.LeakyReLU(0.2, True)])
        seq.append([nn.Conv2d(nf, 1, 4, 1, 2)])
        self.layers = nn.ModuleList(nn.Sequential(*s) for s in seq)

    def forward(self, x: Tensor) -> list[Tensor]:
        out = []
        for layer in self.layers:
            x = layer(x)
            out.append(x)
        return out


class MultiscaleDiscriminator(nn.Module):
    """num_D NLayerDiscriminators; scale 0 sees the full-size input, each next one the input pooled once more."""

    def __init__(self, in_ch: int, ndf: int = 64, n_layers: int = 3, num_d: int = 2, layer=NLayerDiscriminator):
        super().__init__()
        self.scales = nn.ModuleList(layer(in_ch, ndf, n_layers) for _ in range(num_d))

    def forward(self, x: Tensor) -> list[list[Tensor]]:
        out = []
        for i, d in enumerate(self.scales):
            out.append(d(x))
            if i < len(self.scales) - 1:
                x = downsample(x)
        return out


class Pix2PixHD:
    """G (GlobalGenerator) or G + L (LocalEnhancer) map the semantic input to a photo; D judges (input, photo)."""

    Config = Pix2PixHDConfig
    views = ("paired", "paired")
    metrics = ("fcn_score", "ssim", "l1", "hist_intersection", "swd")
    defaults = {"train.phases": ("g", "d"), "train.opt.g.lr": 2e-4, "train.opt.g.betas": (0.5, 0.999),
                "train.opt.d.lr": 2e-4, "train.opt.d.betas": (0.5, 0.999), "train.batch_size": 1}  # fmt: skip
    smoke = {"data.size": 32, "model.g.ngf": 4, "model.g.n_downsampling": 2, "model.g.n_blocks": 1,
             "model.g.n_blocks_local": 1, "model.d.ndf": 4, "model.lambda_vgg": 0.0}  # fmt: skip
    sample_rows = ("a", "b", "fake_b")
    test_images = {"input": "a", "truth": "b", "output": "fake_b"}
    modality = "image"

    weights = staticmethod(vgg_weights)  # local weight files this config reads

    def __init__(self, cfg: Pix2PixHDConfig, facts: DataFacts):
        self.cfg, self.n_classes = cfg, facts.n_classes
        self.edges, in_ch = semantic_channels(facts, cfg.instance_edges)
        g, out_ch = cfg.g, facts.channels_b
        init = lambda net: init_weights(net, zero_bias=False)  # noqa: E731 - weights_init: biases left at default
        self.nets: dict[str, nn.Module] = {
            "G": init(GlobalGenerator(in_ch, out_ch, g.ngf, g.n_downsampling, g.n_blocks))
        }
        if g.local:
            if g.ngf % 2:
                raise ValueError(f"the local enhancer is ngf / 2 wide: model.g.ngf must be even, got {g.ngf}")
            self.nets["L"] = init(LocalEnhancer(in_ch, out_ch, g.ngf // 2, g.n_blocks_local))
        self.nets["D"] = init(MultiscaleDiscriminator(in_ch + out_ch, cfg.d.ndf, cfg.d.n_layers, cfg.d.num_d))
        self.groups: dict[str, tuple[str, ...]] = {"g": tuple(n for n in ("G", "L") if n in self.nets), "d": ("D",)}
        self.ema: dict[str, str] = {}
        self.frozen: dict[str, nn.Module] = {}
        self.frozen |= vgg_term(vgg_weight(cfg), cfg.vgg_weights)
        self.vgg_sha256 = sha256(cfg.vgg_weights) if self.frozen else ""

    # --- stages ---
    def stage(self, t: Progress) -> str:
        """ "global" (half size, G alone), "local" (L alone, G frozen), or "joint"; "global" without a local net."""
        g = self.cfg.g
        if not g.local:
            return "global"
        if t.fraction < g.global_share:
            return "global-half"
        return "local" if t.fraction < g.global_share + g.fix_global_share else "joint"

    def trainable(self, t: Progress) -> set[str]:
        stage = self.stage(t)
        return {"G", "D"} if stage.startswith("global") else {"L", "D"} if stage == "local" else set(self.nets)

    def phase(self, t: Progress) -> str:
        return self.stage(t)

    def _generate(self, batch: dict, t: Progress) -> tuple[Tensor, Tensor]:
        """(semantic input, output) at the resolution of the current stage."""
        half = self.stage(t) == "global-half"
        x = semantic_input(batch, self.n_classes, self.edges, 0.5 if half else 1.0)
        if "L" not in self.nets or half:
            return x, self.nets["G"](x)
        return x, self.nets["L"](x, self.nets["G"].features(downsample(x)))

    def forward(self, batch: dict, t: Progress) -> dict[str, Tensor]:
        x, fake = self._generate(batch, t)
        real = batch["b"] if fake.shape[-1] == batch["b"].shape[-1] else F.avg_pool2d(batch["b"], 2)
        return {"fake_b": fake, "input": x, "real": real}

    def losses(self, group: str, batch: dict, out: dict, t: Progress) -> dict[str, Tensor]:
        x, fake, real, D, c = out["input"], out["fake_b"], out["real"], self.nets["D"], self.cfg
        pred_real = D(torch.cat([x, real], 1))
        if group == "d":
            pred_fake = D(torch.cat([x, fake.detach()], 1))
            return {"real": 0.5 * sum(gan_loss(p[-1], True, "lsgan") for p in pred_real),
                    "fake": 0.5 * sum(gan_loss(p[-1], False, "lsgan") for p in pred_fake)}  # fmt: skip
        pred_fake = D(torch.cat([x, fake], 1))
        terms = {"gan": sum(gan_loss(p[-1], True, "lsgan", for_d=False) for p in pred_fake)}
        if c.lambda_feat > 0:
            terms["feat"] = feature_matching(pred_fake, pred_real, c.lambda_feat / c.d.num_d * 4 / (c.d.n_layers + 1))
        if "vgg" in self.frozen:
            terms["vgg"] = vgg_weight(c) * self.frozen["vgg"](fake, real)
        return terms

    @torch.no_grad()
    def translate(self, batch: dict, t: Progress) -> dict[str, Tensor]:
        gens = [self.nets[n] for n in ("G", "L") if n in self.nets]
        with requires_grad(gens, False):  # instance norm: no running statistics, train and eval modes agree
            _, fake = self._generate(batch, t)
        size = batch["a"].shape[-2:] if "a" in batch else batch["label"].shape[-2:]
        if fake.shape[-2:] != size:  # the half-size stage: shown and scored at full size
            fake = F.interpolate(fake.float(), size=tuple(size), mode="bilinear", align_corners=False)
        return {"fake_b": fake.float().clamp(-1, 1)}

    def describe(self, t: Progress) -> dict:
        out = {"D_receptive_field": receptive_field(self.nets["D"].scales[0]), "stage": self.stage(t)}
        return out | ({"vgg19_sha256": self.vgg_sha256} if self.vgg_sha256 else {})
