"""Outputs and truths a user hands us as folders of images, matched by file stem and checked before any work:
the one owner of these rules, used by `python -m metrics.score` (folder against folder) and by a study's
`--import-outputs` (studies/runner/imported.py).

Stems understood (the convention found is reported): the item id (`000123.png`, or `123.png`), junyanz test.py's
`<id>_fake_B.png` (its `_real_A` / `_real_B` siblings ignored), pix2pixHD's `<id>_synthesized_image.*`, SPADE's
`synthesized_image/<id>.png`, the `images/` folder of a junyanz or pix2pixHD results page, and a ganbench run's
own `samples/test/<id>_output.png`. pyiqa pairs files by sorted position and the paired-translation repositories
by an unchecked "same name" rule; here a missing, extra or duplicate stem, a wrong size, mode or channel count, a
lossy format (refused unless allowed), an empty or unreadable file is an OutputsRefused naming the file and what
to do, before anything is scored. Images come back in the ganbench convention: float (C, H, W) in [-1, 1].
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

LOSSLESS = {".png", ".bmp", ".tif", ".tiff", ".ppm", ".pgm"}
LOSSY = {".jpg", ".jpeg", ".webp"}
CONVENTIONS = (  # (name, stem pattern with the item id as group "id", stems of sibling files to ignore)
    ("item id", r"(?P<id>\d+)", None),
    ("junyanz test.py (<id>_fake_B)", r"(?P<id>.+)_fake_B", r".+_(real_A|real_B|fake_A|rec_A|rec_B|idt_A|idt_B)"),
    ("pix2pixHD test.py (<id>_synthesized_image)", r"(?P<id>.+)_synthesized_image", r".+_(input_label|real_image)"),
    ("ganbench samples/test (<id>_output)", r"(?P<id>\d+)_output", r"\d+_(input|truth|reconstruction|output_a)"),
)
RESIZE = {"bicubic": Image.Resampling.BICUBIC, "nearest": Image.Resampling.NEAREST}


class OutputsRefused(ValueError):
    """Files that cannot be scored as given: the message names the file or folder and what to do."""


def item_id(stem: str) -> str:
    """The item id a stem names: digits to 6 places (`123` -> `000123`, as exports name items), else the stem."""
    return f"{int(stem):06d}" if stem.isdigit() else stem


def image_folder(folder: Path) -> Path:
    """The folder the images are in: SPADE's synthesized_image/, a results page's images/, or the folder."""
    for sub in ("synthesized_image", "images"):
        if (folder / sub).is_dir() and not images(folder):
            return folder / sub
    return folder


def images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in LOSSLESS | LOSSY)


def match(folder: Path, ids: dict[str, int]) -> tuple[str, dict[int, Path]]:
    """(convention, {item index: file}) of one seed's folder; OutputsRefused on missing, extra or duplicate stems."""
    folder = image_folder(folder)
    files = images(folder)
    if not files:
        raise OutputsRefused(f"{folder}: no image files (.png, .bmp, .tif; .jpg with --allow-lossy)")
    best = None
    for name, pattern, siblings in CONVENTIONS:
        found = {}
        for f in files:
            m = re.fullmatch(pattern, f.stem)
            if m:
                key = m["id"]
                found.setdefault(item_id(key), []).append(f)
        hits = sum(k in ids for k in found)
        if best is None or hits > best[0]:
            best = (hits, name, found, siblings)
    _, convention, found, siblings = best
    dupes = {k: v for k, v in found.items() if len(v) > 1}
    if dupes:
        k, v = next(iter(dupes.items()))
        raise OutputsRefused(
            f"{folder}: {len(dupes)} item(s) have more than one file, e.g. item {k}: "
            f"{', '.join(p.name for p in v)}; keep one file per item"
        )
    pattern = next(p for n, p, _ in CONVENTIONS if n == convention)
    extra = [
        f.name for f in files if not re.fullmatch(pattern, f.stem) and not (siblings and re.fullmatch(siblings, f.stem))
    ] + [v[0].name for k, v in found.items() if k not in ids]
    if extra:
        raise OutputsRefused(
            f"{folder}: {len(extra)} file(s) match no test item of the study, e.g. "
            f"{', '.join(extra[:3])} (convention {convention}; the item ids are in the export's "
            "manifest.json); move them away"
        )
    missing = [k for k in ids if k not in found]
    if missing:
        raise OutputsRefused(
            f"{folder}: {len(missing)} of {len(ids)} test item(s) have no output, e.g. "
            f"{', '.join(missing[:5])} (convention {convention}); every test item needs one"
        )
    return convention, {ids[k]: v[0] for k, v in found.items()}


def read_image(path: Path, size: int, channels: int, resize: str | None, allow_lossy: bool) -> torch.Tensor:
    """(C, H, W) in [-1, 1] after the checks; OutputsRefused naming the file."""
    if path.suffix.lower() in LOSSY and not allow_lossy:
        raise OutputsRefused(
            f"{path}: {path.suffix} is lossy (JPEG artefacts change every metric); save the outputs "
            "as PNG, or pass --allow-lossy (recorded in the protocol)"
        )
    if path.stat().st_size == 0:
        raise OutputsRefused(f"{path}: empty file")
    try:
        with Image.open(path) as im:
            im.load()
            image = im.copy()
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise OutputsRefused(f"{path}: not a readable image ({e})") from e
    want = {3: ("RGB",), 1: ("L",)}.get(channels, ())
    if image.mode not in want:
        raise OutputsRefused(
            f"{path}: mode {image.mode} ({len(image.getbands())} channel(s)); the study's outputs "
            f"have {channels} channel(s) ({' or '.join(want)}): convert the images"
        )
    if image.size != (size, size):
        if resize is None:
            raise OutputsRefused(
                f"{path}: {image.size[0]}x{image.size[1]} px; the study scores {size}x{size}: save "
                "them at that size, or pass --resize bicubic|nearest (recorded in the protocol)"
            )
        image = image.resize((size, size), RESIZE[resize])
    x = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).float().div(127.5).sub(1)
    return x[None] if x.ndim == 2 else x.permute(2, 0, 1)
