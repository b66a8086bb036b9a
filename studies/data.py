"""Datasets for the studies: synthetic_scenes, pix2pix aligned folders, Cityscapes, CIFAR-10 / CelebA roots.

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
from studies import synthetic
from studies.sketches import render_sketch
from studies.surfaces import GaussianSurfaces, SurfaceConfig

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
SPLITS = ("train", "val", "test")

CITYSCAPES_CLASSES = ("road", "sidewalk", "building", "wall", "fence", "pole", "traffic light",
                      "traffic sign", "vegetation", "terrain", "sky", "person", "rider", "car", "truck",
                      "bus", "train", "motorcycle", "bicycle")  # fmt: skip
CITYSCAPES_COLORS = np.array(
    [(128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153), (153, 153, 153),
     (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152), (70, 130, 180), (220, 20, 60),
     (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32)],
    dtype=np.uint8,
)  # fmt: skip
# Cityscapes labelIds -> the 19 train ids (cityscapesScripts' labels.py); every other id is ignored.
CITYSCAPES_TRAIN_IDS = np.full(256, 255, dtype=np.int64)
for _label_id, _train_id in zip((7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33),
                                range(19)):  # fmt: skip
    CITYSCAPES_TRAIN_IDS[_label_id] = _train_id


class DatasetError(ValueError):
    """A dataset on disk is missing, empty or malformed; the message names the file and the fault."""


class ViewUnavailable(DatasetError):
    """The data cannot give the view a recipe asks for (pairs from a CycleGAN folder, labels from CIFAR-10)."""


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


class SyntheticScenes(_Base):
    """synthetic_scenes (studies/synthetic.py): paired, unpaired (disjoint halves) or photos only."""

    classes, colors = synthetic.CLASSES, synthetic.COLORS
    views = ("paired", "unpaired", "unconditional")

    def __init__(self, cfg: DataConfig, split: str = "train", augment: bool = False, view: View = "paired"):
        super().__init__(cfg, split, augment, view)
        counts = {"train": cfg.n_train, "val": cfg.n_val, "test": cfg.n_test}
        self.start = sum(counts[s] for s in SPLITS[: SPLITS.index(split)])
        self.count = counts[split] // 2 if view == "unpaired" else counts[split]
        if self.count <= 0:
            raise DatasetError(f"synthetic_scenes: split {split!r} is empty (n_{split}={counts[split]})")
        self.sketches = cfg.name == "synthetic_sketches"
        self.identity = f"{cfg.name}-v1-seed{cfg.seed}-{cfg.n_train}-{cfg.n_val}-{cfg.n_test}"
        self._cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]] = {}

    def __len__(self) -> int:
        return self.count

    @property
    def drawing(self) -> str:
        return "sketch" if self.sketches and self.view != "unconditional" else super().drawing

    def scene(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(label, photo, sketch or None, instance map or None) of one scene."""
        if index not in self._cache:
            if self.sketches:  # a drawing is the input: no instance map
                (label, sketch, photo), inst = render_sketch(self.cfg.seed, index, self.cfg.size), None
            else:
                (label, photo, inst, _), sketch = synthetic.render_instances(self.cfg.seed, index, self.cfg.size), None
            inst = inst.astype(np.int32) if inst is not None else None  # compact: each DataLoader worker keeps one
            self._cache[index] = (label.astype(np.uint8), photo, sketch, inst)
        return self._cache[index]

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < self.count:
            raise IndexError(i)
        index = self.start + i
        label, photo, sketch, inst = self.scene(index)
        item = {"b": to_tensor(photo), "index": torch.tensor(index)}
        if self.view != "unconditional":
            a = sketch if self.sketches else synthetic.colorize(label)
            item["a"], item["label"] = to_tensor(a), torch.from_numpy(label.astype(np.int64))
            if inst is not None:
                item["instance"] = torch.from_numpy(inst.astype(np.int64))
        if self.view == "unpaired":  # B from the other half of the split, at random: never the pair of A
            j = self.start + self.count + int(torch.randint(self.count, ()))
            return self._unpaired(item, to_tensor(self.scene(j)[1]))
        return self._finish(item)


def make_dataset(cfg: DataConfig, split: str, augment: bool = False, view: View = "paired") -> _Base:
    """The dataset that `cfg.name` names: synthetic_scenes, or a local root whose layout is detected."""
    if cfg.name in ("synthetic_scenes", "synthetic_sketches"):
        return SyntheticScenes(cfg, split, augment, view)
    if cfg.name == "gaussian_surfaces":
        return GaussianSurfaces(cfg, split, augment, view)
    from studies.folders import AlignedFolder, Cityscapes, TorchvisionImages, UnpairedFolder

    root = Path(cfg.name)
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset folder not found (or use 'synthetic_scenes')")
    if (root / "gtFine").is_dir() or (root / "leftImg8bit").is_dir():
        return Cityscapes(cfg, split, augment, view)
    if (root / "cifar-10-batches-py").is_dir():
        return TorchvisionImages(cfg, split, augment, view, kind="cifar10")
    if (root / "celeba").is_dir():
        return TorchvisionImages(cfg, split, augment, view, kind="celeba")
    if any((root / f"{s}A").is_dir() for s in SPLITS):
        return UnpairedFolder(cfg, split, augment, view)
    if any((root / s).is_dir() for s in SPLITS):
        return AlignedFolder(cfg, split, augment, view)
    expected = (
        "train/ val/ test/ (aligned A|B), trainA/ trainB/ testA/ testB/ (CycleGAN), gtFine/ + leftImg8bit/, "
        "cifar-10-batches-py/ or celeba/"
    )
    raise DatasetError(f"{root}: unrecognised layout; expected {expected}")
