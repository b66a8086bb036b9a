"""The pretrained networks ganbench's metrics read, each ONLY from a local file the user names (never downloaded).

One registry, `NETS`: for each name of `--weights NAME=PATH`, the file format it accepts (the upstream checkpoint
as published), what reads it, and its loader. Loaders check the file before any work (exists, loads with
`torch.load(weights_only=True)`, holds every tensor of the network in the right shape) and raise `WeightsError`
naming the file and the fault. A loaded net is cached per (file, size, mtime), so checking it on the command line
and scoring with it later read it once. `sha256(path)` identifies the file in runs.csv and the protocol strings.

- alexnet, vgg16, vgg19, squeezenet: torchvision's ImageNet classifiers (`alexnet-owt-7be5be79.pth`,
  `vgg16-397923af.pth`, `vgg19-dcbb9e9d.pth`, `squeezenet1_1-b8a52dc0.pth`), the whole model's state dict or its
  `features` alone; the loader returns `features` (what LPIPS, DISTS and the VGG loss read; VGG19 through
  relu5_1, the loss's last layer, as models/perceptual.py reads it).
- inception: torch-fidelity's FID Inception-v3 (`weights-inception-2015-12-05-6726825d.pth`), read by
  metrics/fid.py (FID, KID and the Inception PRDC).
- dinov2_vits14 / vitb14 / vitl14: facebookresearch/dinov2's `dinov2_vit*14_pretrain.pth`. The network definition
  is timm's DINOv2 ViT (`vit_*_patch14_dinov2`) at 224 px; the 37x37 position embedding of the file is resized to
  16x16 as DINOv2's own `interpolate_pos_encoding` does it at a 224 px input (bicubic by scale factor
  (16 + 0.1) / 37, no antialias), once at load time, so the features equal the hub model's. `mask_token`
  (masked-image training only) is not used. Deviation: none intended; tests/test_modern_metrics.py checks the
  features against a plain re-implementation of the reference forward.
"""

from __future__ import annotations

import copy
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from metrics.protocol import EvalContext, WeightsNotGiven


class WeightsError(ValueError):
    """A weight file is missing, unreadable or does not hold the network's tensors; the message names it."""


@dataclass(frozen=True)
class Net:
    name: str
    what: str  # the network
    files: str  # the upstream files accepted
    used_by: str  # what reads it
    load: Callable[[Path], nn.Module]


def read_state(path: Path, what: str) -> dict[str, Tensor]:
    """The state dict of `path` (a plain dict of tensors, weights_only=True); WeightsError otherwise."""
    if not path.is_file():
        raise WeightsError(f"{path}: {what} weight file not found (ganbench never downloads weights)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - pickle, zip and format errors all mean "not a weight file"
        raise WeightsError(f"{path}: not a readable PyTorch weight file ({type(e).__name__}: {e})") from None
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise WeightsError(f"{path}: holds a {type(state).__name__}, not a state dict of tensors")
    return state


def fill(net: nn.Module, state: dict[str, Tensor], path: Path, what: str, prefix: str = "") -> nn.Module:
    """`net` with every tensor of its state taken from `state[prefix + key]`; WeightsError names the missing key
    or the wrong shape. Returns the net in eval mode, frozen."""
    own = net.state_dict()
    missing = [prefix + k for k in own if prefix + k not in state]
    if missing:
        more = " ..." if len(missing) > 3 else ""
        raise WeightsError(f"{path}: not {what} weights (missing {', '.join(missing[:3])}{more})")
    wrong = [f"{prefix + k} {tuple(state[prefix + k].shape)} (expected {tuple(v.shape)})" for k, v in own.items()
             if state[prefix + k].shape != v.shape]  # fmt: skip
    if wrong:
        raise WeightsError(f"{path}: {what} tensors of the wrong shape: {'; '.join(wrong[:2])}")
    net.load_state_dict({k: state[prefix + k].to(v.dtype) for k, v in own.items()})
    return net.eval().requires_grad_(False)


def torchvision_features(arch: str, what: str, upto: int | None = None) -> Callable[[Path], nn.Module]:
    """Loader of a torchvision classifier's `features[:upto]` from its published state dict (whole model or
    features alone)."""

    def load(path: Path) -> nn.Module:
        import torchvision

        state = read_state(path, what)
        with torch.device("meta"):  # no random init of the classifier's ~100M weights: fill() sets every tensor
            features = getattr(torchvision.models, arch)(weights=None).features[:upto]
        features = features.to_empty(device="cpu")
        prefix = "features." if any(k.startswith("features.") for k in state) else ""
        return fill(features, state, path, what, prefix)

    return load


DINOV2_ARCH = {"dinov2_vits14": "vit_small_patch14_dinov2", "dinov2_vitb14": "vit_base_patch14_dinov2",
               "dinov2_vitl14": "vit_large_patch14_dinov2"}  # fmt: skip
DINOV2_SIZE = 224  # input side: dgm-eval / EDM2 resize every image to 224 px
PATCH = 14


def dinov2_pos_embed(pos: Tensor, grid: int, offset: float = 0.1) -> Tensor:
    """DINOv2's `interpolate_pos_encoding`: the (1, 1 + M*M, D) embedding for a grid x grid patch input, patch part
    resized bicubic by scale factor (grid + offset) / M without antialias, class part unchanged."""
    m = int(round((pos.shape[1] - 1) ** 0.5))
    if m * m != pos.shape[1] - 1:
        raise ValueError(f"pos_embed of {pos.shape[1] - 1} patch positions is not a square grid")
    if m == grid:
        return pos
    patches = pos[:, 1:].reshape(1, m, m, -1).permute(0, 3, 1, 2).float()
    scale = (grid + offset) / m
    patches = nn.functional.interpolate(patches, scale_factor=(scale, scale), mode="bicubic", antialias=False)
    if patches.shape[-2:] != (grid, grid):
        raise ValueError(f"pos_embed resize gave {tuple(patches.shape[-2:])}, expected {(grid, grid)}")
    return torch.cat([pos[:, :1], patches.permute(0, 2, 3, 1).reshape(1, grid * grid, -1).to(pos.dtype)], 1)


def dinov2(name: str) -> Callable[[Path], nn.Module]:
    def load(path: Path) -> nn.Module:
        import timm

        what = f"DINOv2 {name.split('_')[1].upper()}"
        state = read_state(path, what)
        net = timm.create_model(DINOV2_ARCH[name], pretrained=False, img_size=DINOV2_SIZE, num_classes=0)
        if "pos_embed" in state and state["pos_embed"].ndim == 3:
            try:
                state = state | {"pos_embed": dinov2_pos_embed(state["pos_embed"], DINOV2_SIZE // PATCH)}
            except ValueError as e:
                raise WeightsError(f"{path}: {e}") from None
        return fill(net, state, path, what)

    return load


def inception(path: Path) -> nn.Module:
    from metrics.fid import load_inception  # torch-fidelity's Inception (an optional dependency)

    try:
        return load_inception(path)
    except ValueError as e:  # a file that is not torch-fidelity's Inception state dict
        raise WeightsError(str(e)) from None


NETS: dict[str, Net] = {
    "inception": Net("inception", "Inception-v3 (FID)", "torch-fidelity weights-inception-2015-12-05-6726825d.pth",
                     "fid (FID, KID), prdc_inception", inception),
    "alexnet": Net("alexnet", "AlexNet", "torchvision alexnet-owt-7be5be79.pth", "lpips_alex",
                   torchvision_features("alexnet", "AlexNet")),
    "vgg16": Net("vgg16", "VGG16", "torchvision vgg16-397923af.pth", "lpips_vgg, dists",
                 torchvision_features("vgg16", "VGG16")),
    "vgg19": Net("vgg19", "VGG19", "torchvision vgg19-dcbb9e9d.pth", "the VGG loss of pix2pixHD and SPADE",
                 torchvision_features("vgg19", "VGG19", upto=30)),  # through relu5_1, all the loss reads
    "squeezenet": Net("squeezenet", "SqueezeNet 1.1", "torchvision squeezenet1_1-b8a52dc0.pth", "lpips_squeeze",
                      torchvision_features("squeezenet1_1", "SqueezeNet 1.1")),
    **{n: Net(n, f"DINOv2 {n[7:].upper()}", f"facebookresearch {n}_pretrain.pth", "dinov2 (FD, KD, PRDC)", dinov2(n))
       for n in DINOV2_ARCH},
}  # fmt: skip


def _stat(path: Path) -> tuple[str, int, int]:
    path = Path(path).expanduser()
    try:
        st = path.stat()
    except OSError:
        return str(path), -1, -1
    return str(path.resolve()), st.st_size, st.st_mtime_ns


@functools.lru_cache(maxsize=8)
def _load(name: str, key: tuple[str, int, int]) -> nn.Module:
    return NETS[name].load(Path(key[0]))


def load(name: str, path: str | Path) -> nn.Module:
    """The net `name` with the weights of `path` (cached per file state); WeightsError names the file's fault."""
    if name not in NETS:
        raise WeightsError(f"unknown weights {name!r}; known: {', '.join(NETS)}")
    return _load(name, _stat(path))


@functools.lru_cache(maxsize=32)
def _sha256(key: tuple[str, int, int]) -> str:
    h = hashlib.sha256()
    with Path(key[0]).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256(path: str | Path) -> str:
    """The file's SHA-256 (cached per file state)."""
    return _sha256(_stat(path))


def given(ctx: EvalContext, name: str, metric: str) -> tuple[nn.Module, str]:
    """(the net `name` from the file the run was given, the file's sha256); WeightsNotGiven names the flag."""
    path = ctx.weights.get(name) or (ctx.inception_weights if name == "inception" else None)
    if not path:
        raise WeightsNotGiven(f"{metric} needs --weights {name}=PATH ({NETS[name].files}; ganbench never downloads "
                              "weights)")  # fmt: skip
    return copy.deepcopy(load(name, path)), sha256(path)  # a copy: evaluators move their nets between devices


def one_of(ctx: EvalContext, names: tuple[str, ...], metric: str) -> str:
    """The one name of `names` whose file was given; WeightsNotGiven (none) or ValueError (several)."""
    found = [n for n in names if ctx.weights.get(n)]
    if len(found) > 1:
        raise ValueError(f"{metric}: give one of --weights {' / '.join(found)}, not several")
    if not found:
        raise WeightsNotGiven(f"{metric} needs --weights {'=PATH or '.join(names)}=PATH (ganbench never downloads "
                              "weights)")  # fmt: skip
    return found[0]


def describe() -> str:
    """One line per registry entry, for --help and the README."""
    return "\n".join(f"  {n.name}: {n.what}, {n.files}; read by {n.used_by}" for n in NETS.values())
