"""SPADE: parity with NVlabs/SPADE (parameter counts at the Cityscapes configuration, where spectral and instance
norm sit), the SPADE normalisation, losses and their weights, the step order, TTUR, and VAE sampling."""

import pytest
import torch
import torch.nn.functional as F

from metrics.ssim import latent_ms_ssim, ms_ssim
from models import RECIPES
from models.contract import DataFacts, Progress
from models.layers import count_parameters
from models.losses import gan_loss
from models.pix2pixhd import MultiscaleDiscriminator
from models.spade import (
    SPADE,
    ConvEncoder,
    EncoderConfig,
    Spade,
    SPADEConfig,
    SPADEDConfig,
    SPADEGConfig,
    SPADEGenerator,
    SpadeNLayerDiscriminator,
    SPADEResnetBlock,
    _sn,
    kld,
)
from models.train import Engine

CITYSCAPES = {"label_nc": 35 + 1, "size": (256, 512)}  # 35 label ids + the instance edge, 512 x 256


@pytest.mark.parametrize(
    "use_vae,mode,params",
    [(False, "normal", 93_048_003), (False, "more", 93_048_003), (True, "more", 101_136_579),
     (True, "normal", 126_400_707)],
)  # fmt: skip
def test_generator_parameter_parity(use_vae, mode, params):
    G = SPADEGenerator(CITYSCAPES["label_nc"], 3, CITYSCAPES["size"], 64, mode, use_vae)
    assert count_parameters(G) == params


def test_encoder_and_discriminator_parameter_parity():
    assert count_parameters(ConvEncoder(3, 64, 256, 256)) == 10_463_424
    assert count_parameters(MultiscaleDiscriminator(36 + 3, 64, 4, 2, SpadeNLayerDiscriminator)) == 5_601_410


def test_spectral_and_instance_norm_sit_where_the_reference_puts_them():
    D = SpadeNLayerDiscriminator(6, 8, 4)
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [hasattr(c, "weight_orig") for c in convs] == [False, True, True, True, False]  # spectral norm
    assert [c.bias is None for c in convs] == [False, True, True, True, False]  # IN after: no bias
    assert sum(isinstance(m, torch.nn.InstanceNorm2d) for m in D.modules()) == 3
    block = SPADEResnetBlock(16, 8, label_nc=5, nhidden=4)
    assert block.learned_shortcut and all(hasattr(getattr(block, n), "weight_orig") for n in ("conv_0", "conv_1",
                                                                                              "conv_s"))  # fmt: skip
    assert not SPADEResnetBlock(8, 8, label_nc=5, nhidden=4).learned_shortcut
    E = ConvEncoder(3, 4, 16, 8)
    assert len(E.layers) == 2 and E(torch.randn(2, 3, 40, 40))[0].shape == (2, 8)  # resized to 16: 16->8->4


def test_spade_normalises_without_parameters_then_modulates_by_the_label_map():
    norm = SPADE(4, 3, nhidden=8)
    assert count_parameters(norm.param_free_norm) == 0
    x, seg = torch.randn(2, 4, 8, 8), torch.rand(2, 3, 2, 2)
    for conv in (norm.mlp_gamma, norm.mlp_beta):
        torch.nn.init.zeros_(conv.weight)
        torch.nn.init.zeros_(conv.bias)
    assert torch.allclose(norm(x, seg), F.batch_norm(x, None, None, training=True), atol=1e-5)
    torch.nn.init.constant_(norm.mlp_beta.bias, 0.5)
    assert torch.allclose(norm(x, seg), F.batch_norm(x, None, None, training=True) + 0.5, atol=1e-5)


def test_generator_starts_from_the_downsampled_map_and_sizes_check():
    G = SPADEGenerator(5, 3, (64, 128), 2, "normal", nhidden=4)
    assert (G.sh, G.sw) == (2, 4)
    assert G(torch.rand(1, 5, 64, 128)).shape == (1, 3, 64, 128)
    assert SPADEGenerator(5, 3, (128, 128), 2, "most", nhidden=4)(torch.rand(2, 5, 128, 128)).shape == (2, 3, 128, 128)
    with pytest.raises(ValueError, match="divisible by 2\\^6 = 64"):
        SPADEGenerator(5, 3, (32, 32), 2, "more")


FACTS = DataFacts(channels_a=3, channels_b=3, n_classes=4, size=32, view="paired", instances=True)


def _recipe(**kw) -> Spade:
    cfg = SPADEConfig(g=SPADEGConfig(ngf=2, nhidden=4), e=EncoderConfig(size=32, z_dim=8), d=SPADEDConfig(ndf=4),
                      lambda_vgg=0.0, **kw)  # fmt: skip
    return Spade(cfg, FACTS)


def _batch(n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"a": torch.rand(n, 3, 32, 32, generator=g) * 2 - 1, "b": torch.rand(n, 3, 32, 32, generator=g) * 2 - 1,
            "label": torch.randint(0, 4, (n, 32, 32), generator=g),
            "instance": torch.randint(0, 2, (n, 32, 32), generator=g)}  # fmt: skip


def test_losses_hinge_averaged_over_scales_feature_matching_over_num_d_and_kl_summed():
    r, batch, t = _recipe(use_vae=True), _batch(), Progress(0, 0, 10)
    torch.manual_seed(0)
    out = r.forward(batch, t)
    r.nets["D"].eval()  # no power iteration between the recipe's D pass and ours (instance norm: no statistics)
    g = r.losses("g", batch, out, t)
    pairs = [torch.cat([out["input"], out["fake_b"]], 1), torch.cat([out["input"], batch["b"]], 1)]
    preds = r.nets["D"](torch.cat(pairs))
    fake, real = [[p[:2] for p in s] for s in preds], [[p[2:] for p in s] for s in preds]
    assert torch.allclose(g["gan"], sum(-s[-1].mean() for s in fake) / 2)
    feat = sum(10.0 / 2 * F.l1_loss(f, r_) for fs, rs in zip(fake, real) for f, r_ in zip(fs[:-1], rs[:-1]))
    assert torch.allclose(g["feat"], feat)
    mu, logvar = out["mu"], out["logvar"]
    assert torch.allclose(g["kld"], 0.05 * -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum())
    assert torch.allclose(kld(torch.zeros(3, 4), torch.zeros(3, 4)), torch.tensor(0.0))
    d = r.losses("d", batch, out, t)
    assert set(d) == {"fake", "real"} and d["real"] >= 0 and d["fake"] >= 0
    assert torch.allclose(gan_loss(torch.tensor([0.5, 2.0]), True, "hinge"), torch.tensor(0.25))


def test_spectral_norm_iterates_as_the_reference_v_then_u():
    conv = _sn(torch.nn.Conv2d(3, 5, 3))  # as torch.nn.utils.spectral_norm, which SPADE's normalization.py applies
    u0, w = conv.weight_u.clone(), conv.weight_orig.detach().flatten(1)
    conv(torch.randn(1, 3, 8, 8))  # training mode: one power iteration
    v = F.normalize(w.t() @ u0, dim=0)
    u = F.normalize(w @ v, dim=0)
    assert torch.allclose(conv.weight_v, v) and torch.allclose(conv.weight_u, u)
    assert torch.allclose(conv.weight, w.view_as(conv.weight) / torch.dot(u, w @ v))


@pytest.mark.parametrize("cin,cout,k,stride,bias,px", [(3, 5, 3, 1, True, 8), (64, 64, 3, 1, True, 2),
                                                       (32, 64, 4, 2, False, 4), (16, 8, 1, 1, False, 16)])  # fmt: skip
def test_spectral_norm_computes_torchs_hook_in_float64(cin, cout, k, stride, bias, px):
    """Against torch.nn.utils.spectral_norm itself, on both of SNConv2d's branches (the weight divided by sigma where
    the output is larger, the output divided where the weight is: the 2 px and 4 px cases): the same draws, state
    keys, u and v bit for bit, outputs and gradients to float64 rounding, through two forwards then one backward
    (D(real) and D(fake) in one loss), then in eval mode."""
    torch.manual_seed(1)
    ref = torch.nn.utils.spectral_norm(torch.nn.Conv2d(cin, cout, k, stride, 1, bias=bias)).double()
    torch.manual_seed(1)
    ours = _sn(torch.nn.Conv2d(cin, cout, k, stride, 1, bias=bias)).double()
    assert ours.state_dict().keys() == ref.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(ours.state_dict().values(), ref.state_dict().values()))
    x1, x2 = torch.randn(2, 2, cin, px, px, dtype=torch.float64)
    for net in (ref, ours):
        (net(x1).square().sum() + net(x2).mean()).backward()
    assert torch.equal(ours.weight_u, ref.weight_u) and torch.equal(ours.weight_v, ref.weight_v)

    def close(a, b):  # relative to the largest entry: float64 rounding is ~1e-15 of it
        return (a - b).abs().max() <= 1e-12 * b.abs().max() and b.abs().max() > 0

    assert all(close(a.grad, b.grad) for a, b in zip(ours.parameters(), ref.parameters(), strict=True))
    ours.eval(), ref.eval()
    assert close(ours(x1), ref(x1)) and close(ours.weight, ref.weight)
    with pytest.raises(TypeError, match="nn.Conv2d"):
        _sn(torch.nn.Linear(3, 3))


def test_spectral_norm_state_survives_a_checkpoint_and_eval_is_deterministic():
    a, b, batch = _recipe(), _recipe(), _batch()
    a.forward(batch, Progress(0, 0, 1))  # moves u, v
    for name in a.nets:
        b.nets[name].load_state_dict(a.nets[name].state_dict())
    ya, yb = (r.translate(batch, Progress(0, 0, 1))["fake_b"] for r in (a, b))
    assert torch.equal(ya, yb)


def test_ttur_and_step_order_as_the_code():
    cls = RECIPES["spade"]
    assert cls.defaults["train.phases"] == ("g", "d")
    assert cls.defaults["train.opt.g.schedule"] == cls.defaults["train.opt.d.schedule"] == "constant"  # --niter_decay 0
    assert cls.defaults["train.opt.g.lr"] == 1e-4 and cls.defaults["train.opt.d.lr"] == 4e-4
    assert cls.defaults["train.opt.g.betas"] == cls.defaults["train.opt.d.betas"] == (0.0, 0.9)


def test_the_d_step_judges_a_fresh_fake_from_the_updated_generator():
    from studies.spec import RunSpec, override

    spec = RunSpec(recipe="spade")
    for k, v in {**Spade.defaults, **Spade.smoke, "train.device": "cpu"}.items():
        spec = override(spec, k, v)
    r = _recipe()
    eng = Engine.build(r, spec.train)
    calls = []
    r.nets["G"].register_forward_hook(lambda m, i, o: calls.append(o.detach().clone()))
    eng.step(r, lambda bs: _batch(), Progress(0, 0, 10))
    assert len(calls) == 2 and not torch.equal(calls[0], calls[1])  # G forward, G step, then a new fake for D


def test_vae_outputs_differ_across_latents_and_follow_a_reference_style():
    r, batch = _recipe(use_vae=True, n_latents=3), _batch(2)
    for m in r.nets["G"].modules():  # a larger init than SPADE's 0.02, so an untrained G shows what z does
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.normal_(m.weight, 0, 1.0)
    torch.manual_seed(0)
    out = r.translate(batch, Progress(0, 0, 1))
    assert out["fake_b"].shape == (2, 3, 32, 32) and out["fake_b_latents"].shape == (2, 3, 3, 32, 32)
    lat = out["fake_b_latents"]
    assert not torch.allclose(lat[:, 0], lat[:, 1])
    div = latent_ms_ssim(lat)
    assert div.shape == (2,) and (div < 1).all()
    pairs = [ms_ssim(lat[:, i], lat[:, j]) for i, j in ((0, 1), (0, 2), (1, 2))]
    assert torch.allclose(div, torch.stack(pairs, 1).mean(1).double(), atol=1e-6)
    s1, s2 = _batch(2, seed=1)["b"], _batch(2, seed=2)["b"]
    t = Progress(0, 0, 1)
    a, b = r.translate(batch, t, style=s1)["fake_b"], r.translate(batch, t, style=s1)["fake_b"]
    assert torch.equal(a, b)  # the style's mean code: deterministic
    assert not torch.allclose(a, r.translate(batch, Progress(0, 0, 1), style=s2)["fake_b"])
    assert "fake_b_latents" not in _recipe().translate(batch, Progress(0, 0, 1))  # not multimodal


def test_latent_ms_ssim_is_one_for_identical_outputs_and_checks_its_shape():
    x = torch.rand(2, 1, 3, 32, 32) * 2 - 1
    assert torch.allclose(latent_ms_ssim(x.expand(2, 3, 3, 32, 32)), torch.ones(2, dtype=torch.double))
    with pytest.raises(ValueError, match="expected \\(N, K >= 2, C, H, W\\)"):
        latent_ms_ssim(x)
