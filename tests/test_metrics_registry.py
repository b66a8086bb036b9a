"""The METRICS registry: every entry builds, reports its declared keys, and streams == all at once."""

import pytest
import torch

from metrics import HIGHER_IS_BETTER, METRICS, EvalContext, higher_is_better
from tests.test_fcn_score import ChannelSegmenter

LOCAL = [k for k in METRICS if not METRICS[k].weights]  # the others need a weights file: tests/test_fid.py and
# tests/test_modern_metrics.py (streaming, merging and the real-side cache of FeatureDistances)


def _inputs(gen):
    fake = torch.rand(6, 3, 32, 32, generator=gen) * 2 - 1
    real = (fake + 0.3 * torch.randn(fake.shape, generator=gen)).clamp(-1, 1)
    label = torch.randint(0, 4, (6, 32, 32), generator=gen)
    alpha = torch.randint(1, 5, (6,), generator=gen)  # gaussian_surfaces' labels; the images stand in for grids
    latents = torch.rand(6, 3, 3, 32, 32, generator=gen) * 2 - 1  # 3 outputs per item (a multimodal recipe)
    return {"fake_b": fake, "b": real, "label": label, "alpha": alpha, "fake_a": real, "fake_b_latents": latents}


def _ctx():
    palette = [(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)]
    return EvalContext(n_classes=4, segmenter=lambda: ChannelSegmenter(4), palette=palette)


@pytest.mark.parametrize("name", LOCAL)
def test_streaming_equals_all_at_once(name, gen):
    spec, data = METRICS[name], _inputs(gen)
    once = spec.make(_ctx())
    once.update(*[data[k] for k in spec.inputs])
    chunked = spec.make(_ctx())
    for i in range(0, 6, 2):
        chunked.update(*[data[k][i : i + 2] for k in spec.inputs])
    a, b = once.compute(), chunked.compute()
    assert a == pytest.approx(b, rel=1e-6)
    assert set(a) <= set(spec.outputs) and a
    assert spec.protocol.startswith(name.split("_intersection")[0].split("_score")[0].replace("_diversity", ""))


EXACT = [k for k in LOCAL if METRICS[k].make(_ctx()).merge_exact]


def test_merge_claims():
    assert sorted(EXACT) == ["energy_distance", "fcn_score", "hist_intersection", "l1", "label_score",
                             "latent_diversity", "ms_ssim", "psnr", "ssim", "surface_fit"]  # fmt: skip
    assert not any(METRICS[k].make(_ctx()).merge_exact for k in ("swd", "ms_ssim_diversity"))


def _merged(name, gen, cut):
    spec, data = METRICS[name], _inputs(gen)
    once, left, right = spec.make(_ctx()), spec.make(_ctx()), spec.make(_ctx())
    once.update(*[data[k] for k in spec.inputs])
    left.update(*[data[k][:cut] for k in spec.inputs])
    right.update(*[data[k][cut:] for k in spec.inputs])
    left.merge(right)
    return left.compute(), once.compute()


@pytest.mark.parametrize("name", EXACT)
def test_merge_equals_all_at_once_where_claimed(name, gen):
    merged, once = _merged(name, gen, 3)
    assert merged == pytest.approx(once, rel=1e-6)


def test_inexact_merges_are_close_but_not_equal(gen):
    merged, once = _merged("swd", gen, 4)  # patch positions follow each shard's own image indices
    assert merged["swd_avg"] == pytest.approx(once["swd_avg"], rel=0.3) and merged != once
    merged, once = _merged("ms_ssim_diversity", gen, 3)  # the pair (2, 3) is split between the shards
    assert merged != once


def test_directions():
    assert higher_is_better("ssim") and higher_is_better("fcn_class_iou") and higher_is_better("hist_b")
    assert higher_is_better("swd_avg") is False and higher_is_better("l1") is False and not higher_is_better("fid")
    assert higher_is_better("ms_ssim_diversity") is False and higher_is_better("n_raters") is None
    diagnostics = {k for k, v in HIGHER_IS_BETTER.items() if v is None}  # reported, never compared
    assert diagnostics == {"kd_dinov2_se", "n_dinov2", "dim_dinov2", "n_inception", "dim_inception"}
    assert all(isinstance(v, bool) for k, v in HIGHER_IS_BETTER.items() if k not in diagnostics)
    assert higher_is_better("lpips_alex") is False and higher_is_better("coverage_dinov2") is True
