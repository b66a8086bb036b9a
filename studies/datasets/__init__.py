"""The studies' datasets, and `make_dataset`, which picks one from a DataConfig: the embedded synthetic_scenes,
synthetic_sketches and gaussian_surfaces, or a local root whose layout is detected (pix2pix aligned A|B folders,
CycleGAN's trainA/ trainB/, Cityscapes, CIFAR-10 / CelebA through torchvision with download=False).

The item convention, augmentation and the file checks every dataset shares are in base.py; nothing is ever
downloaded, and every fault raises DatasetError naming the file.
"""

from __future__ import annotations

from pathlib import Path

from models.contract import View
from studies.datasets.base import SPLITS, DataConfig, DatasetError, SurfaceConfig, ViewUnavailable, _Base
from studies.datasets.folders import AlignedFolder, Cityscapes, TorchvisionImages, UnpairedFolder
from studies.datasets.scenes import SyntheticScenes
from studies.datasets.surfaces import GaussianSurfaces

__all__ = ["DataConfig", "DatasetError", "SurfaceConfig", "ViewUnavailable", "make_dataset"]


def make_dataset(cfg: DataConfig, split: str, augment: bool = False, view: View = "paired") -> _Base:
    """The dataset that `cfg.name` names: synthetic_scenes, or a local root whose layout is detected."""
    if cfg.name in ("synthetic_scenes", "synthetic_sketches"):
        return SyntheticScenes(cfg, split, augment, view)
    if cfg.name == "gaussian_surfaces":
        return GaussianSurfaces(cfg, split, augment, view)
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
