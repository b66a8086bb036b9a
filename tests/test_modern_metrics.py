"""LPIPS, DISTS, FD/KD/PRDC on DINOv2 and Inception features, and the weights registry, each tested in its
reference's own convention against an independent implementation: the `lpips` and `DISTS_pytorch` packages on the
same backbone weights, torch-fidelity's FD, piq's copy of Binkowski et al.'s MMD code, clovaai's `prdc`, and a
plain re-implementation of facebookresearch/dinov2's forward. Weight files are made here, in the upstream formats,
from randomly initialised nets (nothing is downloaded); the KD standard error is checked by simulation."""

import numpy as np
import pytest
import torch
import torchvision

from bench.pretrained_files import make as make_files
from metrics import METRICS, EvalContext
from metrics import weights as W
from metrics.features import FeatureDistances, frechet_distance, kernel_distance, prdc, rank_caveat
from metrics.protocol import WeightsNotGiven
from studies import run as runner


def _images(n, seed, size=32):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g) * 2 - 1


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Upstream-format weight files of randomly initialised nets (bench/pretrained_files.py)."""
    return make_files(tmp_path_factory.mktemp("weights"), ("alexnet", "squeezenet", "vgg16", "dinov2_vits14"))


def _ctx(files, *names):
    return EvalContext(weights={n: str(files[n]) for n in names})


# --- LPIPS and DISTS against the authors' packages -----------------------------------------------


@pytest.mark.parametrize("backbone, net", [("alex", "alexnet"), ("squeeze", "squeezenet"), ("vgg", "vgg16")])
def test_lpips_equals_the_lpips_package_on_the_same_backbone(files, backbone, net, monkeypatch):
    from types import SimpleNamespace

    import lpips

    fake, real = _images(4, 1), _images(4, 2)
    ours = METRICS[f"lpips_{backbone}"].make(_ctx(files, net))
    ours.update(fake, real)
    arch = {"alexnet": "alexnet", "vgg16": "vgg16", "squeezenet": "squeezenet1_1"}[net]
    state = torch.load(files[net], weights_only=True)  # torchvision's own loading, not ganbench's registry
    if net == "vgg16":  # the test file holds VGG16's `features` alone
        features = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["D"])
        features.load_state_dict(state)
    else:
        model = getattr(torchvision.models, arch)(weights=None)
        model.load_state_dict(state)
        features = model.features
    monkeypatch.setattr(lpips.pretrained_networks.tv, arch, lambda **kw: SimpleNamespace(features=features))
    ref = lpips.LPIPS(net=backbone, verbose=False)  # its own v0.1 linear heads
    with torch.no_grad():
        expected = ref(fake, real).flatten()  # lpips' convention: [-1, 1] inputs
    _, values = ours.per_item()
    np.testing.assert_allclose(values[f"lpips_{backbone}"], expected.double().numpy(), rtol=1e-5, atol=1e-7)
    assert ours.compute()[f"lpips_{backbone}"] > 0
    same = METRICS[f"lpips_{backbone}"].make(_ctx(files, net))
    same.update(real, real)
    assert same.compute()[f"lpips_{backbone}"] == pytest.approx(0, abs=1e-7)


def test_dists_equals_the_dists_package_on_the_same_vgg16(files, monkeypatch):
    from types import SimpleNamespace

    import DISTS_pytorch.DISTS_pt as ref_module

    vgg = torchvision.models.vgg
    features = vgg.make_layers(vgg.cfgs["D"])
    features.load_state_dict(torch.load(files["vgg16"], weights_only=True))
    monkeypatch.setattr(ref_module.models, "vgg16", lambda pretrained=True: SimpleNamespace(features=features))
    ref = ref_module.DISTS()
    fake, real = _images(3, 3), _images(3, 4)
    ours = METRICS["dists"].make(_ctx(files, "vgg16"))
    ours.update(fake, real)
    with torch.no_grad():
        expected = ref((fake + 1) / 2, (real + 1) / 2, batch_average=False)  # DISTS' convention: [0, 1]
    _, values = ours.per_item()
    np.testing.assert_allclose(values["dists"], expected.double().numpy(), rtol=1e-5, atol=1e-6)


# --- DINOv2 features against a plain re-implementation of the reference forward --------------------


def _reference_dinov2(state, images_01):
    """facebookresearch/dinov2 DinoVisionTransformer.forward (x_norm_clstoken) written out: patch embedding,
    class token, interpolate_pos_encoding (bicubic, scale factor (16 + 0.1) / 37, no antialias), 12 pre-norm blocks
    with LayerScale, final LayerNorm; input as dgm-eval gives it (ImageNet-normalised 224 px)."""
    F = torch.nn.functional
    mean, std = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225])
    x = (images_01 - mean) / std.view(1, 3, 1, 1)
    b, heads = len(x), 6
    x = F.conv2d(x, state["patch_embed.proj.weight"], state["patch_embed.proj.bias"], stride=14)
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat([state["cls_token"].expand(b, -1, -1), x], 1)
    pos = state["pos_embed"]
    grid = F.interpolate(pos[:, 1:].reshape(1, 37, 37, -1).permute(0, 3, 1, 2), mode="bicubic", antialias=False,
                         scale_factor=(16.1 / 37, 16.1 / 37))  # fmt: skip
    x = x + torch.cat([pos[:, :1], grid.permute(0, 2, 3, 1).reshape(1, 256, -1)], 1)
    for i in range(12):
        p = {k[len(f"blocks.{i}.") :]: v for k, v in state.items() if k.startswith(f"blocks.{i}.")}
        h = F.layer_norm(x, (384,), p["norm1.weight"], p["norm1.bias"], eps=1e-6)
        qkv = F.linear(h, p["attn.qkv.weight"], p["attn.qkv.bias"]).reshape(b, -1, 3, heads, 64).permute(2, 0, 3, 1, 4)
        att = ((qkv[0] @ qkv[1].transpose(-2, -1)) * 64**-0.5).softmax(-1)
        h = F.linear((att @ qkv[2]).transpose(1, 2).reshape(b, -1, 384), p["attn.proj.weight"], p["attn.proj.bias"])
        x = x + p["ls1.gamma"] * h
        h = F.layer_norm(x, (384,), p["norm2.weight"], p["norm2.bias"], eps=1e-6)
        h = F.linear(F.gelu(F.linear(h, p["mlp.fc1.weight"], p["mlp.fc1.bias"])), p["mlp.fc2.weight"],
                     p["mlp.fc2.bias"])  # fmt: skip
        x = x + p["ls2.gamma"] * h
    return F.layer_norm(x, (384,), state["norm.weight"], state["norm.bias"], eps=1e-6)[:, 0]


def test_dinov2_features_equal_the_reference_forward_on_the_dgm_eval_transform(files):
    from PIL import Image

    from metrics.features import DINOv2Features

    images = _images(2, 5, size=48)
    u8 = ((images + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    resized = [torchvision.transforms.functional.to_tensor(Image.fromarray(a).resize((224, 224), Image.BICUBIC))
               for a in u8]  # fmt: skip  # dgm-eval: PIL Resize((224, 224), BICUBIC), ToTensor
    state = torch.load(files["dinov2_vits14"], weights_only=True)
    with torch.no_grad():
        expected = _reference_dinov2(state, torch.stack(resized))
    ours = DINOv2Features(W.load("dinov2_vits14", files["dinov2_vits14"]))(images)
    assert ours.shape == (2, 384) and ours.dtype == torch.float64
    torch.testing.assert_close(ours.float(), expected, rtol=1e-4, atol=1e-4)
    assert (ours[0] - ours[1]).abs().max() > 1e-2  # the features see the image (not only the class token)


# --- FD, KD and PRDC against their references ------------------------------------------------------


def _gaussians(n, d, shift, seed):
    g = np.random.default_rng(seed)
    a = g.standard_normal((n, d)) @ g.standard_normal((d, d)) * 0.3
    return torch.from_numpy(a), torch.from_numpy(g.standard_normal((n, d)) * 0.3 + shift)


def test_frechet_distance_equals_torch_fidelity():
    from torch_fidelity.metric_fid import fid_statistics_to_metric

    real, fake = _gaussians(60, 12, 0.2, 0)
    stats = [{"mu": x.numpy().mean(0), "sigma": np.cov(x.numpy(), rowvar=False)} for x in (real, fake)]
    expected = fid_statistics_to_metric(stats[0], stats[1], verbose=False)["frechet_inception_distance"]
    assert frechet_distance(real, fake) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(real, real) == pytest.approx(0, abs=1e-8)


def test_kernel_distance_and_its_variance_equal_binkowskis_code():
    from piq.kid import _mmd2_and_variance, _polynomial_kernel

    real, fake = _gaussians(40, 10, 0.1, 1)
    kxx, kyy, kxy = (_polynomial_kernel(a, b) for a, b in ((real, real), (fake, fake), (real, fake)))
    mmd2, var = _mmd2_and_variance(kxx, kxy, kyy, ret_var=True)  # k = (x.y / d + 1)^3, unbiased, var at m
    kd, se = kernel_distance(real, fake)
    assert kd == pytest.approx(float(mmd2), rel=1e-9) and se == pytest.approx(float(var) ** 0.5, rel=1e-9)


def test_kernel_distance_is_unbiased_and_its_standard_error_matches_the_spread_over_draws():
    """Known truth by simulation, at a paired test set's size (m = 40, d = 16): under equal distributions the
    mean KD is 0 within its simulation error; under a shift the reported SE is within 20% of the SD of KD over
    independent draws (the SE is what a reader uses to judge one KD)."""
    g = np.random.default_rng(7)
    for shift, check_null in ((0.0, True), (0.4, False)):
        kds, ses = [], []
        for _ in range(150):
            real, fake = torch.from_numpy(g.standard_normal((40, 16))), torch.from_numpy(g.standard_normal((40, 16)))
            kd, se = kernel_distance(real, fake + shift)
            kds.append(kd)
            ses.append(se)
        kds = np.array(kds)
        if check_null:
            assert abs(kds.mean()) < 3 * kds.std() / np.sqrt(len(kds))
        else:
            assert kds.mean() > 3 * kds.std() / np.sqrt(len(kds))
        assert np.mean(ses) == pytest.approx(kds.std(ddof=1), rel=0.2)


def test_prdc_equals_the_prdc_package():
    from prdc import compute_prdc

    real, fake = _gaussians(50, 8, 0.3, 2)
    expected = compute_prdc(real.numpy(), fake.numpy(), nearest_k=5)
    ours = prdc(real, fake, k=5)
    for key in ("precision", "recall", "density", "coverage"):
        assert ours[key] == pytest.approx(expected[key], abs=1e-12), key


def test_mode_collapse_drops_recall_and_coverage_but_not_precision():
    """Ten well-separated modes; a generator that covers them all vs one collapsed onto two of them."""
    g = np.random.default_rng(3)
    centres = g.standard_normal((10, 16)) * 6

    def draw(n, modes):
        return torch.from_numpy(centres[g.choice(modes, n)] + g.standard_normal((n, 16)) * 0.5)

    real = draw(200, range(10))
    good, collapsed = prdc(real, draw(200, range(10))), prdc(real, draw(200, [0, 1]))
    assert good["precision"] > 0.9 and collapsed["precision"] > 0.9
    assert good["recall"] > 0.8 and collapsed["recall"] < 0.3
    assert good["coverage"] > 0.8 and collapsed["coverage"] < 0.3


def test_feature_distances_stream_merge_and_cache_like_one_pass():
    identity = torch.nn.Flatten()
    real, fake = _images(12, 6, size=4), _images(12, 7, size=4)
    whole = FeatureDistances(identity, "x", {})
    whole.update(fake, real)
    parts = [FeatureDistances(identity, "x", {}) for _ in range(2)]
    parts[0].update(fake[:5], real[:5])
    parts[1].update(fake[5:], real[5:])
    parts[0].merge(parts[1])
    cached = FeatureDistances(identity, "x", {})
    cached.set_real_state(whole.real_state())
    cached.update(fake, real)
    expected = whole.compute()
    assert parts[0].compute() == pytest.approx(expected) and cached.compute() == pytest.approx(expected)
    assert set(expected) == {"n_x", "dim_x", "fd_x", "kd_x", "kd_x_se", "precision_x", "recall_x", "density_x",
                             "coverage_x"}  # fmt: skip
    assert "rank-deficient" in rank_caveat("x")(expected) and rank_caveat("x")({"n_x": 50.0, "dim_x": 48.0}) is None


# --- the registry: files checked before any work, metrics left out with the flag they need -------------


def test_bad_weight_files_are_named(files, tmp_path):
    with pytest.raises(W.WeightsError, match="missing.pth: AlexNet weight file not found"):
        W.load("alexnet", tmp_path / "missing.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(W.WeightsError, match="junk.pth: not a readable PyTorch weight file"):
        W.load("vgg16", tmp_path / "junk.pth")
    with pytest.raises(W.WeightsError, match="squeezenet1_1.pth: not AlexNet weights \\(missing features.3.weight"):
        W.load("alexnet", files["squeezenet"])
    with pytest.raises(W.WeightsError, match="alexnet-owt.pth: not DINOv2 VITB14 weights"):
        W.load("dinov2_vitb14", files["alexnet"])
    with pytest.raises(WeightsNotGiven, match="lpips_alex needs --weights alexnet=PATH"):
        METRICS["lpips_alex"].make(EvalContext())


def test_runner_checks_weight_files_first_and_names_what_is_missing(files, tmp_path, capsys):
    base = ["ablation_patchgan", "--profile", "smoke", "--no-progress", "--out", str(tmp_path / "runs")]
    for flag, message in (
        (f"alexnt={files['alexnet']}", "unknown weights 'alexnt' (did you mean alexnet?)"),
        (f"alexnet={tmp_path / 'nope.pth'}", "nope.pth: AlexNet weight file not found"),
        (f"dinov2_vits14={files['vgg16']}", "vgg16-features.pth: not DINOv2 VITS14 weights"),
    ):
        assert runner.main([*base, "--weights", flag]) == 2  # fmt: skip
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "runs").exists()
    assert runner.main([*base, "--only", "70x70-s0"]) == 0
    out = capsys.readouterr().out
    assert "left out (their pretrained nets were not given" in out and "lpips_alex (--weights alexnet=PATH)" in out
    assert "lpips_alex" not in out.split("ablation_patchgan:")[-1].split("[low, high]")[0]
    given = ["--weights", f"alexnet={files['alexnet']}", "--weights", f"dinov2_vits14={files['dinov2_vits14']}"]
    assert runner.main([*base, "--only", "70x70-s0", "--rescore", *given]) == 0
    out = capsys.readouterr().out
    table = out.split("ablation_patchgan:")[-1]
    assert "lpips_alex" in table and "fd_dinov2" in table and "coverage_dinov2" in table and "dists" not in table
    assert "! fd_dinov2: 8 images per set < 384 feature dimensions" in out
    import pandas as pd

    runs = pd.read_csv(tmp_path / "runs" / "ablation_patchgan" / "runs.csv").set_index("run_id")
    assert runs.loc["70x70-s0", "alexnet_sha256"] == W.sha256(files["alexnet"])
    assert f"[dinov2_vits14 sha256:{W.sha256(files['dinov2_vits14'])}]" in runs.loc["70x70-s0", "metric_protocol"]


def test_score_folders_with_a_pretrained_metric(files, tmp_path, capsys):
    from PIL import Image

    from metrics import score

    for folder, seed in (("truth", 0), ("outputs", 1)):
        (tmp_path / folder).mkdir()
        for i, im in enumerate(_images(6, seed)):
            Image.fromarray(((im + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()).save(
                tmp_path / folder / f"{i:06d}.png"
            )
    args = [
        "--outputs",
        str(tmp_path / "outputs"),
        "--truth",
        str(tmp_path / "truth"),
        "--out",
        str(tmp_path / "s.csv"),
    ]
    assert score.main([*args, "--weights", f"alexnet={tmp_path / 'none.pth'}"]) == 2
    assert "none.pth: AlexNet weight file not found" in capsys.readouterr().err and not (tmp_path / "s.csv").exists()
    assert score.main([*args, "--weights", f"alexnet={files['alexnet']}"]) == 0
    import pandas as pd

    per_item, summary = pd.read_csv(tmp_path / "s.csv"), pd.read_csv(tmp_path / "s.summary.csv").set_index("metric")
    assert (per_item.metric == "lpips_alex").sum() == 6 and "ssim" in summary.index
    assert f"[alexnet sha256:{W.sha256(files['alexnet'])}]" in summary.loc["lpips_alex", "protocol"]
    assert summary.loc["lpips_alex", "low"] < summary.loc["lpips_alex", "value"] < summary.loc["lpips_alex", "high"]


def test_pairs_metrics_of_pretrained_nets_are_skipped_on_an_unpaired_test_split(files, capsys):
    from studies.runner.execute import make_metrics
    from studies.spec import RunSpec

    spec = RunSpec(metrics=("lpips_alex", "dinov2", "swd"))
    ctx = _ctx(files, "alexnet", "dinov2_vits14")
    assert set(make_metrics(spec, ctx, unpaired=True)) == {"dinov2", "swd"}  # distributions need no pairs
    assert "lpips_alex needs paired test data; this test split is unpaired" in capsys.readouterr().out
    assert set(make_metrics(spec, ctx)) == {"lpips_alex", "dinov2", "swd"}
