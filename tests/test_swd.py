"""SWD: the pyramid against scipy, the whole protocol against a NumPy port, properties, streaming."""

import numpy as np
import pytest
import torch

from bench import swd_numpy
from metrics import swd
from metrics.swd import SlicedWasserstein, laplacian_pyramid, reconstruct, sliced_wasserstein


def _images(n, size, gen, scale=1.0):
    return (torch.rand(n, 3, size, size, generator=gen) * 2 - 1) * scale


def test_pyramid_matches_scipy_and_reconstructs(gen):
    x = ((_images(2, 64, gen) + 1) * 127.5).double()
    ours = laplacian_pyramid(x)
    ref = swd_numpy.laplacian_pyramid(x.numpy().copy(), 3)
    assert [lvl.shape[-1] for lvl in ours] == [64, 32, 16]
    for a, b in zip(ours, ref):
        assert np.allclose(a.numpy(), b, atol=1e-9)
    assert torch.allclose(reconstruct(ours), x, atol=1e-9)


def test_full_protocol_matches_numpy_port(gen):
    real, fake = _images(6, 32, gen), _images(6, 32, gen, scale=0.5)
    ours = sliced_wasserstein(real, fake, seed=3)
    for lvl, res in enumerate((32, 16)):
        sets = []
        for images in (real, fake):
            level = swd_numpy.laplacian_pyramid(((images + 1) * 127.5).numpy().astype(np.float64), 2)[lvl]
            centres = np.stack([swd._positions(3, lvl, i, res) for i in range(6)], axis=1)
            sets.append(swd_numpy.finalize(swd_numpy.descriptors(level, centres)))
        gen_dirs = torch.Generator().manual_seed(3 * 1000 + lvl)
        dirs = []
        for _ in range(swd.REPEATS):
            d = torch.randn(147, 128, generator=gen_dirs, dtype=torch.float64).numpy()
            dirs.append(d / np.linalg.norm(d, axis=0, keepdims=True))
        ref = swd_numpy.sliced_wasserstein(*sets, dirs) * 1e3
        assert ours[f"swd_{res}"] == pytest.approx(ref, rel=1e-4)
    assert ours["swd_avg"] == pytest.approx((ours["swd_32"] + ours["swd_16"]) / 2)


def test_identical_sets_score_exactly_zero(gen):
    x = _images(4, 32, gen)
    assert sliced_wasserstein(x, x) == {"swd_32": 0.0, "swd_16": 0.0, "swd_avg": 0.0}


def test_same_distribution_scores_far_below_different():
    from studies.datasets import DataConfig, make_dataset

    ds = make_dataset(DataConfig(size=32, n_train=64), "train")
    photos = torch.stack([ds[i]["b"] for i in range(64)])
    labels = torch.stack([ds[i]["a"] for i in range(32, 64)])
    same = sliced_wasserstein(photos[:32], photos[32:])["swd_avg"]  # ~49: the 32-image noise floor
    different = sliced_wasserstein(photos[:32], labels)["swd_avg"]  # ~190
    assert same * 3 < different


@pytest.mark.parametrize("chunks", [[8], [3, 5], [1, 1, 6]])
def test_batching_does_not_change_the_result(chunks, gen):
    real, fake = _images(8, 32, gen), _images(8, 32, gen, 0.7)
    acc = SlicedWasserstein(seed=1)
    for r, f in zip(real.split(chunks), fake.split(chunks)):
        acc.update(r, f)
    assert acc.compute() == pytest.approx(sliced_wasserstein(real, fake, seed=1), rel=1e-6)


def test_merge_of_shards(gen):
    real, fake = _images(4, 32, gen), _images(4, 32, gen, 0.7)
    a, b = SlicedWasserstein(), SlicedWasserstein()
    a.update(real[:2], fake[:2])
    b.update(real[2:], fake[2:])
    a.merge(b)
    assert a.compute()["swd_avg"] > 0 and a.count == {"real": 4, "fake": 4}


def test_errors(gen):
    x = _images(2, 32, gen)
    with pytest.raises(ValueError, match="power-of-2"):
        sliced_wasserstein(x[..., :24, :24], x[..., :24, :24])
    with pytest.raises(ValueError, match="equal, non-empty"):
        acc = SlicedWasserstein()
        acc._add("real", x)
        acc.compute()
    with pytest.raises(ValueError, match="max_images"):
        SlicedWasserstein(max_images=1).update(x, x)
    with pytest.raises(ValueError, match="resolution 64 differs"):
        acc = SlicedWasserstein()
        acc.update(x, x)
        acc.update(_images(2, 64, gen), _images(2, 64, gen))
