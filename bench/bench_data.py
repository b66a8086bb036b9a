"""Throughput of the synthetic_scenes generator (issue: 2,000 scenes at 64 px under 20 s on one core) and of the
training stream that feeds the loop, in the training process or in DataLoader workers (issue 17)."""

import pytest

from bench.conftest import record_rate
from studies.datasets.synthetic import render_scene


@pytest.mark.benchmark(group="data/synthetic_scenes")
@pytest.mark.parametrize("size", [64, 256])
def test_render_scenes(benchmark, size):
    n = 2000 if size == 64 else 100

    def run():
        for i in range(n):
            render_scene(0, i, size)

    benchmark.extra_info.update(images=n, size=size, threads=1)
    benchmark.pedantic(run, rounds=3, warmup_rounds=1)


@pytest.mark.benchmark(group="data/train_stream")
@pytest.mark.parametrize("workers", [0, 1, 2, 4])
def test_train_stream_at_256px(benchmark, workers):
    """The training stream as the loop draws it at 256 px, batch 1: scenes rendered, jittered (286 px resize,
    crop, flip) and collated, in the training process (0) or in DataLoader workers, fresh scenes only (every
    item a new index, so the per-dataset cache never answers): what a GPU step can be fed."""
    from models.train import DataStream
    from studies.datasets import DataConfig, make_dataset

    n = 64
    data = make_dataset(DataConfig(size=256, n_train=100_000, n_val=1, n_test=1), "train", augment=True)
    stream = DataStream(data, seed=0, workers=workers)
    stream.next(1)  # workers started and their first batches built: the steady state is timed

    def run():
        for _ in range(n):
            stream.next(1)

    benchmark.extra_info.update(images=n, size=256, batch=1, workers=workers, what="train_stream")
    benchmark.pedantic(run, rounds=3, warmup_rounds=0)
    stream.close()
    record_rate(benchmark, n)
