"""FCN-score (Isola et al. 2017, pix2pix, arXiv:1611.07004, Sec. 4.2): segment generated photos, compare with
the input label maps.

Reference: pix2pix's scripts/eval_cityscapes (evaluate.py + util.py, a Caffe FCN-8s trained on
Cityscapes). One dataset-level confusion matrix (rows = truth, ignore label 255); per-pixel accuracy =
trace / total; per-class accuracy = mean over classes of diag / row sum; class IoU = mean over classes
of diag / (row + col - diag). The reference adds 1e-12 to every denominator, so a class absent from
both truth and prediction scores 0 and still counts in the means: `absent="zero"` (default) keeps
that; `absent="skip"` leaves such classes out (nanmean). Generated images are resized to the label
resolution (bilinear) before segmentation; labels are never resized.
Deviation: the segmenter is not Caffe FCN-8s on Cityscapes but a segmentation-models-pytorch U-Net
trained here, with no pretrained weights, on the REAL training photos of the dataset at hand
(`train_segmenter`); the same net on real test photos gives the "ground truth" ceiling row.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from metrics.protocol import check_images

SEGMENTER_VERSION = "smp-unet-resnet18-d4-v2"  # part of the cache key: bump when the recipe changes
# v2: the net's initialisation is seeded too (v1 took it from whatever RNG state the process was in)


def confusion(pred: Tensor, target: Tensor, n_classes: int, ignore_index: int = 255) -> Tensor:
    """Confusion matrix (n_classes, n_classes), rows = truth, columns = prediction; ignored pixels skipped.

    Args:
        pred: int (N, H, W) predicted class ids in [0, n_classes).
        target: int (N, H, W) truth ids in [0, n_classes) or `ignore_index`.

    Example:
        >>> confusion(torch.tensor([[[0, 1, 1]]]), torch.tensor([[[0, 1, 255]]]), 2)
        tensor([[1, 0],
                [0, 1]])
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    if pred.is_floating_point() or target.is_floating_point():
        raise TypeError(f"pred and target must be integer class maps, got {pred.dtype} and {target.dtype}")
    valid = target != ignore_index
    t, p = target[valid].long(), pred[valid].long()
    if t.numel() and (t.min() < 0 or t.max() >= n_classes):
        raise ValueError(f"target: labels must be in [0, {n_classes}) or {ignore_index}, found {t.min()}..{t.max()}")
    if p.numel() and (p.min() < 0 or p.max() >= n_classes):
        raise ValueError(f"pred: classes must be in [0, {n_classes}), found {p.min()}..{p.max()}")
    return torch.bincount(t * n_classes + p, minlength=n_classes**2).view(n_classes, n_classes).cpu()


def scores_from_counts(tp, true, pred, absent: Literal["zero", "skip"] = "zero") -> dict:
    """pix2pix FCN-scores from per-class pixel counts (..., C): true positives, truth and prediction totals, as
    the reference's `get_scores` computes them from a confusion matrix's diagonal, row and column sums. Leading
    axes broadcast, so per-item counts summed over any set of items (a bootstrap resample) give that set's scores.

    Returns:
        {"fcn_pixel_acc", "fcn_class_acc", "fcn_class_iou": array (...), "per_class_acc", "per_class_iou":
        array (..., C)}. With absent="skip", classes whose denominator is 0 are NaN and left out.

    Example:
        >>> s = scores_from_counts(np.array([3.0, 0.0]), np.array([4.0, 0.0]), np.array([3.0, 1.0]))
        >>> [round(float(s[k]), 6) for k in ("fcn_pixel_acc", "fcn_class_acc", "fcn_class_iou")]
        [0.75, 0.375, 0.375]
    """
    tp, true, pred = (np.asarray(v, dtype=np.float64) for v in (tp, true, pred))
    if absent == "zero":
        eps = 1e-12  # the reference's convention: empty classes count as 0
        acc, iou = tp / (true + eps), tp / (true + pred - tp + eps)
        mean = np.mean
    elif absent == "skip":
        with np.errstate(invalid="ignore", divide="ignore"):
            acc, iou = tp / true, tp / (true + pred - tp)
        mean = np.nanmean
    else:
        raise ValueError(f"absent must be 'zero' or 'skip', got {absent!r}")
    return {"fcn_pixel_acc": tp.sum(-1) / (true.sum(-1) + 1e-12), "fcn_class_acc": mean(acc, axis=-1),
            "fcn_class_iou": mean(iou, axis=-1), "per_class_acc": acc, "per_class_iou": iou}  # fmt: skip


def scores_from_confusion(conf: Tensor | np.ndarray, absent: Literal["zero", "skip"] = "zero") -> dict:
    """pix2pix FCN-scores from a confusion matrix (rows = truth), as the reference's `get_scores`.

    Returns:
        {"fcn_pixel_acc", "fcn_class_acc", "fcn_class_iou": float, "per_class_acc", "per_class_iou":
        ndarray (C,)}. With absent="skip", classes whose denominator is 0 are NaN and left out.

    Example:
        >>> s = scores_from_confusion(np.array([[3, 1], [0, 0]]))
        >>> [round(s[k], 6) for k in ("fcn_pixel_acc", "fcn_class_acc", "fcn_class_iou")]
        [0.75, 0.375, 0.375]
    """
    h = np.asarray(conf, dtype=np.float64)
    s = scores_from_counts(np.diag(h), h.sum(1), h.sum(0), absent)
    return s | {k: float(s[k]) for k in ("fcn_pixel_acc", "fcn_class_acc", "fcn_class_iou")}


class FCNScore:
    """Accumulates one confusion matrix over generated images and their truth label maps (exact merge).

    `segmenter` is any module whose output's argmax over dim 1 is a class map: the FCN-score's trained net,
    or `NearestColour` for label maps generated as colour images (the `label_*` keys, `prefix="label"`)."""

    merge_exact = True

    def __init__(self, segmenter: nn.Module, n_classes: int, absent: Literal["zero", "skip"] = "zero",
                 prefix: str = "fcn"):  # fmt: skip
        self.seg, self.n, self.absent, self.prefix = segmenter, n_classes, absent, prefix
        self.reset()

    def reset(self) -> None:
        self.confusion = torch.zeros(self.n, self.n, dtype=torch.long)
        self.items: list[Tensor] = []  # per image: (3, C) true-positive, truth and prediction pixel counts

    @torch.no_grad()
    def update(self, fake: Tensor, label: Tensor) -> None:
        check_images(fake, "fake")
        if label.ndim != 3 or label.shape[0] != fake.shape[0]:
            raise ValueError(f"label: expected (N, H, W) with N={fake.shape[0]}, got {tuple(label.shape)}")
        pred, label = segment(self.seg, fake, tuple(label.shape[-2:])), label.to(fake.device)
        per_image = torch.stack([confusion(p[None], t[None], self.n) for p, t in zip(pred, label)])  # (N, C, C)
        self.confusion += per_image.sum(0)
        self.items.append(torch.stack([per_image.diagonal(dim1=1, dim2=2), per_image.sum(2), per_image.sum(1)], 1))

    def per_item(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(positions, {"<prefix>_tp:c", "_true:c", "_pred:c": pixel counts of class c per image}); their sums
        over any set of images give that set's scores (`scores_from_counts`)."""
        counts = torch.cat(self.items).numpy() if self.items else np.zeros((0, 3, self.n))
        kinds = ("tp", "true", "pred")
        out = {f"{self.prefix}_{kind}:{c}": counts[:, k, c] for k, kind in enumerate(kinds) for c in range(self.n)}
        return np.arange(len(counts)), out

    def merge(self, other: FCNScore) -> None:
        self.confusion += other.confusion
        self.items += other.items

    def compute(self) -> dict[str, float]:
        if not self.confusion.sum():
            raise ValueError(f"{self.prefix}_score: no labelled pixels were given")
        s = scores_from_confusion(self.confusion, self.absent)
        return {f"{self.prefix}_{k[4:]}": s[k] for k in ("fcn_pixel_acc", "fcn_class_acc", "fcn_class_iou")}


class NearestColour(nn.Module):
    """A "segmenter" for generated label maps: each pixel's class is the nearest colour of the palette (RGB
    uint8 (C, 3)), the CycleGAN paper's photo -> labels protocol (Zhu et al. 2017, Sec. 5.1.1, Table 3)."""

    def __init__(self, palette: np.ndarray):
        super().__init__()
        colours = torch.as_tensor(np.asarray(palette), dtype=torch.float32) / 127.5 - 1  # our [-1, 1] range
        self.palette = nn.Parameter(colours, requires_grad=False)  # (C, 3)

    def forward(self, images: Tensor) -> Tensor:
        d = (images[:, None] - self.palette[None, :, :, None, None]).pow(2).sum(2)  # (N, C, H, W)
        return -d  # argmax = the nearest colour


@torch.no_grad()
def segment(seg: nn.Module, images: Tensor, size: tuple[int, int]) -> Tensor:
    """Class map (N, *size) of images in [-1, 1], resized bilinearly to the label size first."""
    if tuple(images.shape[-2:]) != size:
        images = F.interpolate(images, size=size, mode="bilinear", align_corners=False)
    was_training = seg.training
    seg.eval()
    param = next(seg.parameters())
    pred = seg(images.to(param.device, param.dtype)).argmax(1)
    seg.train(was_training)
    return pred


def build_segmenter(n_classes: int) -> nn.Module:
    """U-Net (resnet18 encoder, depth 4) from segmentation-models-pytorch, random init, no download."""
    import segmentation_models_pytorch as smp

    return smp.Unet("resnet18", encoder_weights=None, encoder_depth=4, decoder_channels=(128, 64, 32, 16),
                    in_channels=3, classes=n_classes)  # fmt: skip


def segmenter_key(identity: str, n_classes: int, size: int, epochs: int, seed: int) -> str:
    blob = json.dumps([SEGMENTER_VERSION, identity, n_classes, size, epochs, seed])
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def train_segmenter(dataset, n_classes: int, *, size: int, epochs: int = 8, seed: int = 0,
                    device: str | torch.device = "cpu", cache_dir: str | Path | None = None,
                    batch_size: int = 16, lr: float = 2e-3, log=print) -> nn.Module:  # fmt: skip
    """Train (or load from cache) the FCN-score segmenter on REAL photos (`b`) and labels of `dataset`.

    The cache file is `<cache_dir>/segmenter-<hash>.pt`, the hash covering (dataset identity, classes,
    size, epochs, seed, recipe version); it holds a state dict, loaded with weights_only=True.
    """
    device = torch.device(device)
    key = segmenter_key(getattr(dataset, "identity", type(dataset).__name__), n_classes, size, epochs, seed)
    path = Path(cache_dir) / f"segmenter-{key}.pt" if cache_dir else None
    if path and path.exists():
        net = build_segmenter(n_classes)
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return net.to(device).eval()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):  # seeded, and no side effect
        torch.manual_seed(seed)
        net = _fit(build_segmenter(n_classes).to(device), dataset, size, epochs, seed, device, batch_size, lr, log)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        os.close(fd)
        torch.save(net.state_dict(), tmp)
        os.replace(tmp, path)
    return net


def _fit(net: nn.Module, dataset, size: int, epochs: int, seed: int, device, batch_size: int, lr: float,
         log) -> nn.Module:  # fmt: skip
    net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True,
                                         generator=torch.Generator().manual_seed(seed))  # fmt: skip
    steps = max(1, epochs * len(loader))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    for epoch in range(epochs):
        total = 0.0
        for batch in loader:
            photo, label = batch["b"].to(device), batch["label"].to(device)
            if tuple(photo.shape[-2:]) != (size, size):
                raise ValueError(f"segmenter: photos are {tuple(photo.shape[-2:])}, expected {size} px")
            loss = F.cross_entropy(net(photo), label, ignore_index=255)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        log(f"segmenter epoch {epoch + 1}/{epochs}: loss {total / max(len(loader), 1):.3f}")
    return net.eval()
