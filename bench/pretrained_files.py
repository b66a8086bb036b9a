"""Weight files in the upstream formats of metrics/weights.py's registry, made from randomly initialised nets, for the
benches and tests of the pretrained-net metrics (nothing is downloaded). Values are random; formats are real:
torchvision state dicts (AlexNet and SqueezeNet whole, VGG16 as `features` alone, both accepted), DINOv2 pretrain
files (37x37 position grid, mask_token; LayerScale and position embedding drawn large enough that every block
shapes the output), and torch-fidelity's Inception keys."""

from __future__ import annotations

from pathlib import Path

import torch
import torchvision


def _inception(path: Path) -> None:
    from unittest import mock

    import torch_fidelity.feature_extractor_inceptionv3 as fe

    no_load = mock.patch.object(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd, *a, **k: None)
    with mock.patch.object(fe, "load_state_dict_from_url", lambda *a, **k: {}), no_load:
        net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    gen = torch.Generator().manual_seed(0)
    state = {}
    for k, v in net.state_dict().items():  # He-initialised convs, identity batch norms: features vary
        if v.ndim == 4 or (v.ndim == 2 and "weight" in k):
            state[k] = torch.randn(v.shape, generator=gen) * (2 / v[0].numel()) ** 0.5
        elif k.endswith(("running_var", ".weight")):
            state[k] = torch.ones_like(v)
        else:
            state[k] = torch.zeros_like(v)
    torch.save(state, path)


def _dinov2(arch: str, path: Path) -> None:
    import timm

    vit = timm.create_model(arch, pretrained=False).state_dict()
    for k, v in vit.items():
        if k.endswith(".gamma"):
            vit[k] = 0.5 + torch.rand_like(v)
    vit["pos_embed"] = torch.randn_like(vit["pos_embed"]) * 0.5
    vit["cls_token"] = torch.randn_like(vit["cls_token"])
    vit["mask_token"] = torch.zeros(1, vit["cls_token"].shape[-1])
    torch.save(vit, path)


def make(root: Path, names: tuple[str, ...]) -> dict[str, Path]:
    """{registry name: file} for `names`, written under `root` (seeded: the same bytes every time)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    vgg = torchvision.models.vgg
    makers = {
        "alexnet": ("alexnet-owt.pth", lambda p: torch.save(torchvision.models.alexnet(weights=None).state_dict(), p)),
        "squeezenet": ("squeezenet1_1.pth",
                       lambda p: torch.save(torchvision.models.squeezenet1_1(weights=None).state_dict(), p)),
        "vgg16": ("vgg16-features.pth", lambda p: torch.save(vgg.make_layers(vgg.cfgs["D"]).state_dict(), p)),
        "inception": ("inception.pth", _inception),
        "dinov2_vits14": ("dinov2_vits14_pretrain.pth", lambda p: _dinov2("vit_small_patch14_dinov2", p)),
        "dinov2_vitb14": ("dinov2_vitb14_pretrain.pth", lambda p: _dinov2("vit_base_patch14_dinov2", p)),
    }  # fmt: skip
    out = {}
    for name in names:
        file, write = makers[name]
        out[name] = root / file
        if not out[name].exists():
            write(out[name])
    return out
