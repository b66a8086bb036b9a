"""ganbench metrics: per-sample functions plus summable accumulators, and the METRICS registry.

Each registry entry names its accumulator factory, the evaluation tensors its update() takes
("fake", "real", "label"), the keys it reports with their direction (higher_is_better), and a
versioned protocol string that goes into runs.csv. A changed definition gets a new key and version.
"""

from __future__ import annotations

from metrics import fcn_score, fid, histogram, pixel, ssim, swd
from metrics.protocol import EvalContext, MeanOf, MetricSpec, MetricUnavailable


def _fcn(ctx: EvalContext) -> fcn_score.FCNScore:
    if ctx.segmenter is None or not ctx.n_classes:
        raise MetricUnavailable("fcn_score needs label maps and a segmenter (a dataset with classes)")
    return fcn_score.FCNScore(ctx.segmenter(), ctx.n_classes)


SWD_KEYS = {f"swd_{r}": False for r in (512, 256, 128, 64, 32, 16)} | {"swd_avg": False}

METRICS: dict[str, MetricSpec] = {
    "ssim": MetricSpec(lambda ctx: MeanOf(ssim.ssim, "ssim"), ("fake", "real"), {"ssim": True},
                       "ssim-v1: [-1,1] NCHW, 11x11 gaussian s1.5, valid region, channel mean (= skimage)"),
    "ms_ssim": MetricSpec(lambda ctx: MeanOf(ssim.ms_ssim, "ms_ssim"), ("fake", "real"), {"ms_ssim": True},
                          "ms_ssim-v1: Progressive GAN, 5 scales, valid windows, window min(11,H,W), clip 0"),
    "ms_ssim_diversity": MetricSpec(lambda ctx: ssim.PairDiversity(), ("fake",), {"ms_ssim_diversity": False},
                                    "ms_ssim_diversity-v1: mean ms_ssim-v1 of fake pairs (0,1),(2,3),..."),
    "l1": MetricSpec(lambda ctx: MeanOf(pixel.l1, "l1"), ("fake", "real"), {"l1": False},
                     "l1-v1: mean |fake-real| on the [-1,1] scale, per image then averaged"),
    "psnr": MetricSpec(lambda ctx: MeanOf(pixel.psnr, "psnr"), ("fake", "real"), {"psnr": True},
                       "psnr-v1: torchmetrics, data_range 2, per image then averaged"),
    "hist_intersection": MetricSpec(lambda ctx: histogram.LabHistogram(), ("fake", "real"),
                                    {"hist_L": True, "hist_a": True, "hist_b": True},
                                    "hist-v1: Lab (skimage D65) marginals, 256 bins, all pixels pooled"),
    "swd": MetricSpec(lambda ctx: swd.SlicedWasserstein(), ("real", "fake"), SWD_KEYS,
                      "swd-v1: Progressive GAN, Laplacian to 16px, 128 7x7 patches/img, 4x128 dirs, x1e3"),
    "fcn_score": MetricSpec(_fcn, ("fake", "label"),
                            {"fcn_pixel_acc": True, "fcn_class_acc": True, "fcn_class_iou": True},
                            "fcn-v1: smp U-Net on real train photos, bilinear to label size, 1e-12 means"),
    "fid": MetricSpec(lambda ctx: fid.InceptionDistances(fid.load_inception(ctx.inception_weights)),
                      ("fake", "real"), {"fid": False, "kid": False},
                      "fid-v1: torch-fidelity Inception-v3 from a local file, 299px bilinear, KID subsets"),
}  # fmt: skip

HUMAN_KEYS = {"human_mos": True, "human_fooled_rate": True}
HIGHER_IS_BETTER: dict[str, bool] = {k: v for s in METRICS.values() for k, v in s.outputs.items()} | HUMAN_KEYS


def higher_is_better(key: str) -> bool | None:
    """Direction of a reported metric key; None when the key is not a quality metric (e.g. counts)."""
    return HIGHER_IS_BETTER.get(key)


__all__ = ["METRICS", "EvalContext", "MetricSpec", "MetricUnavailable", "MeanOf", "higher_is_better"]
