"""What every dataset of the studies shares: DataConfig, the item convention, pix2pix augmentation, the file
checks, and the base class the embedded and folder datasets derive from (studies/datasets/__init__.py picks one).

Every item is a dict of tensors in the ganbench convention: `a` (input) and `b` (target) float32
(3, H, W) in [-1, 1], `label` int64 (H, W) with 255 = ignore where a label map exists, `index` int64.
Training augmentation follows pix2pix (Isola et al. 2017, arXiv:1611.07004; reference code
github.com/junyanz/pytorch-CycleGAN-and-pix2pix): resize to 286/256 of the crop size, one random crop
and one horizontal flip shared by input, target and labels. Deviation: images are resized with
antialiased bilinear interpolation (the reference uses PIL bicubic); labels always with nearest.
Nothing is ever downloaded: real datasets are read from a local path and every fault raises
`DatasetError` naming the file and what is wrong with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF
from PIL import Image, UnidentifiedImageError
from torch import Tensor
from torch.utils.data import Dataset

from models.contract import DataFacts, View

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
SPLITS = ("train", "val", "test")


class DatasetError(ValueError):
    """A dataset on disk is missing, empty or malformed; the message names the file and the fault."""


class ViewUnavailable(DatasetError):
    """The data cannot give the view a recipe asks for (pairs from a CycleGAN folder, labels from CIFAR-10)."""


@dataclass(frozen=True)
class SurfaceConfig:
    format: Literal["points", "clouds", "grids"] = "clouds"
    alphas: tuple[int, ...] = (1, 2, 3, 4)  # the family (clouds, grids): each item's alpha drawn from these
    alpha: int = 2  # the one surface of the points format
    grid: int = 8  # points per side of a surface (clouds: grid^2 points; grids: grid x grid px)


@dataclass(frozen=True)
class DataConfig:
    name: str = "synthetic_scenes"  # or "gaussian_surfaces", or a local path: aligned A|B, Cityscapes, CIFAR-10, CelebA
    size: int = 64  # square crop size fed to the nets, px
    n_train: int = 1000  # synthetic_scenes split sizes (indices [0, n_train), then val, then test)
    n_val: int = 100
    n_test: int = 200
    jitter: bool = True  # pix2pix training augmentation: resize to 286/256, random crop, random flip
    direction: Literal["AtoB", "BtoA"] = "AtoB"  # aligned folders: which half is the input
    seed: int = 0  # synthetic_scenes / gaussian_surfaces generator seed (the dataset, not the run)
    surfaces: SurfaceConfig = field(default_factory=SurfaceConfig)  # gaussian_surfaces only


# --- tensors -----------------------------------------------------------------------------------


def to_tensor(image: np.ndarray) -> Tensor:
    """uint8 (H, W, 3) -> float32 (3, H, W) in [-1, 1]."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected uint8 (H, W, 3), got {image.dtype} {image.shape}")
    return torch.from_numpy(np.array(image, copy=True)).permute(2, 0, 1).float().div(127.5).sub(1.0)


def to_uint8(image: Tensor) -> np.ndarray:
    """float (3, H, W) in [-1, 1] -> uint8 (H, W, 3), the inverse of `to_tensor` up to rounding."""
    return image.detach().float().cpu().add(1).mul(127.5).round().clamp(0, 255).byte().permute(1, 2, 0).numpy()


MAPS = ("label", "instance")  # integer maps of an item (NHW): resized nearest, cropped and flipped with the images


def resize_item(item: dict, size: int) -> dict:
    """Resize images (bilinear, antialiased) and label / instance maps (nearest) of an item to (size, size)."""
    out = dict(item)
    for key in ("a", "b"):
        if key in out and out[key].shape[-2:] != (size, size):
            out[key] = TF.resize(out[key], [size, size], antialias=True)
    for key in MAPS:
        if key in out and out[key].shape[-2:] != (size, size):
            out[key] = TF.resize(out[key][None], [size, size], TF.InterpolationMode.NEAREST_EXACT)[0]
    return out


def jitter(item: dict, size: int, generator: torch.Generator | None = None) -> dict:
    """pix2pix augmentation: resize to round(size * 286 / 256), one random crop and flip for all keys."""
    load = round(size * 286 / 256)
    item = resize_item(item, load)
    top, left = (int(v) for v in torch.randint(0, load - size + 1, (2,), generator=generator))
    flip = bool(torch.rand((), generator=generator) < 0.5)
    out = dict(item)
    for key in ("a", "b", *MAPS):
        if key in out:
            v = out[key][..., top : top + size, left : left + size]
            out[key] = v.flip(-1) if flip else v
    return out


def read_image(path: Path) -> np.ndarray:
    """RGB uint8 (H, W, 3) of an image file; a missing or corrupt file raises DatasetError."""
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise DatasetError(f"{path}: not a readable image ({e})") from None


def check_file(path: Path) -> tuple[int, int]:
    """(width, height) of an image file after a structural check: PNG chunks and CRCs verified, JPEGs
    decoded at 1/8 scale, others decoded. A fault raises DatasetError naming the file; much cheaper than
    decoding every pixel of a large dataset, and it catches truncated and corrupted files."""
    try:
        with Image.open(path) as im:
            size = im.size
            if im.format == "PNG":
                im.verify()
            else:
                im.draft("RGB", (max(1, size[0] // 8), max(1, size[1] // 8)))
                im.load()
        return size
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise DatasetError(f"{path}: not a readable image ({e})") from None


def _read_label(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            return np.asarray(im)
    except FileNotFoundError:
        raise DatasetError(f"{path}: label file not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise DatasetError(f"{path}: not a readable label image ({e})") from None


def _list_images(folder: Path, what: str) -> list[Path]:
    if not folder.is_dir():
        raise DatasetError(f"{folder}: {what} folder not found")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTS)
    if not files:
        raise DatasetError(f"{folder}: {what} folder holds no images ({', '.join(IMAGE_EXTS)})")
    return files


# --- datasets ----------------------------------------------------------------------------------


class _Base(Dataset):
    classes: tuple[str, ...] = ()
    colors: np.ndarray | None = None
    identity: str = ""  # what the data is, for cache keys (segmenter)
    views: tuple[View, ...] = ("paired", "unconditional")  # the views this layout can give

    def __init__(self, cfg: DataConfig, split: str, augment: bool, view: View = "paired"):
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if view not in self.views:
            raise ViewUnavailable(f"{cfg.name}: {type(self).__name__} data gives the {'/'.join(self.views)} view(s), "
                                  f"not {view!r} (the recipe's)")  # fmt: skip
        self.cfg, self.split, self.augment, self.view = cfg, split, augment and cfg.jitter, view

    @property
    def n_classes(self) -> int:
        return len(self.classes) if self.view != "unconditional" else 0

    @property
    def drawing(self) -> str:
        """What a person draws as the input `a` (the dashboard's Playground): "labels" (a colour label map in
        `colors`), "sketch" (black strokes on white), "image" (any RGB picture) or "" (no input)."""
        if self.view == "unconditional":
            return ""
        return "labels" if self.colors is not None and self.classes else "image"

    def facts(self) -> DataFacts:
        """What a recipe needs to know to build its nets (channels, classes, size, view)."""
        item = self[0]
        native = getattr(self, "native_size", None)
        return DataFacts(channels_a=item["a"].shape[0] if "a" in item else 0, channels_b=item["b"].shape[0],
                         n_classes=self.n_classes, size=self.cfg.size, view=self.view,
                         shape=tuple(item["b"].shape), native=tuple(native()) if native else None,
                         instances="instance" in item)  # fmt: skip

    def validate(self) -> None:
        """Cheap structural check of every file (header and size, no full decode); DatasetError names the file."""

    def _finish(self, item: dict) -> dict:
        if self.view == "unconditional":
            item = {k: v for k, v in item.items() if k not in ("a", *MAPS)}
        return jitter(item, self.cfg.size) if self.augment else resize_item(item, self.cfg.size)

    def _unpaired(self, item: dict, b: Tensor) -> dict:
        """A with its label map, and an independently drawn B (the reference's unaligned dataset: the B index
        comes from the global RNG, which checkpoints hold); A and B get their own crops and flips."""
        a_part = self._finish({k: v for k, v in item.items() if k != "b"})
        return a_part | {"b": self._finish({"b": b})["b"]}
