"""Where the time of one pix2pix training step goes: torch.profiler per op, grouped, with the memory traffic of
the weights (issue 17).

`python -m bench.profile_step [--size 64] [--batch 1] [--path fast] [--steps 10]` profiles the loop's own
Engine.step (the reference architecture: U-Net with log2(size) downsamplings at ngf 64, 70x70 PatchGAN, D step
then G step) after warm-up steps, and prints a Markdown table: self CPU time per op group (conv forward,
conv backward, batch norm, optimizer, element-wise, copies and layout, other), its share, and the top ops; then
the bytes the weights alone move per step (forward and backward reads, gradient writes, Adam's reads and writes
of parameters, gradients and two moments) against this machine's measured copy bandwidth: the floor that no
kernel fusion removes. Time it on a quiet machine (no other job: the 2-core CPU oversubscribes).
"""

from __future__ import annotations

import argparse
import math
import re
import time

import torch
from torch.profiler import ProfilerActivity, profile

from bench.bench_models import PATHS
from bench.bench_models import _setup as setup
from models.contract import Progress

GROUPS = [  # (group, regex on the aten op name), first match wins
    ("conv backward", r"convolution_backward|conv.*backward"),
    ("conv forward", r"convolution|conv2d|conv_transpose|mkldnn_conv"),
    ("batch norm", r"batch_norm"),
    ("optimizer (Adam)", r"adam|_foreach_|lerp|addcdiv|addcmul"),
    ("copies and layout", r"copy_|contiguous|clone|cat|to_copy|empty_strided|as_strided|fill_|zero_"),
    (
        "element-wise",
        r"add|mul|div|sub|relu|leaky|tanh|sigmoid|threshold|where|dropout|bernoulli|abs|mean|sum|"
        r"binary_cross|l1|neg|sign|pow|sqrt|exp|log|clamp",
    ),  # fmt: skip
]


def group(name: str) -> str:
    for label, pattern in GROUPS:
        if re.search(pattern, name):
            return label
    return "other"


def copy_bandwidth(gb: float = 0.5) -> float:
    """GB/s of a large fp32 tensor copy (read + write counted), best of 5."""
    n = int(gb * 1e9 / 4)
    src, dst = torch.rand(n), torch.empty(n)
    best = math.inf
    for _ in range(5):
        t = time.perf_counter()
        dst.copy_(src)
        best = min(best, time.perf_counter() - t)
    return 2 * n * 4 / best / 1e9


def weight_traffic(recipe) -> tuple[int, int]:
    """(parameters, bytes per step): each weight is read in forward and backward, its gradient written, and
    fp32 Adam reads parameter, gradient and both moments and writes parameter and moments: 7 passes, 10 in all."""
    n = sum(p.numel() for net in recipe.nets.values() for p in net.parameters())
    return n, n * 4 * 10


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.profile_step", description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--path", default="fast", choices=list(PATHS))
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--top", type=int, default=12)
    a = p.parse_args(argv)
    device = torch.device("cpu")
    recipe, eng, data = setup("pix2pix", a.size, a.batch, a.path, device)
    step = iter(range(10**6))

    def run():
        eng.step(recipe, lambda bs: data, Progress(next(step), 0, 1000 * a.batch), grad_norm=False)

    for _ in range(5 if "compile" in a.path else 3):
        run()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        run()
    wall = (time.perf_counter() - t0) / a.steps
    with profile(activities=[ProfilerActivity.CPU], record_shapes=False) as prof:
        for _ in range(a.steps):
            run()
    ops = [e for e in prof.key_averages() if e.key.startswith("aten::") or "fused_adam" in e.key]
    total = sum(e.self_cpu_time_total for e in ops) / a.steps / 1e3  # ms per step
    by_group: dict[str, float] = {}
    for e in ops:
        by_group[group(e.key)] = by_group.get(group(e.key), 0.0) + e.self_cpu_time_total / a.steps / 1e3
    print(f"pix2pix train step, {a.size} px, batch {a.batch}, path {a.path}, {torch.get_num_threads()} threads: "
          f"{wall * 1e3:.1f} ms/step unprofiled; {total:.1f} ms of aten self time profiled\n")  # fmt: skip
    print("| op group | ms / step | share |\n|---|---|---|")
    for name, ms in sorted(by_group.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {ms:.1f} | {ms / total:.0%} |")
    print("\n| top ops (self time) | group | ms / step | calls / step |\n|---|---|---|---|")
    for e in sorted(ops, key=lambda e: -e.self_cpu_time_total)[: a.top]:
        print(f"| {e.key} | {group(e.key)} | {e.self_cpu_time_total / a.steps / 1e3:.1f} | {e.count // a.steps} |")
    n, traffic = weight_traffic(recipe)
    bw = copy_bandwidth()
    print(f"\nweights: {n / 1e6:.1f} M parameters; weight traffic {traffic / 1e9:.2f} GB/step; copy bandwidth "
          f"{bw:.1f} GB/s -> at least {traffic / bw / 1e9 * 1e3:.0f} ms/step for the weights alone")  # fmt: skip


if __name__ == "__main__":
    main()
