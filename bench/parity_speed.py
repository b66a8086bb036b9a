"""The speed check beside the references (issue 27, item 3): `python -m bench.parity --speed` (or
`python -m bench.parity_speed`).

Per family, size and batch, in a process of its own (as the parity check, bench/parity.py), the reference's own nets
and training step are built from its checkout at the reference widths (bench/parity_families.py setup_<family> with
full=True: pix2pix U-Net ngf 64 with log2(size) downsamplings; CycleGAN resnet_9blocks; pix2pixHD global G ngf 64;
SPADE ngf 64; DCGAN nz 100, ngf = ndf = 64) in float32, beside ganbench's matching recipe once per ganbench path
(bench/bench_models.py PATHS: "reference" = fp32, contiguous, plain Adam; "fast" = bf16 autocast, channels_last,
fused Adam; "fused", "fused+cl" = fp32 with fused Adam, contiguous or channels_last, the fast paths of a CPU without
native bf16; "tuned" = "fused" with train.conv_autotune (per convolution shape oneDNN's kernels or torch's, timed at
its first call, models/convtune.py); "fast+compile"), each stepped by the loop's Engine.step with the batch put in
the path's memory format as the loop does. All start from the reference's weights (transplanted) and get the same
batch each rep and the same random draws (seeded before each step). Reps are interleaved (reference, ours on each
path, reference, ...) after warm-up reps that are not counted; each step is timed alone with time.perf_counter.
Reported per implementation: the median seconds per step; per ganbench path: the ratio reference / ours of the two
steps of each rep, its median, quartiles and range over the reps, and the best ratio (the reference's fastest step
over ours). Batch 1 at 64 and 256 px; DCGAN at 64 px, batch 128 (its script's default). Threads: --threads N per
process (torch.set_num_threads, OMP_NUM_THREADS).

The floor: after the timed reps, one more step of each side runs under torch.utils.flop_counter.FlopCounterMode
(the FLOPs of convolutions and matrix products, forward and backward; element-wise work is not counted), and the
process measures this CPU's float32 peak as the best of five 2048 x 2048 matrix products on the same threads
(`peak_gflops`: oneDNN's 3x3 convolutions reach the same rate here). FLOPs / peak is the fastest a step could run
if every counted FLOP ran at that peak and nothing else took time; the table gives each side's share of the peak
and the share that a 1.5x ratio would need (1.5 x our GFLOP / (peak x theirs' median)): above ~70% (what oneDNN
sustains on a whole step here) a ratio of 1.5 cannot be had without doing less arithmetic.

Deviations from the references' training runs: CPU only (the references' CUDA calls are kept off as in the parity
check); square images (Cityscapes is 2:1); random VGG19 weights on both sides; label maps of 35 classes in 8 px
blocks with instance edges; pix2pixHD's CUDA-only encode_input replaced by ganbench's semantic_input inside the
reference's timed step (the one-hot encoding ganbench's forward does); SPADE without its VAE (its default; the
Cityscapes runs have none). The reference's step runs outside the Peer context (its modules are imported by then):
swapping the module tables each step would be timed too. The first steps are not timed: Adam's state, allocator
growth, compile.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from bench import parity_families
from bench.bench_models import PATHS  # reference, fast, fused, fused+cl, tuned, fast+compile
from bench.parity_core import ENV, FAMILIES, Peer, checkout, seed
from models.contract import Progress
from models.train import native_bf16, to_device

THEIRS = "theirs"  # the reference implementation's key in the timings
TARGET = 1.5  # the ratio (issue 27, item 4)
SIZES = (64, 256)
BATCH = {"dcgan": 128}  # otherwise 1
ONLY_SIZE = {"dcgan": 64}  # the DCGAN example's nets are built for 64 px


def shapes(family: str, sizes) -> list[tuple[int, int]]:
    """(size, batch) of a family: batch 1 at each size; DCGAN at 64 px, batch 128, whatever the sizes."""
    if family in ONLY_SIZE:
        return [(ONLY_SIZE[family], BATCH[family])]
    return [(s, BATCH.get(family, 1)) for s in sizes]


def _quantile(xs: list[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default); one value: itself."""
    xs = sorted(xs)
    pos = q * (len(xs) - 1)
    lo = int(pos)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (pos - lo)


def summary(times: dict[str, list[float]]) -> dict:
    """{"median": {impl: s/step}, "ratio": {path: {median, q25, q75, min, max, best}}}: per ganbench path, the ratios
    theirs / ours of the steps of the same rep, and best = the fastest step of theirs over our fastest."""
    ref = times[THEIRS]
    out: dict = {"median": {k: statistics.median(v) for k, v in times.items()}, "ratio": {}}
    for impl, ts in times.items():
        if impl == THEIRS:
            continue
        r = [a / b for a, b in zip(ref, ts, strict=True)]
        out["ratio"][impl] = {"median": statistics.median(r), "q25": _quantile(r, 0.25), "q75": _quantile(r, 0.75),
                              "min": min(r), "max": max(r), "best": min(ref) / min(ts)}  # fmt: skip
    return out


def time_family(family: str, size: int, bs: int, reps: int, warmup: int, paths: list[str]) -> dict:
    """One family at one size in this process (float32): the timings of each rep and their summary."""
    row = {"family": family, "size": size, "batch": bs, "threads": torch.get_num_threads(), "reps": reps,
           "warmup": warmup, "torch": torch.__version__, "cpu": _cpu()}  # fmt: skip
    root = checkout(family)
    if not root:
        return row | {"status": "skip", "reason": f"set {' or '.join(ENV[family])} to a checkout"}
    peer = Peer(root)
    t0 = time.perf_counter()
    s = getattr(parity_families, f"setup_{family}")(peer, size, bs, True)
    steps = {THEIRS: s.ref_step}
    for p in paths:
        recipe = s.ours()
        eng = parity_families.engine(recipe, parity_families.LONG, PATHS[p])
        s.transplant(recipe)

        def ours(batch, k, recipe=recipe, eng=eng):
            return eng.step(recipe, lambda _: to_device(batch, eng.device, eng.channels_last),
                            Progress(k, k * bs, parity_families.LONG), grad_norm=False)  # fmt: skip

        steps[p] = ours
    times: dict[str, list[float]] = {k: [] for k in steps}
    for k in range(warmup + reps):
        batch = s.batch(k)
        for name, step in steps.items():
            seed(k)
            t = time.perf_counter()
            step(batch) if name == THEIRS else step(batch, k)
            if k >= warmup:
                times[name].append(time.perf_counter() - t)
    gflop = {}
    for name in (THEIRS, paths[0]):  # the arithmetic is the same on every ganbench path
        k = warmup + reps
        seed(k)
        with FlopCounterMode(display=False) as count:
            steps[name](s.batch(k)) if name == THEIRS else steps[name](s.batch(k), k)
        gflop["theirs" if name == THEIRS else "ours"] = count.get_total_flops() / 1e9
    return row | {"status": "ok", "commit": peer.commit, "params": _params(s, recipe), "seconds": round(
        time.perf_counter() - t0, 1), "times": times, "gflop": gflop, "peak_gflops": peak_gflops()} | summary(
        times)  # fmt: skip


def peak_gflops(n: int = 2048, reps: int = 5) -> float:
    """This CPU's float32 rate on the current threads: the best of `reps` n x n matrix products, in GFLOP/s."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    best = math.inf
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def peak_shares(r: dict, paths: list[str]) -> dict:
    """Shares of the CPU's peak: each side's (counted GFLOP / (peak x median s/step)), and what a 1.5x ratio needs
    (1.5 x our GFLOP / (peak x theirs' median)); None without counts (rows of an older campaign)."""
    if "gflop" not in r:
        return {}
    m, g, peak = r["median"], r["gflop"], r["peak_gflops"]
    return {THEIRS: g["theirs"] / (peak * m[THEIRS]), **{p: g["ours"] / (peak * m[p]) for p in paths},
            "needed": TARGET * g["ours"] / (peak * m[THEIRS])}  # fmt: skip


def _params(s, recipe) -> dict:
    """Trainable parameters per net, ours and theirs (the same by construction: transplant checks every shape)."""
    return {n: sum(p.numel() for p in o.parameters()) for n, (o, _) in s.nets(recipe).items()}


def _cpu() -> str:
    try:
        return next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith("model name"))  # fmt: skip
    except (OSError, StopIteration):
        return platform.processor()


def spawn(family: str, size: int, args) -> dict:
    """time_family in a fresh process (one reference per process); its last stdout line is the row."""
    cmd = [sys.executable, "-m", "bench.parity_speed", "--json", "--family", family, "--sizes", str(size),
           "--reps", str(args.reps), "--warmup", str(args.warmup), "--threads", str(args.threads),
           "--paths", *args.paths]  # fmt: skip
    env = os.environ | {"OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parent.parent)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"family": family, "size": size, "status": "FAIL", "reason": "crashed: " + " | ".join(tail)}


def _ratio(r: dict) -> str:
    return f"{r['median']:.2f} [{r['q25']:.2f}-{r['q75']:.2f}] ({r['min']:.2f}-{r['max']:.2f})"


def table(rows: list[dict], paths: list[str]) -> str:
    """Markdown: seconds per step (medians) and, per ganbench path, theirs / ours: median [quartiles] (range) of the
    per-rep ratios, and the best ratio (fastest step over fastest step). Above 1: ganbench is faster."""
    head = ["family", "size", "batch", "theirs s/step", *(f"ours {p} s/step" for p in paths),
            *(f"theirs/ours {p}: median [IQR] (min-max)" for p in paths), *(f"best {p}" for p in paths),
            "GFLOP/step theirs / ours", "% of peak: theirs / " + " / ".join(paths), f"{TARGET}x needs"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if r.get("status") != "ok":
            lines.append(f"| {r['family']} | {r.get('size', '')} | {r.get('batch', '')} | {r['status']}: "
                         f"{r.get('reason', '')} |" + " |" * (len(head) - 4))  # fmt: skip
            continue
        m, q, share = r["median"], r["ratio"], peak_shares(r, paths)
        floor = [""] * 3
        if share:
            floor = [
                f"{r['gflop']['theirs']:.1f} / {r['gflop']['ours']:.1f}",
                " / ".join(f"{share[k]:.0%}" for k in (THEIRS, *paths)),
                f"{share['needed']:.0%}",
            ]
        cells = [r["family"], r["size"], r["batch"], f"{m[THEIRS]:.3f}", *(f"{m[p]:.3f}" for p in paths),
                 *(_ratio(q[p]) for p in paths), *(f"{q[p]['best']:.2f}" for p in paths), *floor]  # fmt: skip
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    ok = [r for r in rows if r.get("status") == "ok"]
    if ok:
        peak = [r["peak_gflops"] for r in ok if "peak_gflops" in r]
        lines += ["", f"{ok[0]['reps']} reps after {ok[0]['warmup']} warm-up, {ok[0]['threads']} threads, "
                      f"torch {ok[0]['torch']}, {ok[0]['cpu']}" + (f"; float32 peak {min(peak):.0f}-{max(peak):.0f} "
                      "GFLOP/s (2048^2 matrix product, per process)" if peak else "")]  # fmt: skip
    return "\n".join(lines)


def write(rows: list[dict], path: Path, paths: list[str]) -> None:
    """JSON (every rep's timings) or CSV (one line per family, size and path), by the file's suffix."""
    if path.suffix != ".csv":
        path.write_text(json.dumps(rows, indent=1) + "\n")
        return
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["family", "size", "batch", "threads", "reps", "path", "theirs_s", "ours_s", "ratio_median",
                    "ratio_q25", "ratio_q75", "ratio_min", "ratio_max", "ratio_best", "gflop_theirs", "gflop_ours",
                    "peak_gflops", "peak_share_theirs", "peak_share_ours", "peak_share_needed", "status"])  # fmt: skip
        for r in rows:
            for p in paths if r.get("status") == "ok" else [""]:
                q = r["ratio"][p] if p else {}
                share, g = (peak_shares(r, paths), r.get("gflop", {})) if p else ({}, {})
                w.writerow([r["family"], r.get("size"), r.get("batch"), r.get("threads"), r.get("reps"), p,
                            r["median"][THEIRS] if p else "", r["median"][p] if p else "",
                            *(q.get(k, "") for k in ("median", "q25", "q75", "min", "max", "best")),
                            g.get("theirs", ""), g.get("ours", ""), r.get("peak_gflops", "") if p else "",
                            share.get(THEIRS, ""), share.get(p, ""), share.get("needed", ""), r["status"]])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.parity --speed", description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", choices=FAMILIES, action="append", help="only these (default: all)")
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="px (default 64 256; DCGAN: 64)")
    ap.add_argument("--reps", type=int, default=10, help="timed reps (default 10)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed reps first (default 2)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads per process (default 2)")
    default = ["reference", "fast", "tuned"] if native_bf16() else ["reference", "fused", "tuned"]
    helps = f"ganbench paths (default here: {' '.join(default)}; 'fast' where bf16 is native)"
    ap.add_argument("--paths", nargs="+", choices=list(PATHS), default=default, help=helps)
    ap.add_argument("--out", type=Path, help="also write the rows: .json (with every rep) or .csv")
    ap.add_argument("--json", action="store_true", help="run in this process, print one JSON row per shape")
    args = ap.parse_args(argv)
    families = args.family or list(FAMILIES)
    if args.json:
        torch.set_num_threads(args.threads)
        for f in families:
            for size, bs in shapes(f, args.sizes):
                print(json.dumps(time_family(f, size, bs, args.reps, args.warmup, args.paths)), flush=True)
        return 0
    rows = []
    for f in families:
        for size, _ in shapes(f, args.sizes):
            rows.append(spawn(f, size, args))
            r = rows[-1]
            print(f"{f} {size} px: {r['status']}" + (f" ({r['seconds']} s)" if "seconds" in r else ""),
                  file=sys.stderr, flush=True)  # fmt: skip
    print(table(rows, args.paths))
    if args.out:
        write(rows, args.out, args.paths)
    return 1 if any(r["status"] == "FAIL" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
