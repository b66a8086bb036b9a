"""LPIPS (Zhang et al. 2018, arXiv:1801.03924) and DISTS (Ding et al. 2020, arXiv:2004.07728) per item against the
truth, through torchmetrics' implementations, with the backbone read ONLY from a local torchvision file.

LPIPS: torchmetrics' `_LPIPS` (a port of richzhang/PerceptualSimilarity, version 0.1: ImageNet scaling layer,
unit-normalised features of five (squeeze: seven) layers, the learned 1x1 linear heads that ship inside
torchmetrics as `lpips_models/{alex,vgg,squeeze}.pth`, spatial mean, sum over layers). Inputs on ganbench's [-1, 1]
scale, which is LPIPS' own convention; no resize. The backbone is built without weights and filled from the
user's file (metrics/weights.py: alexnet, vgg16 or squeezenet), so nothing is downloaded.
DISTS: torchmetrics' `DISTSNetwork` (a port of dingkeyan93/DISTS: VGG16 with L2 pooling, structure and texture
terms weighted by the learned alpha/beta that ship inside torchmetrics); inputs in [0, 1], as the reference takes
them (ImageNet normalisation inside). torchmetrics builds its VGG16 from torchvision's DEFAULT weights (a
download); ganbench builds it around the user's VGG16 instead (the constructor's `vgg16` is swapped for one that
returns the local net). Deviation: none in the values (tests/test_modern_metrics.py checks both against the
`lpips` and `DISTS_pytorch` packages on the same weights).
"""

from __future__ import annotations

import copy
from unittest import mock

import torch
from torch import Tensor, nn

from metrics.protocol import MeanOf, check_pair

LPIPS_NETS = {"alex": "alexnet", "vgg": "vgg16", "squeeze": "squeezenet"}  # LPIPS backbone -> registry name


def lpips_net(backbone: str, features: nn.Module) -> nn.Module:
    """torchmetrics' LPIPS v0.1 with `features` (a torchvision classifier's `features`) as its backbone."""
    from torchmetrics.functional.image.lpips import _NoTrainLpips

    # pretrained=True: the v0.1 linear heads shipped inside torchmetrics (a local file); pnet_rand=True: the backbone
    # is built without weights (no torchvision download) and filled from `features` below
    net = _NoTrainLpips(pretrained=True, net=backbone, pnet_rand=True)
    slices = [m for m in net.net.modules() if isinstance(m, nn.Sequential)]  # alex/vgg: slice1..5; squeeze: 7
    for part in slices:  # each slice's layers are named by their index in `features`
        for index, layer in part.named_children():
            layer.load_state_dict(features[int(index)].state_dict())
    return net.eval().requires_grad_(False)


def dists_net(features: nn.Module) -> nn.Module:
    """torchmetrics' DISTS with `features` (VGG16's) as its backbone; alpha/beta from torchmetrics' file."""
    from torchmetrics.functional.image import dists

    local = type("LocalVGG16", (), {"features": copy.deepcopy(features)})  # its stages take the layers themselves
    with mock.patch.object(dists, "vgg16", lambda weights=None: local):
        net = dists.DISTSNetwork(load_weights=True)
    if net.stage1[0] is not local.features[0]:  # a torchmetrics that builds its VGG16 elsewhere would download it
        raise RuntimeError("this torchmetrics builds DISTS' VGG16 another way; ganbench cannot give it the local file")
    return net.eval().requires_grad_(False)


def _distance(name: str, net: nn.Module, fn, weights: dict[str, str]) -> MeanOf:
    """MeanOf a per-item network distance of (fake, real) in [-1, 1]; `weights` {registry name: sha256} is
    recorded with the run."""

    @torch.no_grad()
    def per_item(fake: Tensor, real: Tensor) -> Tensor:
        check_pair(fake, real, ("fake", "real"))
        if fake.shape[1] == 1:
            fake, real = fake.expand(-1, 3, -1, -1), real.expand(-1, 3, -1, -1)  # grey: the one channel as RGB
        return fn(net.to(fake.device), fake.float(), real.float()).reshape(-1)

    acc = MeanOf(per_item, name)
    acc.weights = weights
    return acc


def lpips(backbone: str, features: nn.Module, sha: str) -> MeanOf:
    """LPIPS per item with the `backbone` ("alex", "vgg", "squeeze") of `features`, key lpips_<backbone>."""
    return _distance(f"lpips_{backbone}", lpips_net(backbone, features), lambda net, x, y: net(x, y),
                     {LPIPS_NETS[backbone]: sha})  # fmt: skip


def dists(features: nn.Module, sha: str) -> MeanOf:
    """DISTS per item (VGG16 `features`), on [0, 1] images as the reference takes them."""
    return _distance("dists", dists_net(features), lambda net, x, y: net((x + 1) / 2, (y + 1) / 2), {"vgg16": sha})
