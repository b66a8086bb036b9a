"""The training loop: one step per loss variant, D frozen during the G step, exact resume, failures."""

import csv

import pytest
import torch

from models.pix2pix import Pix2Pix, Pix2PixConfig, UNetConfig
from models.train import NonFiniteLoss, TrainConfig, batches, train
from studies.data import DataConfig, make_dataset

DATA = DataConfig(size=32, n_train=8, n_val=2, n_test=4)


def _recipe(loss="l1+cgan"):
    torch.manual_seed(0)
    return Pix2Pix(Pix2PixConfig(g=UNetConfig(num_downs=5, ngf=4), loss=loss, d=Pix2PixConfig().d.__class__(ndf=4)))


def _cfg(**kw):
    return TrainConfig(**({"steps": 2, "batch_size": 2, "log_every": 1, "ckpt_every": 0, "device": "cpu"} | kw))


@pytest.mark.parametrize("loss", ["l1", "gan", "cgan", "l1+gan", "l1+cgan"])
def test_one_step_per_loss(loss, tmp_path, monkeypatch):
    r = _recipe(loss)
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in r.nets.items()}
    d_during_g = []
    original = r.g_losses

    def spy(batch, out):  # D parameters must not change in (or be trainable during) the G step
        if "D" in r.nets:
            d_during_g.append([p.detach().clone() for p in r.nets["D"].parameters()])
            assert not any(p.requires_grad for p in r.nets["D"].parameters())
        return original(batch, out)

    monkeypatch.setattr(r, "g_losses", spy)
    train(r, _cfg(steps=1), make_dataset(DATA, "train", augment=True), tmp_path, progress=False)
    rows = list(csv.DictReader((tmp_path / "losses.csv").open()))
    assert all(float(v) == float(v) and abs(float(v)) < 1e6 for k, v in rows[0].items() if k != "step")
    for k, net in r.nets.items():
        assert any(not torch.equal(a, b) for a, b in zip(before[k], net.parameters())), f"{k} did not change"
    if "D" in r.nets:
        assert all(torch.equal(a, b) for a, b in zip(d_during_g[0], r.nets["D"].parameters()))
        assert "d/grad_norm" in rows[0] and "g/grad_norm" in rows[0]


def test_resume_is_exact(tmp_path):
    data = make_dataset(DATA, "train", augment=True)
    test = make_dataset(DATA, "test")
    straight = _recipe()
    train(
        straight,
        _cfg(steps=6, ckpt_every=3, eval_every=3),
        data,
        tmp_path / "a",
        eval_data=test,
        progress=False,
    )
    # killed during step 5 (checkpoint at 3), then resumed to 6 with a fresh recipe object
    doomed, calls = _recipe(), []
    forward = doomed.forward

    def dies_at_step_5(batch, progress):
        calls.append(progress)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return forward(batch, progress)

    doomed.forward = dies_at_step_5
    with pytest.raises(KeyboardInterrupt):
        train(
            doomed,
            _cfg(steps=6, ckpt_every=3, eval_every=3),
            data,
            tmp_path / "b",
            eval_data=test,
            progress=False,
        )
    resumed = _recipe()
    train(
        resumed,
        _cfg(steps=6, ckpt_every=3, eval_every=3),
        data,
        tmp_path / "b",
        eval_data=test,
        progress=False,
    )
    for k in straight.nets:
        for p, q in zip(straight.nets[k].state_dict().values(), resumed.nets[k].state_dict().values()):
            assert torch.equal(p, q)
    la = list(csv.DictReader((tmp_path / "a" / "losses.csv").open()))
    lb = list(csv.DictReader((tmp_path / "b" / "losses.csv").open()))
    assert la == lb and [int(r["step"]) for r in la] == list(range(6))


def test_data_order_replays_from_any_step():
    data = make_dataset(DATA, "train")
    full = [b["index"].tolist() for _, b in zip(range(10), batches(data, 3, seed=1))]
    later = [b["index"].tolist() for _, b in zip(range(5), batches(data, 3, seed=1, start_step=5))]
    assert later == full[5:]
    with pytest.raises(ValueError, match="fewer than batch_size"):
        next(batches(data, 100, 0))


def test_nan_loss_fails_with_a_clear_error(tmp_path, monkeypatch):
    r = _recipe("l1")
    monkeypatch.setattr(r, "g_losses", lambda batch, out: {"l1": out["fake_b"].mean() * float("nan")})
    with pytest.raises(NonFiniteLoss, match="step 0: loss g/l1 is nan"):
        train(r, _cfg(), make_dataset(DATA, "train"), tmp_path, progress=False)


def test_samples_and_eval_written(tmp_path):
    from metrics import METRICS, EvalContext

    metrics = {"l1": (METRICS["l1"], METRICS["l1"].make(EvalContext()))}
    out = train(_recipe(), _cfg(steps=2, sample_every=1), make_dataset(DATA, "train"), tmp_path,
                eval_data=make_dataset(DATA, "test"), metrics=metrics, progress=False)  # fmt: skip
    assert (tmp_path / "samples" / "step_000001.png").exists() and (tmp_path / "checkpoint.pt").exists()
    first_test = DATA.n_train + DATA.n_val
    for kind in ("input", "truth", "output"):
        assert (tmp_path / "samples" / "test" / f"{first_test:06d}_{kind}.png").exists()
    assert 0 < out["metrics"]["l1"] < 2 and out["train_images_per_s"] > 0


def _one_step(**switches):
    from models.train import Engine

    r = _recipe()
    eng = Engine.build(r, _cfg(**switches))
    gen = torch.Generator().manual_seed(0)
    batch = {k: torch.rand(2, 3, 32, 32, generator=gen) * 2 - 1 for k in "ab"}
    if eng.channels_last:
        batch = {k: v.contiguous(memory_format=torch.channels_last) for k, v in batch.items()}
    torch.manual_seed(0)
    d, g = eng.step(r, batch, 0)
    return d, g, r


def test_fast_path_switches_compute_the_same_step():
    d_ref, g_ref, r_ref = _one_step()
    d_fused, g_fused, r_fused = _one_step(fused_adam=True, channels_last=True)  # exact maths, other kernels
    for ref, got in ((d_ref, d_fused), (g_ref, g_fused)):
        assert got == pytest.approx(ref, rel=1e-4)
    for p, q in zip(r_ref.nets["G"].parameters(), r_fused.nets["G"].parameters()):
        assert torch.allclose(p, q, atol=1e-6)
    d_bf16, g_bf16, _ = _one_step(amp=True, channels_last=True, fused_adam=True)  # bf16: ~3 significant digits
    assert d_bf16["real"] == pytest.approx(d_ref["real"], rel=5e-2) and g_bf16["l1"] == pytest.approx(
        g_ref["l1"], rel=5e-2
    )


@pytest.mark.slow
def test_torch_compile_switch_gives_the_same_losses():
    d_ref, g_ref, _ = _one_step()
    d_c, g_c, r_c = _one_step(compile=True)
    assert d_c == pytest.approx(d_ref, rel=1e-4) and g_c == pytest.approx(g_ref, rel=1e-4)
    assert set(r_c.nets["G"].state_dict()) == set(_recipe().nets["G"].state_dict())  # checkpoints stay portable
