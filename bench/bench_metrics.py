"""Throughput (images/s in extra_info) of every metric at 64 and 256 px; SWD also against the NumPy port.

Every registry entry is timed on the inputs it names: image metrics on random images, label_score on label
colour images with the synthetic_scenes palette, the gaussian_surfaces metrics on meshgrids of the image size.
"""

import numpy as np
import pytest
import torch

from bench import swd_numpy
from bench.conftest import record_rate, sync
from bench.pretrained_files import make
from metrics import METRICS, EvalContext
from metrics.fcn_score import build_segmenter
from metrics.swd import PATCHES_PER_IMAGE, SlicedWasserstein, _positions
from studies.datasets.synthetic import COLORS

BATCH = 32


@pytest.fixture(scope="session")
def weights(tmp_path_factory):
    """Random weight files in the upstream formats (bench/pretrained_files.py); DINOv2 at ViT-B/14, the size users
    report (dgm-eval's default is ViT-L/14: about 3.5x its cost)."""
    return make(tmp_path_factory.mktemp("weights"), ("alexnet", "squeezenet", "vgg16", "inception", "dinov2_vitb14"))


def _ctx(device, weights=None):
    return EvalContext(device=device, n_classes=8, segmenter=lambda: build_segmenter(8).to(device).eval(),
                       palette=COLORS, weights={k: str(v) for k, v in (weights or {}).items()})  # fmt: skip


@pytest.mark.benchmark(group="metrics")
@pytest.mark.parametrize("size", [64, 256])
@pytest.mark.parametrize("name", [k for k in METRICS if not METRICS[k].weights])
def test_metric_throughput(benchmark, device, name, size):
    gen = torch.Generator().manual_seed(0)
    n = BATCH if size == 64 else 8
    fake = (torch.rand(n, 3, size, size, generator=gen) * 2 - 1).to(device)
    data = {
        "fake_b": fake,
        "b": (fake * 0.9).to(device),
        "label": torch.randint(0, 8, (n, size, size)).to(device),
        "alpha": torch.randint(1, 5, (n,), generator=gen).to(device),  # gaussian_surfaces: fake_b as meshgrids
    }
    data["fake_a"] = (torch.as_tensor(COLORS, dtype=torch.float32)[data["label"].cpu()].permute(0, 3, 1, 2) / 127.5
                      - 1).to(device)  # fmt: skip
    data["fake_b_latents"] = torch.stack([fake, fake.flip(0), fake * 0.5, -fake], 1)  # 4 latents per item
    spec = METRICS[name]
    assert set(spec.inputs) <= set(data), f"{name} reads {spec.inputs}: give the bench those inputs"

    def run():
        acc = spec.make(_ctx(device))
        acc.update(*[data[k] for k in spec.inputs])
        acc.compute()
        sync(device)

    benchmark.extra_info.update(images=n, batch=n, size=size, device=str(device), threads=torch.get_num_threads())
    benchmark.pedantic(run, rounds=3, warmup_rounds=1)
    record_rate(benchmark, n)


QUICK_TEST_SET = 200  # items of the pix2pix quick profile's test split, at 64 px


@pytest.mark.benchmark(group="metrics/pretrained-quick-test-set")
@pytest.mark.parametrize("name", [k for k in METRICS if METRICS[k].weights], ids=lambda k: f"quickset-{k}")
def test_pretrained_metric_on_the_quick_test_set(benchmark, device, weights, name):
    """A whole evaluation of one pretrained-net metric: 200 fake and 200 real 64 px images in batches of 32
    (the quick profile's eval batch), the net already loaded (metrics/weights.py caches it per file)."""
    gen = torch.Generator().manual_seed(0)
    fake = (torch.rand(QUICK_TEST_SET, 3, 64, 64, generator=gen) * 2 - 1).to(device)
    real = (fake * 0.9).to(device)
    spec, ctx = METRICS[name], _ctx(device, weights)
    spec.make(ctx)  # load the net once, outside the timing

    def run():
        acc = spec.make(ctx)
        for i in range(0, QUICK_TEST_SET, BATCH):
            acc.update(fake[i : i + BATCH], real[i : i + BATCH])
        acc.compute()
        sync(device)

    benchmark.extra_info.update(images=QUICK_TEST_SET, batch=BATCH, size=64, device=str(device),
                                threads=torch.get_num_threads(), nets=",".join(spec.weights))  # fmt: skip
    benchmark.pedantic(run, rounds=1, warmup_rounds=0)
    record_rate(benchmark, QUICK_TEST_SET)


@pytest.mark.benchmark(group="metrics/swd-2048x128")
@pytest.mark.parametrize("impl", ["torch", "numpy"])
def test_swd_2048_images_128px(benchmark, impl):
    """The issue's yardstick: SWD over 2,048 real and 2,048 fake images at 128 px (NumPy: 256 images, x8)."""
    n = 2048 if impl == "torch" else 256
    gen = torch.Generator().manual_seed(0)
    real, fake = (
        torch.rand(n, 3, 128, 128, generator=gen) * 2 - 1,
        torch.rand(n, 3, 128, 128, generator=gen) * 2 - 1,
    )

    def run_torch():
        acc = SlicedWasserstein()
        for i in range(0, n, 256):
            acc.update(real[i : i + 256], fake[i : i + 256])
        return acc.compute()

    def run_numpy():
        out = []
        for lvl in range(4):
            sets = []
            for x in (real, fake):
                level = swd_numpy.laplacian_pyramid(((x + 1) * 127.5).numpy(), 4)[lvl]
                pos = np.stack([_positions(0, lvl, i, level.shape[-1]) for i in range(n)], axis=1)
                sets.append(swd_numpy.finalize(swd_numpy.descriptors(level, pos)))
            dirs = [np.random.randn(147, 128) for _ in range(4)]
            out.append(swd_numpy.sliced_wasserstein(*sets, [d / np.linalg.norm(d, axis=0) for d in dirs]))
        return out

    benchmark.extra_info.update(images=n, scale_to_2048=2048 / n, patches=PATCHES_PER_IMAGE, size=128)
    benchmark.pedantic(run_torch if impl == "torch" else run_numpy, rounds=1, warmup_rounds=0)
    record_rate(benchmark, n, key="seconds_for_2048", scale=2048 / n)


@pytest.mark.benchmark(group="metrics/real-stats-cache")
@pytest.mark.parametrize("cached", [False, True])
def test_evaluation_with_cached_real_statistics(benchmark, tmp_path, cached):
    """One evaluation of SWD + Lab histograms on the quick profile's 200 test images at 64 px: the real
    images' descriptors and histograms computed anew (first evaluation) or read from the cache (every later one)."""
    from models.contract import Progress
    from studies.datasets import DataConfig, make_dataset
    from studies.runner.evaluation import Evaluator

    test = make_dataset(DataConfig(size=64, n_train=600, n_val=50, n_test=200), "test")
    [test[i] for i in range(len(test))]  # render the scenes once: time the metrics, not the generator
    metrics = {m: (METRICS[m], METRICS[m].make(_ctx(torch.device("cpu")))) for m in ("swd", "hist_intersection")}

    class Identity:
        modality, sample_rows, test_images, nets = "image", (), {}, {}

        def translate(self, batch, t):
            return {"fake_b": batch["b"].flip(-1)}

    ev = Evaluator(test, metrics, torch.device("cpu"), batch_size=32, cache_dir=tmp_path if cached else None)
    if cached:
        ev.evaluate(Identity(), Progress(0, 0, 1), tmp_path)  # fills the cache

    benchmark.extra_info.update(images=len(test), size=64, cached=cached, threads=torch.get_num_threads())
    benchmark.pedantic(lambda: ev.evaluate(Identity(), Progress(0, 0, 1), tmp_path), rounds=3, warmup_rounds=0)
    record_rate(benchmark, len(test))
