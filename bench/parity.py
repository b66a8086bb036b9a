"""Parity with the reference implementations: `python -m bench.parity` (issue 27; the table is in docs/parity.md).

For each family the reference's own code (junyanz/pytorch-CycleGAN-and-pix2pix for pix2pix and CycleGAN,
NVIDIA/pix2pixHD, NVlabs/SPADE, pytorch/examples dcgan) is imported from a local checkout named by an
environment variable (never vendored, never downloaded), its nets are built and stepped by its own training
code, their weights are transplanted into ganbench's recipe, and both sides are stepped in float64 with the
same data and the same random draws (dropout, image pool, VAE noise, z). Compared, as the largest relative
difference max|ours - theirs| / max|theirs| per quantity: the forward outputs, every loss term, and every net's
parameters and buffers (running statistics, spectral-norm vectors) after one step and after all steps. The
ganbench side is the product: the recipe class with its defaults and the loop's Engine.step (models/train.py).
Each family runs in a process of its own (every reference has a top-level package `models`, as ganbench does);
the top-level command starts one per family and prints the table. Without a checkout a family is skipped with
the variable it needs. `--perturb` multiplies one loss weight of ganbench's config by 1 + 1e-5, and the
check must then fail. Where the setup departs from each reference's defaults (widths, image size, pool size)
is said per family in bench/parity_families.py; the machinery is bench/parity_core.py. `--speed` times each
family's training step beside its reference's instead, at the reference widths (bench/parity_speed.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

from bench import parity_families
from bench.parity_core import ENV, FAMILIES, PERTURB, TOL, Comparison, Peer, checkout


def run_family(family: str, steps: int, perturb: bool) -> dict:
    """One family in this process: {"family", "status" (pass, FAIL, skip), "reason", "commit", "rows", "seconds"}."""
    root = checkout(family)
    if not root:
        return {"family": family, "status": "skip", "reason": f"set {' or '.join(ENV[family])} to a checkout"}
    threads, dtype = torch.get_num_threads(), torch.get_default_dtype()
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    t0 = time.perf_counter()
    peer = Peer(root)
    try:
        cmp = getattr(parity_families, family)(peer, Comparison(), steps, PERTURB if perturb else 0.0)
    finally:
        torch.set_num_threads(threads)
        torch.set_default_dtype(dtype)
    return {"family": family, "status": "pass" if cmp.passed else "FAIL", "commit": peer.commit, "rows": cmp.rows,
            "seconds": round(time.perf_counter() - t0, 1), "steps": steps}  # fmt: skip


def spawn(family: str, steps: int, perturb: bool) -> dict:
    """run_family in a fresh process (one reference per process); its last stdout line is the row."""
    cmd = [sys.executable, "-m", "bench.parity", "--family", family, "--steps", str(steps), "--json"]
    proc = subprocess.run(cmd + (["--perturb"] if perturb else []), capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent)  # fmt: skip
    lines = proc.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"family": family, "status": "FAIL", "reason": "crashed: " + " | ".join(tail)}


def table(results: list[dict], tol: float = TOL) -> str:
    """Markdown: one line per family and quantity (largest relative difference), skips and crashes with reasons."""
    lines = ["| family | quantity | max rel. diff | ok |", "|---|---|---|---|"]
    for r in results:
        if "rows" not in r:
            lines.append(f"| {r['family']} | {r['status']}: {r.get('reason', '')} | | |")
            continue
        for q, v in r["rows"].items():
            lines.append(f"| {r['family']} | {q} | {v:.1e} | {'yes' if v <= tol else '**NO**'} |")
    lines += ["", "| family | result | steps | seconds | reference commit |", "|---|---|---|---|---|"]
    lines += [f"| {r['family']} | {r['status']} | {r.get('steps', '')} | {r.get('seconds', '')} | "
              f"{r.get('commit', r.get('reason', ''))} |" for r in results]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--speed" in argv:  # the speed check beside the references: its own options (bench/parity_speed.py)
        from bench import parity_speed

        return parity_speed.main([a for a in argv if a != "--speed"])
    ap = argparse.ArgumentParser(prog="python -m bench.parity", description=__doc__.splitlines()[0],
                                 epilog="--speed: time each family beside its reference (python -m bench.parity "
                                 "--speed --help)")  # fmt: skip
    ap.add_argument("--family", choices=FAMILIES, action="append", help="only these (default: all)")
    ap.add_argument("--steps", type=int, default=3, help="training steps compared (default 3)")
    ap.add_argument("--perturb", action="store_true", help=f"one loss weight x (1 + {PERTURB}): must fail")
    ap.add_argument("--json", action="store_true", help="run in this process, print one JSON row per family")
    args = ap.parse_args(argv)
    families = args.family or list(FAMILIES)
    if args.json:
        for f in families:
            print(json.dumps(run_family(f, args.steps, args.perturb)), flush=True)
        return 0
    results = [spawn(f, args.steps, args.perturb) for f in families]
    print(table(results))
    return 1 if any(r["status"] == "FAIL" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
