"""pix2pix networks: parity with the reference, receptive fields (analytic and empirical), losses."""

import pytest
import torch

from models.contract import DataFacts, Progress
from models.layers import count_parameters, receptive_field
from models.losses import gan_loss
from models.pix2pix import (
    PatchDConfig,
    PatchDiscriminator,
    Pix2Pix,
    Pix2PixConfig,
    PixelDiscriminator,
    UNetConfig,
    UNetGenerator,
)


@pytest.mark.parametrize("num_downs,params", [(8, 54_413_955), (7, 41_828_995), (6, 29_244_035)])
def test_unet_parameter_parity(num_downs, params):
    assert count_parameters(UNetGenerator(3, 3, num_downs, 64)) == params


def test_unet_structure_matches_reference():
    G = UNetGenerator(3, 3, 8, 64)
    convs = [m for m in G.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.bias is None for c in convs)  # batch norm -> no conv biases, as the reference
    assert sum(isinstance(m, torch.nn.Dropout) for m in G.modules()) == 3  # num_downs - 5
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in G.modules()) == 2 * 8 - 3
    assert isinstance(list(G.modules())[-1], torch.nn.Tanh)


def test_encoder_decoder_and_kernels():
    x = torch.randn(2, 3, 64, 64)
    for G in (UNetGenerator(3, 3, 6, 8, skips=False), UNetGenerator(3, 3, 6, 8, kernel=3),
              UNetGenerator(3, 3, 6, 8, kernel=5), UNetGenerator(3, 3, 6, 8, norm="instance")):  # fmt: skip
        y = G(x)
        assert y.shape == x.shape and y.abs().max() <= 1
    assert count_parameters(UNetGenerator(3, 3, 6, 8, skips=False)) < count_parameters(UNetGenerator(3, 3, 6, 8))
    with pytest.raises(ValueError, match="divisible by 2\\^num_downs"):
        UNetGenerator(3, 3, 6, 8)(torch.randn(1, 3, 48, 48))


def test_discriminator_parity_and_receptive_fields():
    assert count_parameters(PatchDiscriminator(6, 64, 3)) == 2_768_705
    assert [receptive_field(PatchDiscriminator(6, 8, n)) for n in range(1, 6)] == [16, 34, 70, 142, 286]
    assert receptive_field(PixelDiscriminator(6, 8)) == 1


@pytest.mark.parametrize("n_layers", [0, 1, 2, 3])
def test_receptive_field_empirically(n_layers):
    D = PixelDiscriminator(3, 4, norm="none") if n_layers == 0 else PatchDiscriminator(3, 4, n_layers, norm="none")
    torch.nn.init.constant_(D.model[0].weight, 0.1)
    for m in D.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.constant_(m.weight, 0.05)
    x = torch.randn(1, 3, 160, 160, requires_grad=True)
    out = D(x)
    c = out.shape[-1] // 2
    out[0, 0, c, c].backward()
    rows = torch.nonzero(x.grad.abs().sum((0, 1)).sum(1)).flatten()
    assert int(rows.max() - rows.min() + 1) == receptive_field(D)


@pytest.mark.parametrize("kind", ["vanilla", "lsgan", "hinge", "wgan"])
def test_gan_losses(kind):
    logits = torch.tensor([[2.0, -1.0]])
    real, fake = gan_loss(logits, True, kind), gan_loss(logits, False, kind)
    assert torch.isfinite(real) and torch.isfinite(fake)
    big = gan_loss(torch.full((1, 2), 1.0 if kind == "lsgan" else 5.0), True, kind)
    assert big <= real  # confident "real" logits lower the real loss
    if kind == "vanilla":
        assert real.item() == pytest.approx(torch.nn.functional.softplus(-logits).mean().item())
    with pytest.raises(ValueError, match="GAN loss kind"):
        gan_loss(logits, True, "wasserstein")


FACTS = DataFacts(channels_a=3, channels_b=3, n_classes=8, size=32, view="paired")
T0 = Progress(0, 0, 100)


@pytest.mark.parametrize("loss", ["l1", "gan", "cgan", "l1+gan", "l1+cgan"])
def test_recipe_terms_and_d_input(loss):
    cfg = Pix2PixConfig(g=UNetConfig(num_downs=5, ngf=4), loss=loss)
    r = Pix2Pix(cfg, FACTS)
    batch = {"a": torch.randn(2, 3, 32, 32), "b": torch.randn(2, 3, 32, 32).clamp(-1, 1)}
    out = r.forward(batch, T0)
    expected_g = ({"gan"} if "gan" in loss else set()) | ({"l1"} if "l1" in loss else set())
    assert set(r.losses("g", batch, out, T0)) == expected_g
    assert set(r.groups) == ({"g"} if loss == "l1" else {"g", "d"})
    if loss != "l1":
        assert set(r.losses("d", batch, out, T0)) == {"real", "fake"}
        assert r.nets["D"].model[0].in_channels == (6 if loss.endswith("cgan") else 3)
        assert r.describe(T0)["D_receptive_field"] == 70


def test_d_judges_the_fake_pair_first_as_the_reference():
    r = Pix2Pix(Pix2PixConfig(g=UNetConfig(num_downs=5, ngf=4), d=PatchDConfig(ndf=4)), FACTS)
    batch = {"a": torch.randn(2, 3, 32, 32), "b": torch.randn(2, 3, 32, 32).clamp(-1, 1)}
    seen = []
    r.nets["D"].register_forward_hook(lambda m, i, o: seen.append(i[0][:, 3:].clone()))
    out = r.forward(batch, T0)
    assert list(r.losses("d", batch, out, T0)) == ["fake", "real"]  # the order sets D's running statistics
    assert torch.equal(seen[0], out["fake_b"].detach()) and torch.equal(seen[1], batch["b"])


def test_channels_come_from_the_data():
    r = Pix2Pix(Pix2PixConfig(g=UNetConfig(num_downs=5, ngf=4)), DataFacts(1, 3, 0, 32, "paired"))
    assert r.nets["G"].model.model[0].in_channels == 1 and r.nets["D"].model[0].in_channels == 4
    assert r.translate({"a": torch.randn(2, 1, 32, 32)}, T0)["fake_b"].shape == (2, 3, 32, 32)


def test_eval_mode_switch_and_buffers_restored():
    r = Pix2Pix(Pix2PixConfig(g=UNetConfig(num_downs=6, ngf=4)), FACTS)  # one dropout block
    batch = {"a": torch.randn(4, 3, 64, 64)}
    before = [b.clone() for b in r.nets["G"].buffers()]
    torch.manual_seed(0)
    a = r.translate(batch, T0)["fake_b"]
    torch.manual_seed(1)
    b = r.translate(batch, T0)["fake_b"]
    assert not torch.equal(a, b)  # paper default: dropout at test time -> stochastic
    assert all(torch.equal(x, y) for x, y in zip(before, r.nets["G"].buffers()))
    r_eval = Pix2Pix(Pix2PixConfig(g=UNetConfig(num_downs=6, ngf=4), eval_mode=True), FACTS)
    fake = r_eval.translate(batch, T0)["fake_b"]
    assert torch.equal(r_eval.translate(batch, T0)["fake_b"], fake)  # running stats, no dropout
    assert torch.equal(r_eval.translate({"a": batch["a"][:1]}, T0)["fake_b"], fake[:1])  # batch-independent


# --- Hu, Wang and Wang's variants ---------------------------------------------------------------


def test_hierarchical_unet_adds_a_local_residual_to_the_upsampled_global_output():
    from models.pix2pix import HierarchicalUNet

    G = HierarchicalUNet(3, 3, num_downs=6, ngf=4).eval()  # no dropout: two passes agree
    assert G.global_net.num_downs == 5 and G.local_net.num_downs == 6
    assert G.local_net.model.model[0].in_channels == 3 + 3  # the input and the upsampled global output
    x = torch.randn(2, 3, 64, 64)
    seen = []
    G.global_net.register_forward_hook(lambda m, i, o: seen.append((i[0].shape, o)))
    y = G(x)
    assert y.shape == x.shape and seen[0][0] == (2, 3, 32, 32)  # the global net sees the half-size input
    coarse = torch.nn.functional.interpolate(seen[0][1], scale_factor=2, mode="bilinear", align_corners=False)
    assert torch.allclose(y - coarse, G.local_net(torch.cat([x, coarse], 1)), atol=1e-6)
    with pytest.raises(ValueError, match="num_downs must be >= 6"):
        HierarchicalUNet(3, 3, num_downs=5)


def test_kernel_2_unet_and_the_stride_16_discriminator():
    from models.pix2pix import Stride16Discriminator

    G = UNetGenerator(3, 3, 6, 4, kernel=2)
    assert G(torch.randn(1, 3, 64, 64)).shape == (1, 3, 64, 64)
    convs = [m for m in G.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)]
    assert all(m.kernel_size == (2, 2) for m in convs)
    D = Stride16Discriminator(6, ndf=4)
    assert D(torch.randn(1, 6, 256, 256)).shape == (1, 1, 16, 16)  # the report's 16 x 16 map at 256 px
    assert D(torch.randn(1, 6, 64, 64)).shape == (1, 1, 4, 4)
    assert receptive_field(D) == 78
    r = Pix2Pix(Pix2PixConfig(g=UNetConfig(num_downs=6, ngf=4, hierarchical=True), d=PatchDConfig(kind="stride16",
                                                                                                  ndf=4)),
                DataFacts(3, 3, 8, 64, "paired"))  # fmt: skip
    assert type(r.nets["G"]).__name__ == "HierarchicalUNet" and isinstance(r.nets["D"], Stride16Discriminator)
