"""Small GANs: DCGAN parity with the PyTorch examples, the gaussian_surfaces data, the surface metrics (the data
scores best, a one-alpha generator covers one mode), the training tricks of every recipe, the stability numbers."""

import csv

import pytest
import torch

from metrics.surfaces import SCALE, EnergyDistance, SurfaceFit, fit_alpha, grid_xy, surface_z
from models.contract import DataFacts, Progress
from models.layers import count_parameters
from models.losses import gan_loss, real_label_smoothing
from models.runlog import RunLog
from models.toy import DCGANDiscriminator, DCGANGenerator, FCDiscriminator, FCGenerator, ToyConfig, ToyGAN
from models.train import Engine, TrainConfig, TricksConfig, expand_phases
from studies.datasets import DataConfig, DatasetError, SurfaceConfig, make_dataset


def _data(fmt="clouds", split="test", n=16, **kw):
    cfg = DataConfig(name="gaussian_surfaces", n_train=n, n_val=4, n_test=n, surfaces=SurfaceConfig(format=fmt, **kw))
    return make_dataset(cfg, split, view="unconditional")


def test_dcgan_matches_the_pytorch_examples():
    G, D = DCGANGenerator(100, 64, 3, 64), DCGANDiscriminator(64, 3, 64)
    assert count_parameters(G) == 3_576_704 and count_parameters(D) == 2_765_568
    z = torch.randn(2, 100)
    assert G(z).shape == (2, 3, 64, 64) and D(G(z)).shape == (2, 1)
    assert DCGANGenerator(16, 8, 3, 16)(torch.randn(2, 16)).shape == (2, 3, 16, 16)
    with pytest.raises(ValueError, match="power-of-two"):
        DCGANGenerator(16, 8, 3, 24)


def test_fc_gan_layers():
    G, D = FCGenerator(16, (49, 3)), FCDiscriminator((49, 3))
    widths = [m.out_features for m in G.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [128, 128, 147] and [m.out_features for m in D.modules() if isinstance(m, torch.nn.Linear)] == [
        256, 256, 1]  # fmt: skip
    assert G(torch.randn(5, 16)).shape == (5, 49, 3) and G(torch.randn(5, 16)).abs().max() < 1


def test_surfaces_in_three_formats():
    clouds, grids, points = _data("clouds", grid=9), _data("grids", grid=8), _data("points", alpha=3)
    c, g, p = clouds[3], grids[3], points[3]
    assert c["b"].shape == (81, 3) and g["b"].shape == (3, 8, 8) and p["b"].shape == (3,)
    assert torch.equal(clouds[3]["b"], _data("clouds", grid=9)[3]["b"])  # deterministic
    assert all(x["b"].abs().max() <= SCALE + 1e-6 for x in (c, g, p))
    assert {int(clouds[i]["alpha"]) for i in range(16)} == {1, 2, 3, 4}
    assert p["b"][2] == pytest.approx(float(surface_z(p["b"][0].double(), p["b"][1].double(), 3)), abs=1e-6)
    assert grids.facts().modality == "surface" and grids.facts().shape == (3, 8, 8)
    with pytest.raises(DatasetError, match="natural numbers"):
        _data("clouds", alphas=(0, 1))
    with pytest.raises(DatasetError, match="unconditional view only"):
        make_dataset(DataConfig(name="gaussian_surfaces"), "train", view="paired")


def _stack(ds, n=16):
    items = [ds[i] for i in range(n)]
    return torch.stack([i["b"] for i in items]), torch.stack([i["alpha"] for i in items])


def test_the_data_itself_scores_best():
    real, alpha = _stack(_data("clouds", grid=7))
    a, res = fit_alpha(real.double())
    assert torch.allclose(a, alpha.double()) and res.max() < 1e-6  # the items are stored as float32
    fit, energy = SurfaceFit(), EnergyDistance()
    fit.update(real, alpha)
    energy.update(real, real)
    assert fit.compute() == {"alpha_residual": pytest.approx(0, abs=1e-6), "alpha_coverage": 1.0, "converged": 1.0}
    assert energy.compute()["energy_distance"] == pytest.approx(0, abs=1e-6)


def test_one_alpha_generator_covers_one_mode_and_noise_is_no_surface():
    real, alpha = _stack(_data("grids", grid=8))
    x, y = grid_xy(8)
    one = torch.stack([x, y, surface_z(x, y, 2)]).float().expand(16, 3, 8, 8)  # always alpha = 2
    fit = SurfaceFit()
    fit.update(one, alpha)
    out = fit.compute()
    assert out["alpha_coverage"] == 0.25 and out["converged"] == 0.0 and out["alpha_residual"] < 1e-6
    collapsed = torch.zeros(16, 3, 8, 8)  # every point at the origin: far from every surface
    fit = SurfaceFit()
    fit.update(collapsed, alpha)
    assert fit.compute()["alpha_residual"] > 0.3 and fit.compute()["alpha_coverage"] == 0.0
    energy, worse = EnergyDistance(), EnergyDistance()
    energy.update(real, one)
    worse.update(real, torch.rand(16, 3, 8, 8) * 1.8 - 0.9)
    assert 0 < energy.compute()["energy_distance"] < worse.compute()["energy_distance"]


def test_points_format_fits_one_alpha_to_the_set():
    real, alpha = _stack(_data("points", alpha=3), 16)
    fit = SurfaceFit()
    fit.update(real, alpha)
    assert fit.compute()["alpha_coverage"] == 1.0


def test_tricks_are_loop_switches_for_every_recipe():
    cfg = TrainConfig(phases=("d", "g"), tricks=TricksConfig(d_steps=3))
    assert expand_phases(cfg) == ("d", "d", "d", "g")
    logits = torch.zeros(4, 1)
    with real_label_smoothing(0.1):
        smoothed = gan_loss(logits + 3, True)
        assert gan_loss(logits, True, for_d=False) == gan_loss(logits, True)  # only D's real target changes...
    assert smoothed > gan_loss(logits + 3, True)  # ... to 0.9: confident reals now cost something
    facts = DataFacts(0, 3, 0, 7, "unconditional", shape=(49, 3), modality="surface")
    recipe = ToyGAN(ToyConfig(hidden_g=8, hidden_d=8), facts)
    eng = Engine.build(recipe, TrainConfig(device="cpu", tricks=TricksConfig(instance_noise=0.5, d_lr_mult=4.0)))
    assert eng.lr("d", Progress(0, 0, 10)) == 4 * eng.lr("g", Progress(0, 0, 10))
    seen = []
    recipe.nets["D"].register_forward_hook(lambda m, args, out: seen.append(args[0].clone()))
    x = torch.zeros(2, 49, 3)
    eng.noise[0] = 0.5
    recipe.nets["D"](x)
    recipe.nets["D"].eval()
    recipe.nets["D"](x)
    assert seen[0].abs().max() > 0 and torch.equal(seen[1], x)  # noise in training only


def test_stability_counts_spikes(tmp_path):
    path = tmp_path / "losses.csv"
    norms = [1.0] * 30 + [50.0] + [1.0] * 9
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "images", "d/grad_norm", "g/grad_norm"])
        w.writerows([i, i, n, 2.0] for i, n in enumerate(norms))
    out = RunLog(tmp_path).stability()
    assert out["d_grad_spikes"] == 1 and out["g_grad_spikes"] == 0 and out["g_grad_logstd"] == 0


def test_toy_study_end_to_end(tmp_path, capsys):
    from studies import run as runner

    args = ["toy_tricks", "--profile", "smoke", "--no-progress", "--out", str(tmp_path), "--seeds", "0",
            "--only", "FC-GAN-s0", "--only", "DCGAN + all four-s0"]  # fmt: skip
    assert runner.main(args) == 0
    printed = capsys.readouterr().out
    assert "alpha_coverage" in printed and "d_grad_spikes" in printed and "Published claims" in printed
    run = tmp_path / "toy_tricks" / "DCGAN + all four-s0"
    assert (run / "samples" / "step_000002.png").stat().st_size > 1000  # the 3-D surface plots
    config = __import__("json").loads((run / "config.json").read_text())
    assert config["train"]["tricks"]["d_steps"] == 2 and config["model"]["arch"] == "dcgan"
