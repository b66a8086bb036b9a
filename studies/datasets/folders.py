"""Real datasets from a local path (nothing is downloaded): pix2pix aligned A|B folders, CycleGAN's unpaired
folders, Cityscapes, CIFAR-10 / CelebA roots through torchvision (download=False).

Every item follows studies/datasets/base.py's convention. Unpaired views draw each item's B at random, independently of
A, as the reference's unaligned dataset does (github.com/junyanz/pytorch-CycleGAN-and-pix2pix
data/unaligned_dataset.py: A index = i mod |A|, B index random, length max(|A|, |B|)); a CycleGAN folder has
no pairs unless its A and B files share their stems (then it is paired data too), so metrics that compare an
output with its own target cannot score an unpaired one (the runner says so before training). Each fault raises
DatasetError naming the file.

The studies' test split of Cityscapes is its val/ folder: the public gtFine/test labels are placeholders, and
pix2pix scores Cityscapes on val's 500 images (the reference's scripts/eval_cityscapes). An aligned folder
without test/ (pix2pix's cityscapes and maps downloads have train/ and val/ only) is tested on val/ likewise.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from studies.datasets import synthetic
from studies.datasets.base import (
    DataConfig,
    DatasetError,
    View,
    _Base,  # fmt: skip
    _list_images,
    _read_label,
    check_file,
    read_image,
    to_tensor,
)

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


class AlignedFolder(_Base):
    """pix2pix-format folder: root/{train,val,test}/*.png, each image A|B side by side; paired, or unpaired
    (each B from another file at random) for CycleGAN."""

    views = ("paired", "unpaired", "unconditional")

    def __init__(self, cfg: DataConfig, split: str = "train", augment: bool = False, view: View = "paired"):
        super().__init__(cfg, split, augment, view)
        root = Path(cfg.name)
        if not root.is_dir():
            raise DatasetError(f"{root}: dataset folder not found")
        folder = "val" if split == "test" and not (root / "test").is_dir() and (root / "val").is_dir() else split
        self.files = _list_images(root / folder, f"aligned {split!r} split")
        self.identity = f"aligned:{root.resolve()}:{_fingerprint(self.files)}"

    def __len__(self) -> int:
        return len(self.files)

    def native_size(self) -> tuple[int, int]:
        w, h = check_file(self.files[0])
        return h, w // 2

    def validate(self) -> None:
        for path in self.files:
            w, _ = check_file(path)
            if w % 2:
                raise DatasetError(f"{path}: width {w} is odd, so it is not an A|B pair of equal halves")

    def _pair(self, i: int) -> tuple:
        path = self.files[i]
        ab = read_image(path)
        h, w, _ = ab.shape
        if w % 2:
            raise DatasetError(f"{path}: width {w} is odd, so it is not an A|B pair of equal halves")
        a, b = to_tensor(ab[:, : w // 2]), to_tensor(ab[:, w // 2 :])
        return (b, a) if self.cfg.direction == "BtoA" else (a, b)

    def __getitem__(self, i: int) -> dict:
        a, b = self._pair(i)
        if self.view == "unpaired":
            return self._unpaired({"a": a, "index": torch.tensor(i)}, self._pair(int(torch.randint(len(self), ())))[1])
        return self._finish({"a": a, "b": b, "index": torch.tensor(i)})


class Cityscapes(_Base):
    """Cityscapes root: leftImg8bit/<split>/<city>/*_leftImg8bit.png with gtFine/.../*_gtFine_labelIds.png."""

    classes, colors = CITYSCAPES_CLASSES, CITYSCAPES_COLORS
    views = ("paired", "unpaired", "unconditional")

    def __init__(self, cfg: DataConfig, split: str = "train", augment: bool = False, view: View = "paired"):
        super().__init__(cfg, split, augment, view)
        root, folder = Path(cfg.name), "val" if split == "test" else split  # test labels are placeholders
        self.photos = _list_images(root / "leftImg8bit" / folder, f"Cityscapes leftImg8bit/{folder}")
        if not (root / "gtFine" / folder).is_dir():
            raise DatasetError(f"{root / 'gtFine' / folder}: Cityscapes gtFine/{folder} folder not found")
        self.identity = f"cityscapes:{root.resolve()}:{folder}:{_fingerprint(self.photos)}"
        self.root = root

    def validate(self) -> None:
        for photo in self.photos:
            label = self.label_path(photo)
            if not label.exists():
                raise DatasetError(f"{label}: label file of {photo.name} not found")
            size, label_size = check_file(photo), check_file(label)
            if size != label_size:
                raise DatasetError(f"{label}: label map of size {label_size} does not match its photo "
                                   f"{photo.name} of size {size}")  # fmt: skip

    def label_path(self, photo: Path) -> Path:
        rel = photo.relative_to(self.root / "leftImg8bit")
        return self.root / "gtFine" / rel.parent / rel.name.replace("_leftImg8bit", "_gtFine_labelIds")

    def __len__(self) -> int:
        return len(self.photos)

    def __getitem__(self, i: int) -> dict:
        photo_path = self.photos[i]
        label_path = self.label_path(photo_path)
        photo, label_ids = read_image(photo_path), _read_label(label_path)
        if label_ids.ndim != 2 or label_ids.shape != photo.shape[:2]:
            raise DatasetError(f"{label_path}: label map of shape {label_ids.shape} does not match "
                               f"its photo {photo_path.name} of size {photo.shape[:2]}")  # fmt: skip
        label = CITYSCAPES_TRAIN_IDS[label_ids]
        item = {"a": to_tensor(synthetic.colorize(label, CITYSCAPES_COLORS)), "b": to_tensor(photo),
                "label": torch.from_numpy(label), "index": torch.tensor(i)}  # fmt: skip
        inst_path = label_path.with_name(label_path.name.replace("_labelIds", "_instanceIds"))
        if inst_path.exists():  # pix2pixHD / SPADE draw instance boundaries from it
            inst = _read_label(inst_path)
            if inst.shape != label_ids.shape:
                raise DatasetError(f"{inst_path}: instance map of shape {inst.shape} does not match its label map "
                                   f"{label_ids.shape}")  # fmt: skip
            item["instance"] = torch.from_numpy(inst.astype(np.int64))
        if self.view == "unpaired":  # labels of A, the photo of another scene
            other = read_image(self.photos[int(torch.randint(len(self), ()))])
            return self._unpaired({k: v for k, v in item.items() if k != "b"}, to_tensor(other))
        return self._finish(item)


class TorchvisionImages(_Base):
    """CIFAR-10 or CelebA from a local torchvision root (download=False): photos only, as `b`. CelebA's 178 x 218
    aligned faces are centre-cropped to 178 x 178 first (Progressive GAN crops its CelebA too), then resized."""

    views = ("unconditional",)

    def __init__(self, cfg: DataConfig, split: str = "train", augment: bool = False, view: View = "unconditional",
                 kind: str = "cifar10"):  # fmt: skip
        super().__init__(cfg, split, augment, view)
        import torchvision.datasets as tvd

        root = Path(cfg.name)
        try:
            if kind == "cifar10":
                self.ds = tvd.CIFAR10(str(root), train=split == "train", download=False)
            else:
                self.ds = tvd.CelebA(str(root), split={"val": "valid"}.get(split, split), download=False)
        except (RuntimeError, FileNotFoundError, OSError) as e:
            layout = "cifar-10-batches-py/" if kind == "cifar10" else "celeba/img_align_celeba/ + list files"
            raise DatasetError(f"{root}: no {kind} dataset found (expected {layout}): {e}") from None
        self.identity = f"{kind}:{root.resolve()}:{split}"

    def __len__(self) -> int:
        return len(self.ds)

    def _image(self, i: int) -> np.ndarray:
        image = np.asarray(self.ds[i][0].convert("RGB"))
        h, w, _ = image.shape
        s = min(h, w)
        return image[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]

    def native_size(self) -> tuple[int, int]:
        return self._image(0).shape[:2]

    def __getitem__(self, i: int) -> dict:
        return self._finish({"b": to_tensor(self._image(i)), "index": torch.tensor(i)})


def _fingerprint(files: list[Path]) -> str:
    h = hashlib.sha1()
    for p in files:
        st = p.stat()
        h.update(f"{p.name}:{st.st_size}".encode())
    return h.hexdigest()[:12]


def _read_domain(path: Path) -> np.ndarray:
    """An image with its own channels: (H, W, 1) for grayscale, (H, W, 3) otherwise (RGBA and palettes to RGB)."""
    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("L" if im.mode in ("L", "I;16", "I", "1") else "RGB"))
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except OSError as e:
        raise DatasetError(f"{path}: not a readable image ({e})") from None
    return arr[..., None] if arr.ndim == 2 else arr


def _channels(path: Path) -> int:
    with Image.open(path) as im:
        return 1 if im.mode in ("L", "I;16", "I", "1") else 3


class UnpairedFolder(_Base):
    """CycleGAN's layout: root/{trainA, trainB, testA, testB} (valA/valB optional). Unpaired view: item i is
    A[i mod |A|] with a random B; the length is max(|A|, |B|), as the reference. When a split's A and B files have
    the same stems one to one (the CycleGAN paper's Cityscapes evaluation; its download script's cityscapes
    folder), that split is paired data as well: the paired view gives A and B of one stem, so paired metrics
    and paired recipes can use it (`pairing` says which was found). Grayscale domains keep one channel."""

    views = ("unpaired", "unconditional")

    def __init__(self, cfg: DataConfig, split: str = "train", augment: bool = False, view: View = "unpaired"):
        root = Path(cfg.name)
        self.files = {d: _list_images(root / f"{split}{d}", f"CycleGAN {split}{d}") for d in "AB"}
        stems = [[p.stem for p in self.files[d]] for d in "AB"]
        paired = stems[0] == stems[1] and len(set(stems[0])) == len(stems[0])
        self.views = ("paired", *UnpairedFolder.views) if paired else UnpairedFolder.views
        self.pairing = f"paired by file stem ({len(stems[0])} items)" if paired else "unpaired (A and B stems differ)"
        super().__init__(cfg, split, augment, view)
        kind = "paired" if view == "paired" else "unpaired"
        self.identity = f"{kind}:{root.resolve()}:{split}:{_fingerprint(self.files['A'] + self.files['B'])}"

    def __len__(self) -> int:
        return max(len(self.files["A"]), len(self.files["B"]))

    def validate(self) -> None:
        """Every file readable; all images of a domain with the same number of channels."""
        for files in self.files.values():
            first = None
            for path in files:
                check_file(path)
                c = _channels(path)
                first = first or (c, path)
                if c != first[0]:
                    raise DatasetError(f"{path}: {c} channel(s), but {first[1].name} in the same domain has {first[0]}")

    def __getitem__(self, i: int) -> dict:
        a = to_tensor3(_read_domain(self.files["A"][i % len(self.files["A"])]))
        if self.view == "paired":  # A and B of one stem
            return self._finish({"a": a, "b": to_tensor3(_read_domain(self.files["B"][i])), "index": torch.tensor(i)})
        b = to_tensor3(_read_domain(self.files["B"][int(torch.randint(len(self.files["B"]), ()))]))
        if self.view == "unconditional":
            return self._finish({"b": b, "index": torch.tensor(i)})
        return self._unpaired({"a": a, "index": torch.tensor(i)}, b)


def to_tensor3(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, C) with C = 1 or 3 -> float32 (C, H, W) in [-1, 1]."""
    return torch.from_numpy(np.array(image, copy=True)).permute(2, 0, 1).float().div(127.5).sub(1.0)
