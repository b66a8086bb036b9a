"""ganbench metrics: per-sample functions plus summable accumulators, and the METRICS registry.

Each registry entry names its accumulator factory, the keys its update() reads from the eval batch
merged with the recipe's translate outputs (`fake_b` generated, `b` real target, `label` label map,
following the data convention a -> b), the keys it reports with their direction (higher_is_better), and
a versioned protocol string that goes into runs.csv. A changed definition gets a new key and version.
A metric may declare a ceiling: the same metric on the real data (fcn_score of the real photos).
"""

from __future__ import annotations

from metrics import fcn_score, features, fid, histogram, perceptual, pixel, ssim, surfaces, swd
from metrics import weights as W
from metrics.protocol import EvalContext, MeanOf, MetricSpec, MetricUnavailable


def _fcn(ctx: EvalContext) -> fcn_score.FCNScore:
    if ctx.segmenter is None or not ctx.n_classes:
        raise MetricUnavailable("fcn_score needs label maps and a segmenter (a dataset with classes)")
    return fcn_score.FCNScore(ctx.segmenter(), ctx.n_classes)


def _label(ctx: EvalContext) -> fcn_score.FCNScore:
    if ctx.palette is None or not ctx.n_classes:
        raise MetricUnavailable("label_score needs label maps and their class colours (a dataset with classes)")
    return fcn_score.FCNScore(fcn_score.NearestColour(ctx.palette), ctx.n_classes, prefix="label")


def _lpips(backbone: str):
    def make(ctx: EvalContext):
        return perceptual.lpips(backbone, *W.given(ctx, perceptual.LPIPS_NETS[backbone], f"lpips_{backbone}"))

    return make


def _dists(ctx: EvalContext):
    return perceptual.dists(*W.given(ctx, "vgg16", "dists"))


def _dinov2(ctx: EvalContext):
    name = W.one_of(ctx, tuple(W.DINOV2_ARCH), "dinov2")
    net, sha = W.given(ctx, name, "dinov2")
    return features.FeatureDistances(features.DINOv2Features(net), "dinov2", {name: sha})


def _fid(ctx: EvalContext):
    net, sha = W.given(ctx, "inception", "fid")
    acc = fid.InceptionDistances(net)
    acc.weights = {"inception": sha}
    return acc


def _prdc_inception(ctx: EvalContext):
    net, sha = W.given(ctx, "inception", "prdc_inception")
    return features.FeatureDistances(features.InceptionFeatures(net), "inception", {"inception": sha}, ("prdc",))


PRDC_KEYS = ("precision", "recall", "density", "coverage")
SWD_KEYS = {f"swd_{r}": False for r in (512, 256, 128, 64, 32, 16)} | {"swd_avg": False}

METRICS: dict[str, MetricSpec] = {
    "ssim": MetricSpec(lambda ctx: MeanOf(ssim.ssim, "ssim"), ("fake_b", "b"), {"ssim": True},
                       "ssim-v2: [0,1] intensities (L=1), 11x11 gaussian s1.5, valid region, channel mean "
                       "(= skimage on uint8, data_range 255)", paired=True),
    "ms_ssim": MetricSpec(lambda ctx: MeanOf(ssim.ms_ssim, "ms_ssim"), ("fake_b", "b"), {"ms_ssim": True},
                          "ms_ssim-v2: Progressive GAN on [0,1] intensities (= uint8, max_val 255), 5 scales, "
                          "valid windows, window min(11,H,W), clip 0", paired=True),
    "ms_ssim_diversity": MetricSpec(lambda ctx: ssim.PairDiversity(), ("fake_b",), {"ms_ssim_diversity": False},
                                    "ms_ssim_diversity-v2: mean ms_ssim-v2 of fake pairs (0,1),(2,3),..."),
    "latent_diversity": MetricSpec(lambda ctx: MeanOf(ssim.latent_ms_ssim, "latent_ms_ssim"), ("fake_b_latents",),
                                   {"latent_ms_ssim": False},
                                   "latent_diversity-v1: per label map, mean ms_ssim-v2 over the pairs of its outputs "
                                   "for K prior latents (multimodal recipes), then averaged"),
    "l1": MetricSpec(lambda ctx: MeanOf(pixel.l1, "l1"), ("fake_b", "b"), {"l1": False},
                     "l1-v1: mean |fake-real| on the [-1,1] scale, per image then averaged", paired=True),
    "psnr": MetricSpec(lambda ctx: MeanOf(pixel.psnr, "psnr"), ("fake_b", "b"), {"psnr": True},
                       "psnr-v1: torchmetrics, data_range 2, per image then averaged", paired=True),
    "hist_intersection": MetricSpec(lambda ctx: histogram.LabHistogram(), ("fake_b", "b"),
                                    {"hist_L": True, "hist_a": True, "hist_b": True},
                                    "hist-v1: Lab (skimage D65) marginals, 256 bins, all pixels pooled", real="b"),
    "swd": MetricSpec(lambda ctx: swd.SlicedWasserstein(), ("b", "fake_b"), SWD_KEYS,
                      "swd-v1: Progressive GAN, Laplacian to 16px, 128 7x7 patches/img, 4x128 dirs, x1e3",
                      table=("swd_avg",), real="b"),
    "fcn_score": MetricSpec(_fcn, ("fake_b", "label"),
                            {"fcn_pixel_acc": True, "fcn_class_acc": True, "fcn_class_iou": True},
                            "fcn-v2: smp U-Net on real train photos (seeded init), bilinear to label size, "
                            "1e-12 means",
                            ceiling={"fake_b": "b"}, paired=True),
    "label_score": MetricSpec(_label, ("fake_a", "label"),
                              {"label_pixel_acc": True, "label_class_acc": True, "label_class_iou": True},
                              "label-v1: photo -> labels, each pixel the nearest class colour, one confusion matrix, "
                              "1e-12 means (CycleGAN Table 3)", ceiling={"fake_a": "a"}, paired=True),
    "fid": MetricSpec(_fid,
                      ("fake_b", "b"), {"fid": False, "kid": False},
                      "fid-v1: torch-fidelity Inception-v3 from a local file, 299px bilinear, KID subsets",
                      real="b", weights=("inception",)),
    "lpips_alex": MetricSpec(_lpips("alex"), ("fake_b", "b"), {"lpips_alex": False},
                             "lpips_alex-v1: LPIPS v0.1 (torchmetrics), AlexNet from a local torchvision file, "
                             "[-1,1] inputs, no resize, per image then averaged", paired=True, weights=("alexnet",)),
    "lpips_vgg": MetricSpec(_lpips("vgg"), ("fake_b", "b"), {"lpips_vgg": False},
                            "lpips_vgg-v1: LPIPS v0.1 (torchmetrics), VGG16 from a local torchvision file, "
                            "[-1,1] inputs, no resize, per image then averaged", paired=True, weights=("vgg16",)),
    "lpips_squeeze": MetricSpec(_lpips("squeeze"), ("fake_b", "b"), {"lpips_squeeze": False},
                                "lpips_squeeze-v1: LPIPS v0.1 (torchmetrics), SqueezeNet 1.1 from a local "
                                "torchvision file, [-1,1] inputs, no resize, per image then averaged", paired=True,
                                weights=("squeezenet",)),
    "dists": MetricSpec(_dists, ("fake_b", "b"), {"dists": False},
                        "dists-v1: DISTS (torchmetrics), VGG16 from a local torchvision file, [0,1] inputs, no "
                        "resize, per image then averaged", paired=True, weights=("vgg16",)),
    "dinov2": MetricSpec(_dinov2, ("fake_b", "b"),
                         {"fd_dinov2": False, "kd_dinov2": False, "kd_dinov2_se": None,
                          **{f"{k}_dinov2": True for k in PRDC_KEYS}, "n_dinov2": None, "dim_dinov2": None},
                         "dinov2-v1: DINOv2 ViT-*/14 class token from a local file (timm network), dgm-eval "
                         "transform (uint8, PIL bicubic 224, ImageNet norm); FD float64; KD unbiased cubic-kernel "
                         "MMD^2 on all images + U-statistic SE; PRDC k=5",
                         table=("fd_dinov2", "kd_dinov2", *(f"{k}_dinov2" for k in PRDC_KEYS)), real="b",
                         caveat=features.rank_caveat("dinov2"), weights=tuple(W.DINOV2_ARCH)),
    "prdc_inception": MetricSpec(_prdc_inception, ("fake_b", "b"),
                                 {**{f"{k}_inception": True for k in PRDC_KEYS}, "n_inception": None,
                                  "dim_inception": None},
                                 "prdc_inception-v1: PRDC k=5 on torch-fidelity Inception-v3 2048-d pool features "
                                 "from a local file (uint8 in, 299px bilinear inside)",
                                 table=tuple(f"{k}_inception" for k in PRDC_KEYS), real="b", weights=("inception",)),
    "surface_fit": MetricSpec(lambda ctx: surfaces.SurfaceFit(), ("fake_b", "alpha"),
                              {"alpha_residual": False, "alpha_coverage": True, "converged": True},
                              "surface_fit-v1: least-squares alpha in [0.5,16] step 0.05, RMS residual, coverage "
                              "within 0.5 at residual < 0.075"),
    "energy_distance": MetricSpec(lambda ctx: surfaces.EnergyDistance(), ("b", "fake_b"), {"energy_distance": False},
                                  "energy_distance-v1: V-statistic on flattened items, <= 1000 per set"),
}  # fmt: skip

HUMAN_KEYS = {"human_mos": True, "human_fooled_rate": True}
TRAINING_KEYS = {f"{g}_grad_{k}": False for g in ("g", "d") for k in ("spikes", "logstd")}  # models/runlog.py stability
HIGHER_IS_BETTER: dict[str, bool | None] = {k: v for s in METRICS.values() for k, v in s.outputs.items()} | \
    HUMAN_KEYS | TRAINING_KEYS  # fmt: skip


def higher_is_better(key: str) -> bool | None:
    """Direction of a reported metric key; None when the key is not a quality metric (e.g. counts)."""
    return HIGHER_IS_BETTER.get(key)


def stale(protocols: dict[str, str]) -> list[str]:
    """Registry entries whose recorded protocol version ({"ssim": "ssim-v1"}) is older than the registry's."""
    return [m for m, v in protocols.items() if m in METRICS and v != METRICS[m].version]


def recorded_versions(protocols: dict[str, str] | None, metrics) -> dict[str, str]:
    """{metric: version} a finished run was scored with: its record, or, for a run from before versions were
    recorded (run.json / runs.csv without them), version 1 of each of its `metrics`."""
    if protocols:
        return dict(protocols)
    return {m: METRICS[m].version.rsplit("-v", 1)[0] + "-v1" for m in metrics if m in METRICS}


__all__ = [
    "METRICS",
    "EvalContext",
    "MetricSpec",
    "MetricUnavailable",
    "MeanOf",
    "higher_is_better",
    "recorded_versions",
    "stale",
]
