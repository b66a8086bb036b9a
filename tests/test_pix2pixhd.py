"""pix2pixHD: parity with NVIDIA/pix2pixHD (parameter counts, shapes, loss weights), staged training, the semantic
input (one-hot + instance edges), the VGG19 perceptual loss from a local file, and the runner's --weights."""

import json

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from metrics.weights import WeightsError, sha256
from models.contract import DataFacts, Progress
from models.layers import count_parameters, instance_edges, one_hot, receptive_field, semantic_input
from models.losses import gan_loss
from models.perceptual import (
    LAYER_WEIGHTS,
    VGG19_CONV5_1_PARAMETERS,
    VGGLoss,
    load_vgg19,
    vgg19_features,
    vgg_weight,
)
from models.pix2pixhd import (
    GlobalConfig,
    GlobalGenerator,
    LocalEnhancer,
    MultiscaleDConfig,
    MultiscaleDiscriminator,
    Pix2PixHD,
    Pix2PixHDConfig,
)
from models.train import Engine
from studies import run as runner
from studies.runner.build import build_recipe, datasets
from studies.spec import RunSpec, override

FACTS = DataFacts(channels_a=3, channels_b=3, n_classes=8, size=64, view="paired", instances=True)


# --- parity -------------------------------------------------------------------------------------


def test_global_generator_parameter_parity():
    assert count_parameters(GlobalGenerator(35 + 1, 3, ngf=64, n_downsampling=4, n_blocks=9)) == 182_546_755


@pytest.mark.parametrize("num_d,params", [(2, 5_603_202), (3, 8_404_803)])
def test_multiscale_discriminator_parameter_parity(num_d, params):
    assert count_parameters(MultiscaleDiscriminator(39, ndf=64, n_layers=3, num_d=num_d)) == params


def test_vgg19_features_to_conv5_1_parameter_parity():
    net = vgg19_features()
    assert count_parameters(net) == VGG19_CONV5_1_PARAMETERS == 12_944_960
    assert isinstance(net[-1], torch.nn.ReLU) and isinstance(net[-2], torch.nn.Conv2d)  # relu5_1 after conv5_1


def test_generator_and_discriminator_shapes():
    G = GlobalGenerator(9, 3, ngf=4, n_downsampling=3, n_blocks=2)
    x = torch.randn(2, 9, 64, 64)
    y = G(x)
    assert y.shape == (2, 3, 64, 64) and y.abs().max() <= 1
    assert G.features(x).shape == (2, 4, 64, 64)  # the output convs dropped, as the LocalEnhancer uses it
    with pytest.raises(ValueError, match="divisible by 2\\^n_downsampling = 8"):
        G(torch.randn(1, 9, 36, 36))
    D = MultiscaleDiscriminator(12, ndf=4, n_layers=3, num_d=3)
    out = D(torch.randn(2, 12, 64, 64))
    assert len(out) == 3 and all(len(s) == 5 for s in out)  # 3 scales x (4 feature maps + logits)
    assert [s[-1].shape[-1] for s in out] == [11, 7, 5]  # padding 2: 64->33->17->9->10->11; 32 ...; 16 ...
    assert receptive_field(D.scales[0]) == 70


def test_local_enhancer_adds_the_global_features_at_half_size():
    G, L = GlobalGenerator(9, 3, 8, 2, 1), LocalEnhancer(9, 3, 4, 1)
    x = torch.randn(1, 9, 32, 32)
    feats = G.features(F.avg_pool2d(x, 3, 2, 1, count_include_pad=False))
    assert feats.shape == (1, 8, 16, 16) and L(x, feats).shape == (1, 3, 32, 32)


# --- semantic input -----------------------------------------------------------------------------


def test_instance_edges_match_the_reference_get_edges():
    inst = torch.tensor([[[1, 1, 2], [1, 1, 2], [3, 3, 3]]])
    expected = torch.tensor([[[0, 1, 1], [1, 1, 1], [1, 1, 1]]], dtype=torch.float)
    assert torch.equal(instance_edges(inst)[:, 0], expected)
    assert instance_edges(torch.zeros(1, 4, 4, dtype=torch.long)).sum() == 0


def test_one_hot_zeroes_ignored_pixels_and_semantic_input_stacks_the_edges():
    label = torch.tensor([[[0, 2], [255, 1]]])
    oh = one_hot(label, 3)
    assert oh.shape == (1, 3, 2, 2) and oh[0, :, 1, 0].sum() == 0 and oh[0, 2, 0, 1] == 1
    batch = {"label": label, "instance": torch.tensor([[[1, 2], [1, 1]]]), "a": torch.zeros(1, 3, 2, 2)}
    x = semantic_input(batch, 3, edges=True)
    assert x.shape == (1, 4, 2, 2) and torch.equal(x[:, :3], oh)
    assert semantic_input({"a": batch["a"]}, 0, edges=False) is batch["a"]  # no classes: the input image


def test_synthetic_items_carry_instance_maps_that_follow_the_crop(tmp_path):
    spec = override(override(RunSpec(recipe="pix2pixhd"), "data.n_train", 4), "data.size", 64)
    train_set, test_set = datasets(spec)
    assert train_set.facts().instances
    for item in (train_set[0], test_set[0]):  # jittered and plain
        assert item["instance"].shape == item["label"].shape == (64, 64)
        for iid in item["instance"].unique():  # one class per instance: the maps were cropped and flipped alike
            assert item["label"][item["instance"] == iid].unique().numel() == 1


# --- recipe: losses and staged training ---------------------------------------------------------


def _recipe(**g):
    cfg = Pix2PixHDConfig(g=GlobalConfig(ngf=4, n_downsampling=2, n_blocks=1, n_blocks_local=1, **g),
                          d=MultiscaleDConfig(ndf=4), lambda_vgg=0.0)  # fmt: skip
    return Pix2PixHD(cfg, FACTS)


def _batch(n=2, size=64):
    gen = torch.Generator().manual_seed(0)
    return {"a": torch.rand(n, 3, size, size, generator=gen) * 2 - 1,
            "b": torch.rand(n, 3, size, size, generator=gen) * 2 - 1,
            "label": torch.randint(0, 8, (n, size, size), generator=gen),
            "instance": torch.randint(0, 3, (n, size, size), generator=gen)}  # fmt: skip


def test_init_and_the_vgg_weight_as_the_reference():
    convs = [m for m in _recipe().nets["G"].modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.bias.abs().max() > 0 for c in convs)  # weights_init leaves biases at PyTorch's default
    assert all(abs(c.weight.std().item() - 0.02) < 0.01 for c in convs if c.weight.numel() > 1000)
    assert vgg_weight(Pix2PixHDConfig(lambda_feat=3.0)) == 3.0  # the reference: VGG x lambda_feat
    assert vgg_weight(Pix2PixHDConfig(lambda_feat=3.0, lambda_vgg=0.0)) == 0.0  # no_vgg_loss


def test_losses_follow_the_reference_weights():
    r, batch = _recipe(), _batch()
    t = Progress(0, 0, 10)
    out = r.forward(batch, t)
    assert out["input"].shape[1] == 8 + 1  # 8 classes + the instance-edge channel
    g = r.losses("g", batch, out, t)
    D = r.nets["D"]
    fake = D(torch.cat([out["input"], out["fake_b"]], 1))
    real = D(torch.cat([out["input"], batch["b"]], 1))
    gan = sum(F.mse_loss(s[-1], torch.ones_like(s[-1])) for s in fake)  # LSGAN summed over scales
    feat = sum(10.0 * (1 / 2) * (4 / (3 + 1)) * F.l1_loss(f, r_.detach())
               for fs, rs in zip(fake, real) for f, r_ in zip(fs[:-1], rs[:-1]))  # fmt: skip
    assert torch.allclose(g["gan"], gan) and torch.allclose(g["feat"], feat)
    d = r.losses("d", batch, out, t)
    assert torch.allclose(d["real"], 0.5 * sum(gan_loss(s[-1], True, "lsgan") for s in real))
    assert set(r.groups) == {"g", "d"} and r.groups["g"] == ("G",)


def test_staged_training_trains_the_global_net_at_half_size_then_the_local_enhancer():
    r = _recipe(local=True, global_share=0.5, fix_global_share=0.25)
    total = 100
    stages = [r.stage(Progress(0, i, total)) for i in (0, 49, 50, 74, 75, 99)]
    assert stages == ["global-half", "global-half", "local", "local", "joint", "joint"]
    assert r.trainable(Progress(0, 0, total)) == {"G", "D"} and r.trainable(Progress(0, 60, total)) == {"L", "D"}
    assert r.trainable(Progress(0, 80, total)) == {"G", "L", "D"}
    batch = _batch()
    half = r.forward(batch, Progress(0, 0, total))
    assert half["fake_b"].shape[-1] == 32 and half["real"].shape[-1] == 32 and half["input"].shape[-1] == 32
    assert r.translate(batch, Progress(0, 0, total))["fake_b"].shape[-1] == 64  # scored at full size
    assert r.forward(batch, Progress(0, 80, total))["fake_b"].shape[-1] == 64


def test_staged_training_moves_each_net_only_in_its_stages(tmp_path):
    spec = RunSpec(recipe="pix2pixhd")
    for k, v in {**Pix2PixHD.defaults, **Pix2PixHD.smoke, "model.g.local": True, "model.g.global_share": 0.5,
                 "data.n_train": 8, "data.n_test": 4, "data.n_val": 2, "train.images": 8, "train.batch_size": 2,
                 "train.device": "cpu", "train.ckpt_every": 0, "train.log_every": 2}.items():  # fmt: skip
        spec = override(spec, k, v)
    train_set, _ = datasets(spec)
    r = build_recipe(spec, train_set)
    eng = Engine.build(r, spec.train)
    batch = torch.utils.data.default_collate([train_set[i] for i in range(2)])
    L0 = {k: v.clone() for k, v in r.nets["L"].state_dict().items()}
    G_out = r.nets["G"].model[-2].weight.clone()  # the global net's output conv: trained in stage 1 only
    for images in (0, 2):  # stage 1 of 8 images: the global net alone, at half size
        eng.step(r, lambda bs: batch, Progress(images // 2, images, 8))
    assert all(torch.equal(v, r.nets["L"].state_dict()[k]) for k, v in L0.items())
    assert not torch.equal(G_out, r.nets["G"].model[-2].weight)
    G_mid, G_first = r.nets["G"].model[-2].weight.clone(), r.nets["G"].model[1].weight.clone()
    eng.step(r, lambda bs: batch, Progress(2, 4, 8))  # joint: both, at full size
    assert not all(torch.equal(v, r.nets["L"].state_dict()[k]) for k, v in L0.items())
    assert torch.equal(G_mid, r.nets["G"].model[-2].weight)  # unused once the local enhancer is on
    assert not torch.equal(G_first, r.nets["G"].model[1].weight)


# --- VGG19 weights ------------------------------------------------------------------------------


def test_vgg_weights_load_from_a_local_file_and_bad_files_are_named(tmp_path):
    full = {f"features.{k}": v for k, v in vgg19_features().state_dict().items()}
    full["classifier.0.weight"] = torch.zeros(1)  # a whole-model file: the rest is ignored
    torch.save(full, tmp_path / "vgg19.pth")
    net = load_vgg19(tmp_path / "vgg19.pth")
    assert torch.equal(net[0].weight, full["features.0.weight"])
    torch.save({k.removeprefix("features."): v for k, v in full.items()}, tmp_path / "features.pth")
    assert torch.equal(load_vgg19(tmp_path / "features.pth")[28].bias, full["features.28.bias"])
    with pytest.raises(WeightsError, match="missing.pth: VGG19 weight file not found"):
        load_vgg19(tmp_path / "missing.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="junk.pth: not a readable PyTorch weight file"):
        load_vgg19(tmp_path / "junk.pth")
    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(WeightsError, match="other.pth: not VGG19 weights \\(missing features.0.bias"):
        load_vgg19(tmp_path / "other.pth")


def test_vgg_loss_weights_the_five_relu_outputs():
    net = vgg19_features()
    loss = VGGLoss(net)
    x, y = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    ends, total, fx, fy, start = (2, 7, 12, 21, 30), 0.0, x, y, 0
    for w, end in zip(LAYER_WEIGHTS, ends):
        fx, fy = net[start:end](fx), net[start:end](fy)
        total, start = total + w * F.l1_loss(fx, fy), end
    assert LAYER_WEIGHTS == (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
    assert torch.allclose(loss(x, y), total) and not any(p.requires_grad for p in loss.parameters())


SMOKE = ["--profile", "smoke", "--no-progress", "--seeds", "0"]


def test_runs_needing_vgg_weights_are_skipped_with_a_message_and_run_with_them(tmp_path, capsys):
    out = tmp_path / "runs"
    args = ["labels2photo_generators", *SMOKE, "--out", str(out), "--only", "pix2pixHD (global),pix2pixHD + VGG-s0"]
    assert runner.main(args) == 0
    text = capsys.readouterr().out
    assert "[pix2pixHD + VGG-s0] skipped: needs vgg19 weights (--weights vgg19=PATH" in text
    assert not (out / "labels2photo_generators" / "pix2pixHD + VGG-s0").exists()
    torch.save({f"features.{k}": v for k, v in vgg19_features().state_dict().items()}, tmp_path / "vgg19.pth")
    assert runner.main([*args, "--weights", f"vgg19={tmp_path / 'vgg19.pth'}"]) == 0
    runs = pd.read_csv(out / "labels2photo_generators" / "runs.csv").set_index("run_id")
    assert runs.loc["pix2pixHD + VGG-s0", "vgg19_sha256"] == sha256(tmp_path / "vgg19.pth")
    assert runs.loc["pix2pixHD + VGG-s0", "status"] == "done"
    losses = pd.read_csv(out / "labels2photo_generators" / "pix2pixHD + VGG-s0" / "losses.csv")
    assert "g/vgg" in losses and losses["g/vgg"].notna().all()
    config = json.loads((out / "labels2photo_generators" / "pix2pixHD + VGG-s0" / "config.json").read_text())
    assert config["model"]["lambda_vgg"] == 10.0


def test_bad_weights_flags_are_one_line_errors(tmp_path, capsys):
    base = ["labels2photo_generators", *SMOKE, "--out", str(tmp_path), "--only", "pix2pixHD + VGG-s0"]
    assert runner.main([*base, "--weights", "resnet=x.pth"]) == 2
    assert "--weights: unknown weights 'resnet'; known: inception, alexnet, vgg16, vgg19" in capsys.readouterr().err
    assert runner.main([*base, "--weights", "vgg19"]) == 2
    assert "--weights expects NAME=PATH" in capsys.readouterr().err
    assert runner.main([*base, "--weights", f"vgg19={tmp_path / 'nope.pth'}"]) == 2
    assert "nope.pth: VGG19 weight file not found" in capsys.readouterr().err
    assert runner.main(base) == 2  # every selected run needs the file
    assert "every selected run needs a weight file" in capsys.readouterr().err
