"""VGG19 perceptual loss of pix2pixHD and SPADE, from a local weight file only (never downloaded).

Wang et al. 2018 (pix2pixHD, arXiv:1711.11585) models/networks.py `Vgg19` / `VGGLoss`, used unchanged by
Park et al. 2019 (SPADE, arXiv:1903.07291) models/networks/architecture.py and loss.py: the torchvision VGG19
`features` up to relu5_1 (indices 0-29; 12,944,960 parameters) cut into five slices ending at relu1_1,
relu2_1, relu3_1, relu4_1 and relu5_1; the loss is sum_i w_i * L1(f_i(fake), f_i(real).detach()) with
w = (1/32, 1/16, 1/8, 1/4, 1). As both references, images go in on their [-1, 1] scale, without ImageNet
normalisation. The network is built by torchvision (`vgg.make_layers` with the VGG19 configuration); its
weights come only from `path` (torchvision's `vgg19-*.pth`, the whole model or its `features` alone), checked and
loaded by metrics/weights.py's registry (weights_only=True); its `sha256` identifies the file in runs.csv.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models import vgg as tv_vgg

from metrics.weights import load

SLICES = (2, 7, 12, 21, 30)  # ends of the five slices in vgg19.features: relu1_1 ... relu5_1
LAYER_WEIGHTS = (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0)
VGG19_CONV5_1_PARAMETERS = 12_944_960


def vgg19_features() -> nn.Sequential:
    """torchvision's VGG19 `features`, indices 0-29 (through relu5_1), randomly initialised."""
    return tv_vgg.make_layers(tv_vgg.cfgs["E"], batch_norm=False)[: SLICES[-1]]


def load_vgg19(path: str | Path) -> nn.Sequential:
    """The features net (through relu5_1) with the weights of `path`, read through metrics/weights.py's registry
    (a copy of its cached net); WeightsError names the file and what is wrong with it."""
    return copy.deepcopy(load("vgg19", path))


class VGGLoss(nn.Module):
    """pix2pixHD's VGGLoss: weighted L1 between the five relu_1 feature maps of fake and (detached) real."""

    def __init__(self, features: nn.Sequential):
        super().__init__()
        bounds = (0, *SLICES)
        self.slices = nn.ModuleList(features[a:b] for a, b in zip(bounds, bounds[1:]))
        self.requires_grad_(False)

    def forward(self, fake: Tensor, real: Tensor) -> Tensor:
        loss, x, y = fake.new_zeros(()), fake, real
        for w, block in zip(LAYER_WEIGHTS, self.slices):
            x, y = block(x), block(y)
            loss = loss + w * F.l1_loss(x, y.detach())
        return loss


def vgg_term(weight: float, path: str) -> dict[str, VGGLoss]:
    """{"vgg": VGGLoss} for a recipe's frozen nets when the VGG term is on (`weight` > 0), else {}; without a
    weight file, ValueError says how to give one."""
    if weight <= 0:
        return {}
    if not path:
        raise ValueError(
            "the VGG loss (model.lambda_vgg > 0) needs VGG19 weights: --weights vgg19=PATH "
            "(never downloaded), or set model.lambda_vgg=0"
        )
    return {"vgg": VGGLoss(load_vgg19(path))}


def vgg_weight(cfg) -> float:
    """The VGG term's weight of a config with `lambda_vgg`: None means lambda_feat (pix2pixHD weights both terms
    with it)."""
    return cfg.lambda_feat if cfg.lambda_vgg is None else cfg.lambda_vgg


def vgg_weights(cfg) -> dict[str, str]:
    """A recipe's `weights(cfg)` for configs with `lambda_vgg` and `vgg_weights`: {"vgg19": path} when the term
    is on ("" = not given)."""
    return {"vgg19": cfg.vgg_weights} if vgg_weight(cfg) > 0 else {}
