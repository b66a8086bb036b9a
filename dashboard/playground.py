"""Playground logic, drawn by dashboard/views/playground.py: finished runs opened for inference, a drawing made
into each run's input, and each run's translation of it. NumPy and torch only, no Streamlit.

Follows the interactive pages of two reports we follow: Liu's web page that translates a drawn label map
(pix2pixHD, SPADE), and the drawing pane of Beggs, Khadem, Lund, Thompson (brush size, eraser, save; the
pix2pix and CycleGAN outputs beside it). Runs are opened by studies/runner/checkpoints.py `load_run`, the one loader
of rescoring and the dashboard. Deviations: the canvas is drawn at an integer multiple of the runs'
resolution and reduced to it block by block: a label map takes each block's majority class after every
canvas pixel is snapped to the palette (antialiased stroke edges never invent a class), a sketch is black
where at least half of a block is dark; fill is a 4-connected flood fill at the runs' resolution.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from scipy import ndimage

from models.contract import Progress
from studies.datasets.base import to_tensor, to_uint8
from studies.runner.checkpoints import load_run

WHITE, BLACK = np.array([255, 255, 255], np.uint8), np.array([0, 0, 0], np.uint8)


class PlaygroundError(ValueError):
    """A run or a file the Playground cannot use; the message names it and says why."""


@dataclass
class Model:
    """One finished run, ready to translate drawings."""

    run_id: str
    recipe: object
    progress: Progress
    drawing: str  # what its input is: "labels", "sketch" or "image" (studies/datasets/base.py _Base.drawing)
    size: int  # px of the nets' input
    channels: int  # channels of the nets' input
    classes: tuple[str, ...]  # label classes (labels only)
    colors: np.ndarray | None  # (K, 3) uint8 palette of the classes (labels only)
    output: str  # translate's key of the output image
    test_set: object  # the run's test split, for starting from a test input
    multimodal: bool = False  # one drawing, several outputs (a latent per output): the recipe's `multimodal`

    @property
    def canvas(self) -> tuple:
        """What the canvas must draw for this run: runs with equal values can share one canvas."""
        colors = tuple(map(tuple, self.colors.tolist())) if self.colors is not None else ()
        return self.drawing, self.classes, colors

    def describe_canvas(self) -> str:
        if self.drawing == "labels":
            return f"label maps of {len(self.classes)} classes ({', '.join(self.classes[:4])}, ...)"
        return {"sketch": "sketches (black strokes on white)", "image": "RGB pictures"}[self.drawing]


def open_run(run_dir: Path, device: str = "cpu") -> Model:
    """The finished run in `run_dir`; CheckpointError or PlaygroundError names the file or run at fault."""
    run_dir = Path(run_dir)
    loaded = load_run(run_dir, device)
    test, output = loaded.test_set, loaded.spec.recipe_cls.test_images.get("output")
    if not test.drawing or "input" not in loaded.spec.recipe_cls.test_images:
        raise PlaygroundError(f"{run_dir.name}: an unconditional {loaded.spec.recipe} run: it has no input to draw")
    channels = int(test[0]["a"].shape[0])
    classes = tuple(test.classes) if test.drawing == "labels" else ()
    colors = np.asarray(test.colors, np.uint8)[: len(classes)] if classes else None
    return Model(run_dir.name, loaded.recipe, loaded.progress, test.drawing, loaded.spec.data.size, channels,
                 classes, colors, output, test, bool(getattr(loaded.recipe, "multimodal", False)))  # fmt: skip


def blank(drawing: str, size: int, colour=None) -> np.ndarray:
    """A canvas of one colour (labels: the background class's), white for sketches and pictures."""
    fill = WHITE if colour is None else np.asarray(colour, np.uint8)
    return np.broadcast_to(fill, (size, size, 3)).copy()


def test_input(model: Model, index: int) -> np.ndarray:
    """The input `a` of test item `index` as uint8 (size, size, 3)."""
    a = model.test_set[index]["a"]
    return to_uint8(a.expand(3, -1, -1) if a.shape[0] == 1 else a)


def snap(image: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """Class index (H, W) of the nearest palette colour of every pixel of uint8 (H, W, 3)."""
    d = ((image[:, :, None, :].astype(np.int32) - colors[None, None].astype(np.int32)) ** 2).sum(-1)
    return d.argmin(-1)


def reduce(display: np.ndarray, size: int, drawing: str, colors: np.ndarray | None = None) -> np.ndarray:
    """A canvas image uint8 (S*k, S*k, 3) at the runs' resolution (size, size, 3), as the module docstring says."""
    h, w = display.shape[:2]
    if h % size or w % size or h != w:
        raise PlaygroundError(f"the canvas is {w}x{h} px, not a multiple of the runs' {size} px")
    k = h // size
    if drawing == "labels":
        idx = snap(display, colors).reshape(size, k, size, k)
        counts = np.stack([(idx == c).sum((1, 3)) for c in range(len(colors))], -1)
        return colors[counts.argmax(-1)]
    blocks = display.reshape(size, k, size, k, 3).astype(np.float64)
    if drawing == "sketch":
        dark = (blocks.mean(-1) < 128).mean((1, 3)) >= 0.5
        return np.where(dark[..., None], BLACK, WHITE).astype(np.uint8)
    return blocks.mean((1, 3)).round().astype(np.uint8)


def enlarge(image: np.ndarray, k: int) -> np.ndarray:
    """Nearest-neighbour enlargement by an integer factor (what the canvas shows behind the strokes)."""
    return image.repeat(k, 0).repeat(k, 1)


def compose(base: np.ndarray, strokes: np.ndarray | None) -> np.ndarray:
    """The canvas as shown: strokes (RGBA, what the canvas returns) over the enlarged base image (RGB)."""
    if strokes is None or strokes.shape[:2] != base.shape[:2]:
        return base
    alpha = strokes[..., 3:4].astype(np.float64) / 255
    return (base * (1 - alpha) + strokes[..., :3] * alpha).round().astype(np.uint8)


def flood_fill(image: np.ndarray, y: int, x: int, colour) -> np.ndarray:
    """`image` with the 4-connected region of equal colour around (y, x) painted `colour`."""
    same = (image == image[y, x]).all(-1)
    regions, _ = ndimage.label(same)
    out = image.copy()
    out[regions == regions[y, x]] = np.asarray(colour, np.uint8)
    return out


def read_upload(name: str, data: bytes, size: int, drawing: str, colors: np.ndarray | None = None) -> np.ndarray:
    """An uploaded picture as the runs' input: resized to (size, size), labels snapped to the palette,
    sketches made black and white. PlaygroundError names the file when it is not a readable image."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            rgb = im.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise PlaygroundError(f"{name}: not a readable image ({e})") from None
    return fit(np.asarray(rgb), size, drawing, colors)


def fit(image: np.ndarray, size: int, drawing: str, colors: np.ndarray | None = None) -> np.ndarray:
    """uint8 (H, W, 3) resized to (size, size, 3) as an input of its kind: labels nearest and snapped to the
    palette (a resize must not blend two classes into a third), sketches black and white, pictures Lanczos."""
    im = Image.fromarray(image)
    if drawing == "labels":
        return colors[snap(np.asarray(im.resize((size, size), Image.Resampling.NEAREST)), colors)]
    out = np.asarray(im.resize((size, size), Image.Resampling.LANCZOS)) if image.shape[:2] != (size, size) else image
    if drawing == "sketch":
        return np.where((out.mean(-1) < 128)[..., None], BLACK, WHITE).astype(np.uint8)
    return out


def as_input(model: Model, drawing: np.ndarray) -> torch.Tensor:
    """The drawing (uint8 (S, S, 3) at any S) as the run's input batch (1, C, size, size) in [-1, 1]."""
    if drawing.shape[:2] != (model.size, model.size):
        drawing = fit(drawing, model.size, model.drawing, model.colors)
    x = to_tensor(drawing)
    if model.channels == 1:
        x = x.mean(0, keepdim=True)
    return x[None]


def as_batch(model: Model, drawing: np.ndarray) -> dict[str, torch.Tensor]:
    """The drawing as a batch of one: the input `a`, plus for label drawings the label map (each pixel's palette
    class) and an instance map (each connected region of a class one instance), which label-map recipes
    (pix2pixHD, SPADE) read in place of the colours."""
    a = as_input(model, drawing)
    batch = {"a": a}
    if model.drawing == "labels" and model.colors is not None:
        rgb = to_uint8(a[0]).astype(np.int64)
        label = np.abs(rgb[:, :, None, :] - model.colors[None, None].astype(np.int64)).sum(-1).argmin(-1)
        inst = np.zeros_like(label)
        for k in np.unique(label):
            regions, n = ndimage.label(label == k)
            inst[regions > 0] = regions[regions > 0] + inst.max()
        batch |= {"label": torch.from_numpy(label)[None], "instance": torch.from_numpy(inst)[None]}
    return batch


def translate(model: Model, drawing: np.ndarray, latent: int = 0) -> np.ndarray:
    """The run's output for the drawing, uint8 (size, size, 3). A multimodal run (`model.multimodal`: SPADE's
    VAE) draws its latent from the prior under the seed `latent`, so each latent gives its own photo, the same
    one every time; the caller's random state is left as it was."""
    device = next(next(iter(model.recipe.nets.values())).parameters()).device
    with torch.no_grad(), torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(latent)
        batch = {k: v.to(device) for k, v in as_batch(model, drawing).items()}
        out = model.recipe.translate(batch, model.progress)[model.output]
    out = out[0].float().cpu()
    return to_uint8(out.expand(3, -1, -1) if out.shape[0] == 1 else out)


def png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def zip_pngs(images: dict[str, np.ndarray]) -> bytes:
    """{file stem: image} as one zip of PNG files (the page's "download all")."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, image in images.items():
            z.writestr(f"{safe_name(name)}.png", png(image))
    return buf.getvalue()


def safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
