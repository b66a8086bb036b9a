"""SPADE (GauGAN): SPADE normalisation, SPADEResnetBlock, SPADEGenerator, ConvEncoder (VAE), and the recipe.

Park et al. 2019, "Semantic Image Synthesis with Spatially-Adaptive Normalization", arXiv:1903.07291; reference
implementation github.com/NVlabs/SPADE (models/networks/normalization.py, architecture.py, generator.py,
encoder.py, discriminator.py, loss.py, models/pix2pix_model.py, trainers/pix2pix_trainer.py). Layer for layer
as the reference at norm_G spectralspadesyncbatch3x3, norm_D / norm_E spectralinstance (parameter counts
tested): SPADE = parameter-free batch norm, then x * (1 + gamma) + beta with gamma, beta from a 3x3 conv MLP
(`nhidden` 128) on the label map resized nearest; SPADEResnetBlock with spectral norm on its convs and a learned
1x1 shortcut where the widths differ; the generator from a 16 ngf map (the downsampled label map through a 3x3
conv, or with the VAE a linear layer from z), num_upsampling_layers normal / more / most; the ConvEncoder
(stride-2 3x3 convs with spectral norm and instance norm on the photo resized to 256, then mu and logvar of a
256-d z); the multiscale D of models/pix2pixhd.py with n_layers 4 and spectral norm + instance norm on the three
middle convs only. The objective as pix2pix_model.py: hinge averaged over scales, feature matching
x lambda_feat / num_D, VGG x lambda_vgg (both 10), KL divergence summed x lambda_kld (0.05); the G step before
the D step, the D step on a fresh fake from the updated G (with a fresh z); TTUR as the code: Adam (0, 0.9),
G 1e-4, D 4e-4 (the paper says beta2 0.999: the protocol string names the code's), at a constant learning rate:
the code's default (--niter 50 --niter_decay 0; its README and scripts give no Cityscapes command, so the
code's default is the one the reference states), not the loop's linear decay; `train.opt.*.schedule=linear`
gives pix2pixHD's. Spectral norm iterates as the reference's torch.nn.utils.spectral_norm (see `_sn`), so `python -m
bench.parity` finds this recipe equal to the reference in float64 without neutralising it (docs/parity.md).
Deviations: the batch norm is single-process (SyncBatchNorm under torchrun, models/distributed.py); the
encoder's input size `e.size` (256 in the reference, which breaks below 256 px) sets its depth, log2(size / 4)
stride-2 convs, so small runs encode at their own size. Outputs scored: with the VAE, z drawn from the prior
(multimodal synthesis from labels alone, comparable with the other rows; the reference's test.py encodes the
test photo instead, which `style` does); `fake_b_latents` holds K outputs per label map for the diversity metric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from metrics.weights import sha256
from models.contract import DataFacts, Progress
from models.layers import requires_grad, semantic_channels, semantic_input, spectral_norm
from models.losses import feature_matching, gan_loss
from models.perceptual import vgg_term, vgg_weights
from models.pix2pixhd import MultiscaleDiscriminator

UP_LAYERS = {"normal": 5, "more": 6, "most": 7}


@dataclass(frozen=True)
class SPADEGConfig:
    ngf: int = 64
    num_upsampling_layers: Literal["normal", "more", "most"] = "normal"
    nhidden: int = 128  # width of each SPADE's shared conv
    norm: Literal["batch", "instance"] = "batch"  # the parameter-free norm (the reference: synchronized batch norm)


@dataclass(frozen=True)
class EncoderConfig:
    size: int = 256  # the photo is resized to size x size; log2(size / 4) stride-2 convs down to 4 x 4
    z_dim: int = 256


@dataclass(frozen=True)
class SPADEDConfig:
    num_d: int = 2
    n_layers: int = 4  # n_layers_D
    ndf: int = 64


@dataclass(frozen=True)
class SPADEConfig:
    g: SPADEGConfig = field(default_factory=SPADEGConfig)
    e: EncoderConfig = field(default_factory=EncoderConfig)
    d: SPADEDConfig = field(default_factory=SPADEDConfig)
    use_vae: bool = False
    lambda_feat: float = 10.0  # 0 = no_ganFeat_loss
    lambda_vgg: float = 10.0  # 0 = no_vgg_loss; needs vgg_weights
    lambda_kld: float = 0.05
    vgg_weights: str = ""  # local VGG19 weight file (--weights vgg19=PATH); never downloaded
    instance_edges: bool = True  # the instance-boundary channel, where the data has instance maps (no_instance)
    eval_mode: bool = True  # as the reference's test.py (model.eval()): running batch statistics at test time
    n_latents: int = 4  # VAE: outputs per label map for the diversity metric


def _sn(conv: nn.Conv2d) -> nn.Module:
    """The reference's spectral norm, torch.nn.utils.spectral_norm's iteration (one power iteration per training
    forward, v = W^T u then u = W v, from random unit u and v) in models/layers.py SNConv2d, which divides the conv's
    output by sigma where that is cheaper than dividing the weight; not the parametrization
    (torch.nn.utils.parametrizations.spectral_norm: u first, then v, after 15 iterations at construction), whose
    sigma differs from the reference's by a median 2.7% at the first forward. The raw weight is `weight_orig`."""
    return spectral_norm(conv)


class SPADE(nn.Module):
    def __init__(self, norm_nc: int, label_nc: int, nhidden: int = 128, norm: str = "batch", ks: int = 3):
        super().__init__()
        self.param_free_norm = nn.BatchNorm2d(norm_nc, affine=False) if norm == "batch" else \
            nn.InstanceNorm2d(norm_nc, affine=False)  # fmt: skip
        pw = ks // 2
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, nhidden, ks, padding=pw), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(nhidden, norm_nc, ks, padding=pw)
        self.mlp_beta = nn.Conv2d(nhidden, norm_nc, ks, padding=pw)

    def forward(self, x: Tensor, segmap: Tensor) -> Tensor:
        normalized = self.param_free_norm(x)
        actv = self.mlp_shared(F.interpolate(segmap, size=x.shape[2:], mode="nearest"))
        return normalized * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)


class SPADEResnetBlock(nn.Module):
    def __init__(self, fin: int, fout: int, label_nc: int, nhidden: int = 128, norm: str = "batch"):
        super().__init__()
        self.learned_shortcut = fin != fout
        fmiddle = min(fin, fout)
        self.conv_0 = _sn(nn.Conv2d(fin, fmiddle, 3, padding=1))
        self.conv_1 = _sn(nn.Conv2d(fmiddle, fout, 3, padding=1))
        self.norm_0 = SPADE(fin, label_nc, nhidden, norm)
        self.norm_1 = SPADE(fmiddle, label_nc, nhidden, norm)
        if self.learned_shortcut:
            self.conv_s = _sn(nn.Conv2d(fin, fout, 1, bias=False))
            self.norm_s = SPADE(fin, label_nc, nhidden, norm)

    def forward(self, x: Tensor, seg: Tensor) -> Tensor:
        x_s = self.conv_s(self.norm_s(x, seg)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), 0.2))
        return x_s + dx


class SPADEGenerator(nn.Module):
    """`size` (H, W) of the output; the first map is (H, W) / 2^up_layers (the reference's sh, sw)."""

    def __init__(self, label_nc: int, out_ch: int = 3, size: tuple[int, int] = (256, 256), ngf: int = 64,
                 num_upsampling_layers: str = "normal", use_vae: bool = False, z_dim: int = 256, nhidden: int = 128,
                 norm: str = "batch"):  # fmt: skip
        super().__init__()
        if num_upsampling_layers not in UP_LAYERS:
            raise ValueError(f"num_upsampling_layers must be one of {', '.join(UP_LAYERS)}, got "
                             f"{num_upsampling_layers!r}")  # fmt: skip
        self.mode, self.use_vae, self.z_dim, nf = num_upsampling_layers, use_vae, z_dim, ngf
        factor = 2 ** UP_LAYERS[num_upsampling_layers]
        if size[0] % factor or size[1] % factor:
            raise ValueError(f"image size {tuple(size)} must be divisible by 2^{UP_LAYERS[num_upsampling_layers]} = "
                             f"{factor} (num_upsampling_layers {num_upsampling_layers})")  # fmt: skip
        self.sh, self.sw = size[0] // factor, size[1] // factor
        if use_vae:
            self.fc = nn.Linear(z_dim, 16 * nf * self.sw * self.sh)
        else:
            self.fc = nn.Conv2d(label_nc, 16 * nf, 3, padding=1)
        kw = {"label_nc": label_nc, "nhidden": nhidden, "norm": norm}
        self.head_0 = SPADEResnetBlock(16 * nf, 16 * nf, **kw)
        self.G_middle_0 = SPADEResnetBlock(16 * nf, 16 * nf, **kw)
        self.G_middle_1 = SPADEResnetBlock(16 * nf, 16 * nf, **kw)
        self.up_0 = SPADEResnetBlock(16 * nf, 8 * nf, **kw)
        self.up_1 = SPADEResnetBlock(8 * nf, 4 * nf, **kw)
        self.up_2 = SPADEResnetBlock(4 * nf, 2 * nf, **kw)
        self.up_3 = SPADEResnetBlock(2 * nf, nf, **kw)
        final_nc = nf
        if num_upsampling_layers == "most":
            self.up_4 = SPADEResnetBlock(nf, nf // 2, **kw)
            final_nc = nf // 2
        self.conv_img = nn.Conv2d(final_nc, out_ch, 3, padding=1)

    def forward(self, seg: Tensor, z: Tensor | None = None) -> Tensor:
        if self.use_vae:
            if z is None:
                z = torch.randn(seg.shape[0], self.z_dim, device=seg.device)
            x = self.fc(z).view(-1, self.fc.out_features // (self.sh * self.sw), self.sh, self.sw)
        else:
            x = self.fc(F.interpolate(seg, size=(self.sh, self.sw)))
        up = lambda v: F.interpolate(v, scale_factor=2)  # noqa: E731 - the reference's nn.Upsample(scale_factor=2)
        x = up(self.head_0(x, seg))
        x = self.G_middle_0(x, seg)
        if self.mode in ("more", "most"):
            x = up(x)
        x = self.G_middle_1(x, seg)
        for block in (self.up_0, self.up_1, self.up_2, self.up_3):
            x = block(up(x), seg)
        if self.mode == "most":
            x = self.up_4(up(x), seg)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


class ConvEncoder(nn.Module):
    """The VAE's style encoder: photo -> (mu, logvar) of z."""

    def __init__(self, in_ch: int = 3, ndf: int = 64, size: int = 256, z_dim: int = 256):
        super().__init__()
        n = int(math.log2(size / 4))
        if 2**n * 4 != size or n < 1:
            raise ValueError(f"the encoder's input size must be 4 x a power of two (8, 16, ..., 256), got {size}")
        self.size, chans = size, [in_ch] + [ndf * min(2**i, 8) for i in range(n)]
        self.layers = nn.ModuleList(nn.Sequential(_sn(nn.Conv2d(a, b, 3, 2, 1, bias=False)),
                                                  nn.InstanceNorm2d(b, affine=False))
                                    for a, b in zip(chans, chans[1:]))  # fmt: skip
        self.fc_mu = nn.Linear(chans[-1] * 16, z_dim)
        self.fc_var = nn.Linear(chans[-1] * 16, z_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear")
        for i, layer in enumerate(self.layers):
            x = layer(x if i == 0 else F.leaky_relu(x, 0.2))
        x = F.leaky_relu(x, 0.2).flatten(1)
        return self.fc_mu(x), self.fc_var(x)


class SpadeNLayerDiscriminator(nn.Module):
    """SPADE's NLayerDiscriminator: kernel 4, padding 2; spectral norm and instance norm (no conv bias) on the
    middle convs, stride 1 on the last of them; every layer's output is returned."""

    def __init__(self, in_ch: int, ndf: int = 64, n_layers: int = 4):
        super().__init__()
        seq = [nn.Sequential(nn.Conv2d(in_ch, ndf, 4, 2, 2), nn.LeakyReLU(0.2))]
        nf = ndf
        for n in range(1, n_layers):
            prev, nf = nf, min(nf * 2, 512)
            stride = 1 if n == n_layers - 1 else 2
            seq.append(nn.Sequential(_sn(nn.Conv2d(prev, nf, 4, stride, 2, bias=False)), nn.InstanceNorm2d(nf),
                                     nn.LeakyReLU(0.2)))  # fmt: skip
        seq.append(nn.Sequential(nn.Conv2d(nf, 1, 4, 1, 2)))
        self.layers = nn.ModuleList(seq)

    def forward(self, x: Tensor) -> list[Tensor]:
        out = []
        for layer in self.layers:
            x = layer(x)
            out.append(x)
        return out


def init_xavier(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """SPADE's BaseNetwork.init_weights('xavier', 0.02): conv and linear weights xavier-normal, biases 0 (the
    raw weight `weight_orig` under spectral norm, whose `weight` the reference's init also writes in place)."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            w = m.weight_orig if hasattr(m, "weight_orig") else m.weight
            nn.init.xavier_normal_(w, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net


def kld(mu: Tensor, logvar: Tensor) -> Tensor:
    """The reference's KLDLoss: -0.5 sum(1 + logvar - mu^2 - exp(logvar)), summed over the batch too."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


class Spade:
    """G maps the semantic input (and, with the VAE, a z from E's encoding of the photo) to a photo; D as
    pix2pixHD's with SPADE's layer; hinge loss."""

    Config = SPADEConfig
    views = ("paired", "paired")
    metrics = ("fcn_score", "ssim", "l1", "hist_intersection", "swd")
    defaults = {"train.phases": ("g", "d"), "train.opt.g.lr": 1e-4, "train.opt.g.betas": (0.0, 0.9),
                "train.opt.d.lr": 4e-4, "train.opt.d.betas": (0.0, 0.9), "train.batch_size": 1,
                "train.opt.g.schedule": "constant", "train.opt.d.schedule": "constant"}  # fmt: skip
    smoke = {"data.size": 32, "model.g.ngf": 2, "model.g.nhidden": 8, "model.e.size": 32, "model.d.ndf": 4,
             "model.lambda_vgg": 0.0}  # fmt: skip
    sample_rows = ("a", "b", "fake_b")
    test_images = {"input": "a", "truth": "b", "output": "fake_b"}
    modality = "image"

    weights = staticmethod(vgg_weights)  # local weight files this config reads

    def __init__(self, cfg: SPADEConfig, facts: DataFacts):
        self.cfg, self.n_classes = cfg, facts.n_classes
        self.edges, label_nc = semantic_channels(facts, cfg.instance_edges)
        g, out_ch = cfg.g, facts.channels_b
        G = SPADEGenerator(label_nc, out_ch, (facts.size, facts.size), g.ngf, g.num_upsampling_layers, cfg.use_vae,
                           cfg.e.z_dim, g.nhidden, g.norm)  # fmt: skip
        D = MultiscaleDiscriminator(label_nc + out_ch, cfg.d.ndf, cfg.d.n_layers, cfg.d.num_d, SpadeNLayerDiscriminator)
        self.multimodal = cfg.use_vae  # one label map, many photos: the Playground shows several latents
        self.nets: dict[str, nn.Module] = {"G": init_xavier(G)}
        if cfg.use_vae:  # the encoder is optimized with G (the reference adds its parameters to G's optimizer)
            self.nets["E"] = init_xavier(ConvEncoder(out_ch, g.ngf, cfg.e.size, cfg.e.z_dim))
        self.nets["D"] = init_xavier(D)
        self.groups: dict[str, tuple[str, ...]] = {"g": tuple(n for n in ("G", "E") if n in self.nets), "d": ("D",)}
        self.ema: dict[str, str] = {}
        self.frozen: dict[str, nn.Module] = {}
        self.frozen |= vgg_term(cfg.lambda_vgg, cfg.vgg_weights)
        self.vgg_sha256 = sha256(cfg.vgg_weights) if self.frozen else ""

    def encode(self, photo: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(z, mu, logvar): the reparameterized style code of `photo`."""
        mu, logvar = self.nets["E"](photo)
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar), mu, logvar

    def forward(self, batch: dict, t: Progress) -> dict[str, Tensor]:
        seg = semantic_input(batch, self.n_classes, self.edges)
        out = {"input": seg}
        z = None
        if self.cfg.use_vae:
            z, out["mu"], out["logvar"] = self.encode(batch["b"])
        out["fake_b"] = self.nets["G"](seg, z)
        return out

    def _judge(self, seg: Tensor, fake: Tensor, real: Tensor):
        """The reference's discriminate(): fake and real in one batch through D; (pred_fake, pred_real)."""
        preds = self.nets["D"](torch.cat([torch.cat([seg, fake], 1), torch.cat([seg, real], 1)], 0))
        n = fake.shape[0]
        return [[p[:n] for p in s] for s in preds], [[p[n:] for p in s] for s in preds]

    def losses(self, group: str, batch: dict, out: dict, t: Progress) -> dict[str, Tensor]:
        seg, real, c = out["input"], batch["b"], self.cfg
        if group == "d":  # a fresh fake from the G just updated, as compute_discriminator_loss
            with torch.no_grad():
                fake = self.forward(batch, t)["fake_b"].detach()
            pred_fake, pred_real = self._judge(seg, fake, real)
            return {"fake": sum(gan_loss(p[-1], False, "hinge") for p in pred_fake) / len(pred_fake),
                    "real": sum(gan_loss(p[-1], True, "hinge") for p in pred_real) / len(pred_real)}  # fmt: skip
        fake = out["fake_b"]
        pred_fake, pred_real = self._judge(seg, fake, real)
        terms = {}
        if c.use_vae:
            terms["kld"] = c.lambda_kld * kld(out["mu"], out["logvar"])
        terms["gan"] = sum(gan_loss(p[-1], True, "hinge", for_d=False) for p in pred_fake) / len(pred_fake)
        if c.lambda_feat > 0:
            terms["feat"] = feature_matching(pred_fake, pred_real, c.lambda_feat / c.d.num_d)
        if "vgg" in self.frozen:
            terms["vgg"] = c.lambda_vgg * self.frozen["vgg"](fake, real)
        return terms

    @torch.no_grad()
    def translate(self, batch: dict, t: Progress, style: Tensor | None = None) -> dict[str, Tensor]:
        """fake_b (z from the prior, or from the photos `style` through the encoder: their mean code) and, with
        the VAE, fake_b_latents: n_latents outputs per label map, each from its own prior z."""
        nets = [self.nets[n] for n in ("G", "E") if n in self.nets]
        G, was = self.nets["G"], [n.training for n in nets]
        for n in nets:
            n.train(not self.cfg.eval_mode)
        try:
            with requires_grad(nets, False):
                seg = semantic_input(batch, self.n_classes, self.edges)
                z = self.nets["E"](style)[0] if style is not None and self.cfg.use_vae else None
                out = {"fake_b": G(seg, z).float().clamp(-1, 1)}
                if self.cfg.use_vae and self.cfg.n_latents >= 2:
                    out["fake_b_latents"] = torch.stack([G(seg).float().clamp(-1, 1)
                                                         for _ in range(self.cfg.n_latents)], 1)  # fmt: skip
        finally:
            for n, w in zip(nets, was):
                n.train(w)
        return out

    def describe(self, t: Progress) -> dict:
        return {"vgg19_sha256": self.vgg_sha256} if self.vgg_sha256 else {}
