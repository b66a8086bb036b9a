"""Throughput of the synthetic_scenes generator (issue: 2,000 scenes at 64 px under 20 s on one core)."""

import pytest

from studies.synthetic import render_scene


@pytest.mark.benchmark(group="data/synthetic_scenes")
@pytest.mark.parametrize("size", [64, 256])
def test_render_scenes(benchmark, size):
    n = 2000 if size == 64 else 100

    def run():
        for i in range(n):
            render_scene(0, i, size)

    benchmark.extra_info.update(images=n, size=size, threads=1)
    benchmark.pedantic(run, rounds=3, warmup_rounds=1)
