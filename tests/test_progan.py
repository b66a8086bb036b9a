"""Progressive GAN: parity with the official networks, the fade-in (alpha 0 = the upsampled lower level), the growth
schedule and per-level minibatch, the layers (minibatch stddev, pixel norm, equalised lr), a resume inside a
fade-in, and bad data."""

import math

import pytest
import torch
import torch.nn.functional as F

from models.contract import DataFacts, Progress
from models.layers import count_parameters
from models.progan import Discriminator, EqConv, Generator, ProGAN, ProGANConfig, minibatch_stddev, pixel_norm, schedule

SMALL = ProGANConfig(latent=16, fmap_base=64, fmap_max=16, stabilize_images=10, transition_images=10,
                     minibatch=((4, 8), (8, 4), (16, 2), (32, 2)))  # fmt: skip


@pytest.mark.parametrize("res,g,d", [(128, 22_933_394, 22_941_313), (32, 20_719_628, 20_726_785)])
def test_parity_with_the_official_networks(res, g, d):
    cfg = ProGANConfig()
    assert count_parameters(Generator(cfg, 3, res)) == g and count_parameters(Discriminator(cfg, 3, res)) == d


def test_fade_in_starts_at_the_upsampled_lower_level():
    torch.manual_seed(0)
    G, D = Generator(SMALL, 3, 32), Discriminator(SMALL, 3, 32)
    z = torch.randn(4, 16)
    low = G(z, 1)  # 8 px, fully faded in
    assert torch.allclose(G(z, 2, alpha=0.0), F.interpolate(low, scale_factor=2, mode="nearest"), atol=1e-6)
    assert G(z, 2, alpha=1.0).shape == (4, 3, 16, 16) and not torch.allclose(G(z, 2, 0.5), G(z, 2, 1.0))
    img = torch.randn(4, 3, 16, 16)
    assert torch.allclose(D(img, 2, alpha=0.0), D(F.avg_pool2d(img, 2), 1), atol=1e-5)  # D's lower path alone


def test_schedule_minibatch_and_phase_names():
    assert [schedule(SMALL, i, 4) for i in (0, 9, 10, 15, 20, 30, 35, 60, 10**6)] == [
        (0, 1.0), (0, 1.0), (1, 0.0), (1, 0.5), (1, 1.0), (2, 0.0), (2, 0.5), (3, 1.0), (3, 1.0)]  # fmt: skip
    assert schedule(ProGANConfig(growing=False), 0, 6) == (5, 1.0)
    r = ProGAN(SMALL, DataFacts(0, 3, 0, 32, "unconditional", shape=(3, 32, 32)))
    assert [r.batch_size(Progress(0, i, 100)) for i in (0, 15, 45)] == [8, 4, 2]
    assert r.phase(Progress(0, 15, 100)) == "8px-fade" and r.describe(Progress(0, 20, 100)) == {
        "resolution": 8, "fade_alpha": 1.0}  # fmt: skip
    out = r.translate({"b": torch.rand(2, 3, 32, 32) * 2 - 1}, Progress(0, 0, 100))
    assert out["fake_b"].shape == out["b"].shape == (2, 3, 16, 16)  # 4 px, shown at 16 px for SWD and MS-SSIM


def test_layers():
    x = torch.randn(8, 5, 4, 4) * 3
    assert torch.allclose(pixel_norm(x).pow(2).mean(1), torch.ones(8, 4, 4), atol=1e-4)
    y = minibatch_stddev(x)
    assert y.shape == (8, 6, 4, 4) and torch.equal(y[:, :5], x) and minibatch_stddev(x[:6]).shape == (6, 6, 4, 4)
    eq, he = EqConv(64, 8, 3), EqConv(64, 8, 3, equalized=False)
    assert eq.weight.std().item() == pytest.approx(1.0, rel=0.1) and eq.scale == pytest.approx(math.sqrt(2 / 576))
    assert he.scale == 1.0 and he.weight.std().item() == pytest.approx(math.sqrt(2 / 576), rel=0.1)
    no_mbstd = Discriminator(ProGANConfig(latent=16, fmap_base=64, fmap_max=16, mbstd=False), 3, 16)
    assert no_mbstd.head[0].weight.shape[1] == 16


def test_losses_are_wgan_gp_with_drift():
    torch.manual_seed(0)
    r = ProGAN(SMALL, DataFacts(0, 3, 0, 32, "unconditional", shape=(3, 32, 32)))
    batch = {"b": torch.rand(4, 3, 32, 32) * 2 - 1}
    t = Progress(0, 15, 100)
    out = r.forward(batch, t)
    assert out["fake_b"].shape == out["real"].shape == (4, 3, 8, 8)
    assert set(r.losses("d", batch, out, t)) == {"wgan", "gp", "drift"} and set(r.losses("g", batch, out, t)) == {
        "wgan"}  # fmt: skip
    assert ProGAN.defaults["train.opt.d.betas"] == (0.0, 0.99) and ProGAN.defaults["train.ema.decay"] == 0.999


def test_bad_sizes():
    with pytest.raises(ValueError, match="power-of-two size"):
        ProGAN(SMALL, DataFacts(0, 3, 0, 48, "unconditional", shape=(3, 48, 48)))
    with pytest.raises(ValueError, match="square images"):
        ProGAN(SMALL, DataFacts(0, 3, 0, 32, "unconditional", shape=(3, 32, 64)))


def test_data_too_small_or_not_square_is_refused(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    from studies import run as runner

    for split in ("train", "test"):
        (tmp_path / "photos" / split).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(np.zeros((16, 32, 3), np.uint8)).save(tmp_path / "photos" / split / f"{i}.png")
    args = ["progan_tricks", "--profile", "smoke", "--no-progress", "--out", str(tmp_path / "runs"), "--data",
            str(tmp_path / "photos")]  # fmt: skip
    assert runner.main(args) == 2  # A|B halves of 16 x 16 px, smaller than the 32 px target
    assert "the data's images are 16x16 px: Progressive GAN needs square images of at least 32 px" in (
        capsys.readouterr().err)  # fmt: skip
    assert runner.main([*args, "--set", "data.size=24"]) == 2
    assert "power-of-two size" in capsys.readouterr().err


def test_study_end_to_end_with_curves_and_phase_samples(tmp_path):
    from dashboard import data
    from studies import run as runner

    args = ["progan_tricks", "--profile", "smoke", "--no-progress", "--out", str(tmp_path), "--only",
            "(g) + pixelnorm (full)-s0"]  # fmt: skip
    assert runner.main(args) == 0
    run = tmp_path / "progan_tricks" / "(g) + pixelnorm (full)-s0"
    names = sorted(p.name for p in (run / "samples").glob("step_*_*px*.png"))  # a grid at each phase end
    assert [n.split("_", 2)[2] for n in names] == ["4px.png", "8px-fade.png", "8px.png", "16px-fade.png",
                                                   "16px.png", "32px-fade.png"]  # fmt: skip
    curves, _ = data.curves(tmp_path, "progan_tricks", [run.name])
    assert data.phase_marks(curves).label.tolist() == ["4 px", "8 px", "16 px", "32 px"]
    evals = data.metric_curves(tmp_path, "progan_tricks", [run.name])
    assert set(evals.series) >= {"swd_avg", "ms_ssim_diversity"} and evals.step.nunique() == 2  # 32 and 64 images


def test_gradient_penalty_is_zero_for_a_unit_norm_critic_and_grows_with_its_norm():
    from models.losses import gradient_penalty

    w = torch.randn(3, 4, 4)
    w /= w.norm()
    real, fake = torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4).bfloat16()  # a fast-path fake is mixed in float32
    assert gradient_penalty(lambda x: (x * w).flatten(1).sum(1), real, fake).item() == pytest.approx(0.0, abs=1e-10)
    assert gradient_penalty(lambda x: (x * 3 * w).flatten(1).sum(1), real, fake).item() == pytest.approx(4.0)
