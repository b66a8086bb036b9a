"""A study's data written out for models trained elsewhere: `python -m studies.run NAME --export-data DIR`.

The train and test splits at the study's resolution (its profile's data config, no augmentation: a reference
repository applies its own), every item named by its item id (`<index:06d>`, the id of per_item.csv and of the
test PNGs), in the layouts the reference repositories read (github.com/junyanz/pytorch-CycleGAN-and-pix2pix):
- `aligned/{train,test}/<id>.png`: A|B side by side, pix2pix's aligned format (`--dataroot DIR/aligned`);
- `cyclegan/{trainA,trainB,testA,testB}/<id>.png`: CycleGAN's unaligned format, A and B of an item share the id;
- `images/{train,test}/<id>.png`: the photos alone, for unconditional models;
- `labels/{train,test}/<id>.png`: class-id PNGs (uint8, 255 = ignore), and `instances/...` (16-bit) where the
  data has instance maps (pix2pixHD and SPADE read both).
A paired dataset gives all of them; an unpaired one (a CycleGAN folder) the cyclegan layout and images; an
unconditional one images only. `manifest.json` records the study, dataset, profile, size, image convention,
item ids per split and the SHA-256 of every file; README.txt says what to write back. PNG only: lossless.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from studies.datasets import DatasetError, ViewUnavailable, make_dataset
from studies.datasets.base import to_uint8

EXPORTED = ("train", "test")  # the splits a model trained elsewhere needs
README = """ganbench export of study {study} (dataset {dataset}, profile {profile}, {size}x{size} px).

Train your model on aligned/train (pix2pix: --dataroot {root}/aligned --direction AtoB), on cyclegan/
(CycleGAN: --dataroot {root}/cyclegan), or on images/ (unconditional); labels/ and instances/ hold the label
and instance maps by the same names. To compare your model with the study's variants item by item, write one
output per test item, named by its item id as in the test folders (e.g. 000123.png), as PNG at {size}x{size},
one folder per training seed (s0/, s1/, ...). (Importing such a folder into the study is not in this version
of ganbench yet.)

manifest.json lists every item id of each split and the SHA-256 of every file written here.
"""


def _png(array: np.ndarray, path: Path, hashes: dict, root: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    hashes[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()


def _dataset(data, split: str):
    """The split in the richest view the data gives: paired, else unpaired, else photos only."""
    for view in ("paired", "unpaired", "unconditional"):
        try:
            return make_dataset(data, split, augment=False, view=view)
        except ViewUnavailable:
            continue
    raise DatasetError(f"{data.name}: no view of the {split} split can be exported")


def _image(x) -> np.ndarray:
    """uint8 (H, W, 3), or (H, W) for one channel."""
    x = to_uint8(x)
    return x[..., 0] if x.shape[2] == 1 else x


def _write_item(item: dict, split: str, view: str, root: Path, hashes: dict) -> str:
    name = f"{int(item['index']):06d}.png"
    a = _image(item["a"]) if "a" in item else None
    b = _image(item["b"])
    if view == "paired":
        _png(np.concatenate([a, b], axis=1), root / "aligned" / split / name, hashes, root)
    if a is not None:
        _png(a, root / "cyclegan" / f"{split}A" / name, hashes, root)
        _png(b, root / "cyclegan" / f"{split}B" / name, hashes, root)
    _png(b, root / "images" / split / name, hashes, root)
    if "label" in item:
        _png(item["label"].numpy().astype(np.uint8), root / "labels" / split / name, hashes, root)
    if "instance" in item:
        _png(item["instance"].numpy().astype(np.uint16), root / "instances" / split / name, hashes, root)
    return name[:-4]


def export(study: str, profile: str, spec, dest: Path) -> dict:
    """Write the study's data (the RunSpec `spec` of its first run) to `dest` and return the manifest. The
    folder is written beside `dest` and moved into place at the end: an interrupted export leaves nothing."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise DatasetError(f"{dest}: exists and is not an empty folder; export into a new folder")
    if getattr(spec.recipe_cls, "modality", "image") != "image":
        raise DatasetError(f"{spec.data.name}: not image data ({spec.recipe_cls.modality}); nothing to export as PNG")
    sets = {split: _dataset(spec.data, split) for split in EXPORTED}  # every fault before anything is written
    if sets["test"].view == "unpaired":
        raise DatasetError(f"{spec.data.name}: unpaired data has no item ids across A and B; it is a CycleGAN "
                           "folder already (trainA/ trainB/ testA/ testB/)")  # fmt: skip
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}-"))
    try:
        hashes, ids = {}, {}
        for split, ds in sets.items():
            ids[split] = [_write_item(ds[i], split, ds.view, tmp, hashes) for i in range(len(ds))]
        manifest = {"study": study, "dataset": spec.data.name, "profile": profile, "size": spec.data.size,
                    "view": sets["test"].view, "convention": "RGB uint8 PNG; labels uint8 class ids (255 ignore); "
                    "instances uint16; A = input, B = target", "classes": list(getattr(sets["test"], "classes", ())),
                    "items": ids, "sha256": hashes}  # fmt: skip
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
        (tmp / "README.txt").write_text(README.format(study=study, dataset=spec.data.name, profile=profile,
                                                      size=spec.data.size, root=dest))  # fmt: skip
        if dest.exists():
            dest.rmdir()
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest
