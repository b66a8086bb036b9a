"""Score a folder of outputs against a folder of truths, matched by stem, without a study:
`python -m metrics.score --outputs DIR --truth DIR [--labels DIR --segmenter PATH] [--weights NAME=PATH ...]
[--metrics ...] [--out FILE]`.

clean-fid, torch-fidelity and dgm-eval compare two folders as unordered sets, pyiqa pairs them by sorted position;
here every output is matched to its truth by file stem (metrics/folders.py: the reference repositories' output
names understood, every file checked before any work) and scored item by item with the registry's metrics
(metrics/__init__.py, the same accumulators and protocols a study uses). Writes the per-item CSV (item, metric,
value) and prints a summary: each metric's value over the items with its 95% interval over the test items (a
t-interval of the per-item values for means; a bootstrap of the per-item class counts for the FCN-score, through
scores_from_counts), and the protocol strings. Per-set metrics (Lab histograms, SWD) have no interval. The
FCN-score needs the class-id label maps (`--labels`, e.g. an export's labels/test/) and a segmenter file
(`--segmenter`, a study's `runs/.cache/segmenter-*.pt`, whose classes it reads); without them it says so.
`--weights NAME=PATH` (metrics/weights.py) adds the metrics that read that net (LPIPS, DISTS, DINOv2 FD/KD/PRDC,
Inception PRDC), each file checked first. Deviation from a study: one "seed", so the interval covers the test
items only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from scipy import stats as sps

from metrics import METRICS, EvalContext, MetricUnavailable
from metrics import weights as W
from metrics.fcn_score import build_segmenter, scores_from_counts
from metrics.folders import OutputsRefused, images, item_id, match, read_image
from metrics.tables import write_csv_atomic

DEFAULT = ("ssim", "ms_ssim", "l1", "psnr", "hist_intersection", "swd", "fcn_score")


def truth_ids(folder: Path) -> dict[str, int]:
    """{item id: position} of the truth files, by stem (digits normalised to 6 places, as the exports name them)."""
    files = images(folder) if folder.is_dir() else []
    if not files:
        raise OutputsRefused(f"{folder}: no truth images here (--truth DIR: one image per test item)")
    ids = {}
    for i, p in enumerate(files):
        key = item_id(p.stem)
        if key in ids:
            raise OutputsRefused(f"{p}: a second truth file for item {key}; keep one file per item")
        ids[key] = i
    return ids


def read_labels(folder: Path, ids: dict[str, int], size: int) -> dict[int, torch.Tensor]:
    """Class-id label maps (8 or 16 bit PNG, one per truth item, same stem)."""
    _, files = match(folder, ids)
    out = {}
    for i, path in files.items():
        with Image.open(path) as im:
            if im.mode not in ("L", "I;16", "I", "P"):
                raise OutputsRefused(f"{path}: mode {im.mode}; label maps are class-id images (8 or 16 bit)")
            arr = np.asarray(im, dtype=np.int64)
        if arr.shape != (size, size):
            raise OutputsRefused(f"{path}: {arr.shape[1]}x{arr.shape[0]} px, the truths are {size}x{size}")
        out[i] = torch.from_numpy(arr.copy())
    return out


def load_segmenter(path: Path) -> torch.nn.Module:
    """A study's segmenter file (state dict of metrics.fcn_score.build_segmenter); its classes from the head."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        classes = int(next(v.shape[0] for k, v in state.items() if k.startswith("segmentation_head") and
                           k.endswith("weight")))  # fmt: skip
        net = build_segmenter(classes)
        net.load_state_dict(state)
    except (OSError, RuntimeError, StopIteration, AttributeError, ValueError) as e:
        raise OutputsRefused(f"{path}: not a ganbench segmenter file ({type(e).__name__}: {e})") from None
    return net.eval()


def interval(metric: str, per_item: pd.DataFrame, rng) -> tuple[float, float, float]:
    """(value, low, high) over the items: a t-interval of the mean, or (FCN) a bootstrap of the class counts."""
    if metric.startswith("fcn_"):
        wide = per_item[per_item.metric.str.contains(":")].pivot_table(index="item", columns="metric", values="value",
                                                                       fill_value=0.0)  # fmt: skip
        n_cls = 1 + max(int(c.split(":")[1]) for c in wide.columns)
        x = np.stack([wide.reindex(columns=[f"fcn_{k}:{c}" for c in range(n_cls)], fill_value=0.0).to_numpy()
                      for k in ("tp", "true", "pred")])  # fmt: skip
        w = rng.multinomial(x.shape[1], np.full(x.shape[1], 1 / x.shape[1]), size=2000).astype(float)
        boot = scores_from_counts(*(w @ x[k] for k in range(3)))[metric]
        value = float(scores_from_counts(*x.sum(1))[metric])
        return value, *np.quantile(boot, [0.025, 0.975])
    v = per_item[per_item.metric == metric].value.to_numpy()
    half = sps.t.isf(0.025, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.nan
    return float(v.mean()), v.mean() - half, v.mean() + half


def score(args) -> tuple[pd.DataFrame, pd.DataFrame]:
    given = {}
    for item in args.weights:
        name, sep, path = item.partition("=")
        if not sep or name not in W.NETS:
            raise OutputsRefused(f"--weights expects NAME=PATH with NAME one of {', '.join(W.NETS)}, got {item!r}")
        try:
            W.load(name, path)
        except (W.WeightsError, MetricUnavailable) as e:
            raise OutputsRefused(f"--weights {name}: {e}") from None
        given[name] = path
    truth_dir, out_dir = Path(args.truth), Path(args.outputs)
    ids = truth_ids(truth_dir)
    with Image.open(images(truth_dir)[0]) as im:  # every truth must have the first one's size and channels
        size, channels = im.size[0], 1 if im.mode == "L" else 3
    truths = {i: read_image(p, size, channels, None, args.allow_lossy) for i, p in enumerate(images(truth_dir))}
    convention, files = match(out_dir, ids)
    outputs = {i: read_image(p, size, channels, args.resize, args.allow_lossy) for i, p in files.items()}
    labels = read_labels(Path(args.labels), ids, size) if args.labels else None
    seg = load_segmenter(Path(args.segmenter)) if args.segmenter else None
    if sum(n in W.DINOV2_ARCH for n in given) > 1:
        raise OutputsRefused("--weights: give one DINOv2 backbone for the dinov2 metric, not several")
    pretrained = [m for m, s in METRICS.items() if s.weights and any(n in given for n in s.weights)]
    names = list(args.metrics or [*DEFAULT, *(m for m in pretrained if m != "fid")])
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise OutputsRefused(f"--metrics: unknown {unknown}; known: {', '.join(METRICS)}")
    if "fcn_score" in names and (labels is None or seg is None):
        print("[metrics] fcn_score left out: it needs --labels DIR (class-id maps) and --segmenter PATH (a study's "
              "runs/.cache/segmenter-*.pt)")  # fmt: skip
        names.remove("fcn_score")
    n_classes = seg.segmentation_head[0].out_channels if seg is not None else 0
    ctx = EvalContext(n_classes=n_classes, segmenter=(lambda: seg) if seg is not None else None, weights=given)
    accs = {}
    for m in names:
        try:
            accs[m] = (METRICS[m], METRICS[m].make(ctx))
        except MetricUnavailable as e:
            print(f"[metrics] {m} left out: {e}")
    order = sorted(ids.values())
    item_of = {i: k for k, i in ids.items()}
    values = {}
    for start in range(0, len(order), 16):
        chunk = order[start : start + 16]
        batch = {"fake_b": torch.stack([outputs[i] for i in chunk]), "b": torch.stack([truths[i] for i in chunk])}
        if labels is not None:
            batch["label"] = torch.stack([labels[i] for i in chunk])
        for spec, acc in accs.values():
            acc.update(*[batch[k] for k in spec.inputs])
    rows = []
    for name, (_, acc) in list(accs.items()):
        try:
            values |= acc.compute()
        except ValueError as e:  # e.g. PRDC or KD on too few items
            print(f"[metrics] {name} left out: {e}")
            del accs[name]
            continue
        if hasattr(acc, "per_item"):
            positions, per = acc.per_item()
            for key, v in per.items():
                rows += [{"item": item_of[order[p]], "metric": key, "value": float(x)} for p, x in zip(positions, v)]
    per_item = pd.DataFrame(rows, columns=["item", "metric", "value"])
    rng = np.random.default_rng(0)
    summary = []
    for spec, acc in accs.values():
        for key in spec.outputs:
            if key not in values:
                continue
            has_items = key in set(per_item.metric) or (key.startswith("fcn_") and len(per_item))
            value, low, high = interval(key, per_item, rng) if has_items else (values[key], np.nan, np.nan)
            files = "".join(f" [{n} sha256:{sha}]" for n, sha in getattr(acc, "weights", {}).items())
            summary.append({"metric": key, "value": values[key], "low": low, "high": high, "items": len(order),
                            "protocol": spec.protocol + files})  # fmt: skip
    print(f"{len(order)} items matched by stem ({convention}) at {size}x{size} px")
    return per_item, pd.DataFrame(summary)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m metrics.score", description=__doc__.split("\n\n")[0])
    p.add_argument("--outputs", required=True, help="folder of outputs, one per truth item, matched by stem")
    p.add_argument("--truth", required=True, help="folder of the truth images (e.g. an export's images/test)")
    p.add_argument("--labels", help="folder of class-id label maps, same stems (the FCN-score)")
    p.add_argument("--segmenter", help="a study's segmenter file (runs/.cache/segmenter-*.pt) for the FCN-score")
    p.add_argument("--metrics", nargs="+", help=f"registry keys (default: {' '.join(DEFAULT)})")
    p.add_argument("--out", type=Path, help="per-item CSV (item, metric, value); the summary beside it")
    p.add_argument("--resize", choices=["bicubic", "nearest"], help="resize outputs of another size")
    p.add_argument("--allow-lossy", action="store_true", help="accept JPEG files")
    p.add_argument("--weights", action="append", default=[], metavar="NAME=PATH",
                   help=f"a local pretrained-net file (never downloaded; {', '.join(W.NETS)}): adds the metrics that "
                   "read it (LPIPS, DISTS, DINOv2 FD/KD/PRDC, Inception PRDC)")  # fmt: skip
    args = p.parse_args(argv)
    try:
        per_item, summary = score(args)
    except OutputsRefused as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(summary.drop(columns="protocol").to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print("[low, high]: 95% interval over the test items (one set of outputs: no seed variation)")
    for proto in dict.fromkeys(summary.protocol):
        print(f"  {proto}")
    if args.out:
        write_csv_atomic(per_item, args.out)
        write_csv_atomic(summary, args.out.with_name(args.out.stem + ".summary.csv"))
        print(f"wrote {args.out} and {args.out.with_name(args.out.stem + '.summary.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
