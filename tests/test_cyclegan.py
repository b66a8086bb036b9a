"""CycleGAN: parity with the reference networks, the image pool's rule and its checkpointed state, the objective's
terms and phase order, photo -> labels scoring, unpaired data and its bad inputs."""

import random

import numpy as np
import pytest
import torch
from PIL import Image

from metrics.fcn_score import FCNScore, NearestColour
from models.contract import DataFacts, Progress
from models.cyclegan import CycleGAN, CycleGANConfig, ImagePool, ResnetConfig, ResnetGenerator
from models.layers import count_parameters
from models.pix2pix import PatchDConfig, PatchDiscriminator
from studies import run as runner
from studies.datasets.synthetic import COLORS

FACTS = DataFacts(3, 3, 8, 32, "unpaired")
T = Progress(0, 0, 10)


@pytest.mark.parametrize("blocks,params", [(9, 11_378_179), (6, 7_837_699)])
def test_resnet_generator_parity(blocks, params):
    G = ResnetGenerator(3, 3, 64, blocks)
    assert count_parameters(G) == params
    norms = [m for m in G.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert norms and not any(m.affine for m in norms)  # instance norm without affine parameters, as the reference
    assert G(torch.randn(1, 3, 32, 32)).shape == (1, 3, 32, 32)


def test_patchgan_with_instance_norm_parity():
    assert count_parameters(PatchDiscriminator(3, 64, 3, "instance")) == 2_764_737


def test_image_pool_follows_the_reference_rule():
    pool = ImagePool(2)
    random.seed(0)
    x = torch.arange(4.0).view(4, 1, 1, 1)
    first = pool.query(x[:2])
    assert torch.equal(first, x[:2]) and len(pool.images) == 2  # filling: returned as they come
    out = pool.query(x[2:])
    stored = torch.cat(pool.images)
    for v in out.flatten().tolist():  # each is either the new fake or a stored one it replaced
        assert v in (0.0, 1.0, 2.0, 3.0)
    assert set(stored.flatten().tolist()) | set(out.flatten().tolist()) == {0.0, 1.0, 2.0, 3.0}
    saved = pool.state()
    again = ImagePool(2)
    again.load(saved, "cpu")
    assert torch.equal(torch.cat(again.images), stored) and torch.equal(ImagePool(0).query(x), x)
    assert not ImagePool(0).query(x.requires_grad_(True) * 2).requires_grad  # D never backprops into G


def _recipe(**kw):
    torch.manual_seed(0)
    cfg = CycleGANConfig(g=ResnetConfig(n_blocks=1, ngf=4), d=PatchDConfig(ndf=4, norm="instance"), **kw)
    return CycleGAN(cfg, FACTS)


def test_terms_switches_and_halved_d_loss():
    r = _recipe()
    batch = {k: torch.rand(2, 3, 32, 32) * 2 - 1 for k in "ab"}
    out = r.forward(batch, T)
    assert set(r.losses("g", batch, out, T)) == {"gan_a", "gan_b", "cycle_a", "cycle_b", "idt_a", "idt_b"}
    d = r.losses("d", batch, out, T)
    from models.losses import gan_loss

    assert d["b_real"].item() == pytest.approx(0.5 * gan_loss(r.nets["D_b"](batch["b"]), True, "lsgan").item())
    assert set(_recipe(lambda_identity=0.0, cycle_backward=False).losses("g", batch, out, T)) == {
        "gan_a", "gan_b", "cycle_a"}  # fmt: skip
    alone = _recipe(gan=False)
    assert set(alone.groups) == {"g"} and "D_a" not in alone.nets  # "Cycle alone" trains no D
    assert CycleGAN.defaults["train.phases"] == ("g", "d")  # the G step before the D step
    assert set(r.translate(batch, T)) == {"fake_b", "fake_a", "rec_a", "rec_b"}
    with pytest.raises(ValueError, match="need the same channels"):
        CycleGAN(CycleGANConfig(), DataFacts(1, 3, 0, 32, "unpaired"))


def test_photo_to_labels_by_nearest_colour():
    label = torch.randint(0, 8, (2, 16, 16))
    exact = torch.from_numpy(COLORS)[label].permute(0, 3, 1, 2).float() / 127.5 - 1
    acc = FCNScore(NearestColour(COLORS), 8, prefix="label")
    acc.update((exact + 0.05 * torch.randn(exact.shape)).clamp(-1, 1), label)  # close to each class colour
    out = acc.compute()
    assert out["label_pixel_acc"] == pytest.approx(1.0) and set(out) == {"label_pixel_acc", "label_class_acc",
                                                                        "label_class_iou"}  # fmt: skip


def _cyclegan_folder(root, grayscale_b=False):
    for split in ("train", "test"):
        for d, n in (("A", 4), ("B", 4)):
            (root / f"{split}{d}").mkdir(parents=True, exist_ok=True)
            for i in range(n):
                rgb = np.random.default_rng(i).integers(0, 256, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(rgb).save(root / f"{split}{d}" / f"{d.lower()}{i}.png")  # A, B stems differ: unpaired
    return root


def test_cyclegan_folder_bad_inputs_stop_before_training(tmp_path, capsys):
    root = _cyclegan_folder(tmp_path / "horse2zebra")
    args = ["cyclegan_loss", "--profile", "smoke", "--no-progress", "--out", str(tmp_path / "runs"), "--data",
            str(root), "--only", "CycleGAN-s0"]  # fmt: skip
    assert runner.main(args) == 2
    err = capsys.readouterr().err
    assert "compare each output with its own target" in err and "has no pairs" in err and "swd" in err
    assert runner.main([*args, "--set", "metrics=('swd', 'hist_intersection')"]) == 0  # unpaired metrics work
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(root / "trainB" / "b2.png")
    assert runner.main([*args, "--set", "metrics=('swd',)", "--restart"]) == 2
    assert "b2.png: 1 channel(s)" in capsys.readouterr().err
    for p in (root / "trainB").iterdir():
        p.unlink()
    assert runner.main([*args, "--set", "metrics=('swd',)"]) == 2
    assert "trainB folder holds no images" in capsys.readouterr().err
