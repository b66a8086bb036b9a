"""The training loop's generic mechanics, on pix2pix and on a tiny vector recipe written here: phase order
and fresh batches, per-group optimizer settings, EMA, batch size by progress, staged nets, exact resume,
growing loss logs, weights-only checkpoints, failures."""

import csv

import numpy as np
import pytest
import torch
from torch import nn

from models import checkpoint as ckpt
from models.contract import DataFacts, Progress
from models.pix2pix import PatchDConfig, Pix2Pix, Pix2PixConfig, UNetConfig
from models.train import DataStream, EMAConfig, Engine, NonFiniteLoss, OptConfig, OptGroups, TrainConfig, train
from studies.datasets import DataConfig, make_dataset

DATA = DataConfig(size=32, n_train=8, n_val=2, n_test=4)
FACTS = DataFacts(3, 3, 8, 32, "paired")


def _pix2pix(loss="l1+cgan"):
    torch.manual_seed(0)
    return Pix2Pix(Pix2PixConfig(g=UNetConfig(num_downs=5, ngf=4), loss=loss, d=PatchDConfig(ndf=4)), FACTS)


def _cfg(**kw):
    return TrainConfig(**({"images": 4, "batch_size": 2, "log_every": 1, "ckpt_every": 0, "device": "cpu"} | kw))


class Vectors(torch.utils.data.Dataset):
    def __len__(self):
        return 12

    def __getitem__(self, i):
        return {"b": torch.full((4,), float(i)), "index": torch.tensor(i)}


class Tiny:
    """A vector GAN: G maps noise to 4-d points, D scores them; records every call for the assertions."""

    def __init__(self, staged=False, batch_by_progress=False, extra_term_at=None, stage_at=0.5):
        torch.manual_seed(0)
        self.nets = {"G": nn.Linear(2, 4), "D": nn.Linear(4, 1), "H": nn.Linear(4, 4)}
        self.groups, self.ema, self.frozen = {"g": ("G", "H"), "d": ("D",)}, {"G_ema": "G"}, {}
        self.calls, self.staged, self.by_progress, self.extra_term_at = [], staged, batch_by_progress, extra_term_at
        self.stage_at = stage_at

    def forward(self, batch, t):
        self.calls.append(("forward", batch["index"].tolist()))
        z = torch.randn(batch["b"].shape[0], 2)
        return {"fake": self.nets["H"](self.nets["G"](z))}

    def losses(self, group, batch, out, t):
        self.calls.append((group, batch["index"].tolist()))
        if group == "d":
            return {
                "real": -self.nets["D"](batch["b"] / 10).mean(),
                "fake": self.nets["D"](out["fake"].detach()).mean(),
            }
        terms = {"gan": -self.nets["D"](out["fake"]).mean()}
        if self.extra_term_at is not None and t.step >= self.extra_term_at:
            terms["late"] = out["fake"].pow(2).mean()
        return terms

    def translate(self, batch, t):
        return {"fake": self.nets["G"](torch.zeros(batch["b"].shape[0], 2))}

    def trainable(self, t):
        return {"G", "D"} | ({"H"} if not self.staged or t.fraction >= self.stage_at else set())

    def batch_size(self, t):
        return (2 if t.images < 8 else 4) if self.by_progress else None


def _params(net):
    return [p.detach().clone() for p in net.parameters()]


@pytest.mark.parametrize("loss", ["l1", "gan", "cgan", "l1+gan", "l1+cgan"])
def test_one_step_per_loss(loss, tmp_path, monkeypatch):
    r = _pix2pix(loss)
    before = {k: _params(n) for k, n in r.nets.items()}
    d_during_g = []
    original = r.losses

    def spy(group, batch, out, t):  # D parameters must not change in (or be trainable during) the G step
        if group == "g" and "D" in r.nets:
            d_during_g.append(_params(r.nets["D"]))
            assert not any(p.requires_grad for p in r.nets["D"].parameters())
        return original(group, batch, out, t)

    monkeypatch.setattr(r, "losses", spy)
    train(r, _cfg(images=2), make_dataset(DATA, "train", augment=True), tmp_path, progress=False)
    rows = list(csv.DictReader((tmp_path / "losses.csv").open()))
    assert all(abs(float(v)) < 1e6 for k, v in rows[0].items())
    for k, net in r.nets.items():
        assert any(not torch.equal(a, b) for a, b in zip(before[k], net.parameters())), f"{k} did not change"
    if "D" in r.nets:
        assert all(torch.equal(a, b) for a, b in zip(d_during_g[0], r.nets["D"].parameters()))
        assert {"d/real", "d/fake", "d/grad_norm", "g/grad_norm", "lr/d", "lr/g", "images"} <= set(rows[0])


def test_phase_order_and_fresh_batches_for_repeated_groups(tmp_path):
    r = Tiny()
    train(r, _cfg(images=8, phases=("d", "d", "g")), Vectors(), tmp_path, progress=False)
    kinds = [c[0] for c in r.calls]
    assert kinds == ["forward", "d", "forward", "d", "g"] * 2  # the repeated d gets a new batch; g shares it
    batches = [c[1] for c in r.calls if c[0] == "forward"]
    assert len({tuple(b) for b in batches}) == 4 and all(len(b) == 2 for b in batches)
    assert [int(r["images"]) for r in csv.DictReader((tmp_path / "losses.csv").open())] == [0, 4]  # 2 batches each
    r2 = Tiny()
    train(r2, _cfg(images=2, phases=("g", "d")), Vectors(), tmp_path / "gd", progress=False)
    assert [c[0] for c in r2.calls] == ["forward", "g", "d"]


def test_per_group_optimizer_settings(tmp_path):
    cfg = _cfg(opt=OptGroups(g=OptConfig(lr=1e-3, betas=(0.0, 0.99)), d=OptConfig(lr=4e-3, schedule="constant")))
    eng = Engine.build(Tiny(), cfg)
    assert eng.opts["g"].defaults["betas"] == (0.0, 0.99) and eng.opts["d"].defaults["lr"] == 4e-3
    train(Tiny(), cfg, Vectors(), tmp_path, progress=False)
    rows = list(csv.DictReader((tmp_path / "losses.csv").open()))
    assert [float(r["lr/d"]) for r in rows] == [4e-3, 4e-3]  # constant
    assert float(rows[0]["lr/g"]) == 1e-3 and float(rows[1]["lr/g"]) == pytest.approx(1e-3)  # decays from 1/2


def test_ema_follows_the_net_and_is_checkpointed(tmp_path):
    r = Tiny()
    cfg = _cfg(images=8, ema=EMAConfig(decay=0.5))
    train(r, cfg, Vectors(), tmp_path, progress=False)
    state = ckpt.load(tmp_path / "checkpoint.pt")
    g, g_ema = r.nets["G"].weight, state["ema"]["G_ema"]["weight"]
    assert not torch.equal(g, g_ema) and (g_ema - g).abs().max() < 1  # an average, not a copy
    eng = Engine.build(Tiny(), cfg)
    with eng.averaged(r):
        assert r.nets["G"] is eng.ema_nets["G_ema"]
    assert r.nets["G"] is not eng.ema_nets["G_ema"]


def test_batch_size_by_progress_staged_nets_and_exact_resume(tmp_path):
    def run(folder, stop_at=None):
        r = Tiny(staged=True, batch_by_progress=True)
        if stop_at is not None:
            forward = r.forward

            def dies(batch, t):
                if t.step == stop_at:
                    raise KeyboardInterrupt
                return forward(batch, t)

            r.forward = dies
        train(r, _cfg(images=24, ckpt_every=4), Vectors(), folder, progress=False)
        return r

    h0 = _params(Tiny().nets["H"])
    straight = run(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "b", stop_at=4)  # images 2, 4, 6, 8 (batch 2), then batch 4: the checkpoint at 8
    resumed = run(tmp_path / "b")
    for k in straight.nets:
        assert all(torch.equal(p, q) for p, q in zip(straight.nets[k].parameters(), resumed.nets[k].parameters()))
    la = list(csv.DictReader((tmp_path / "a" / "losses.csv").open()))
    assert la == list(csv.DictReader((tmp_path / "b" / "losses.csv").open()))
    assert [int(r["images"]) for r in la] == [0, 2, 4, 6, 8, 12, 16, 20]
    assert not all(torch.equal(a, b) for a, b in zip(h0, straight.nets["H"].parameters()))  # trained in stage 2
    never = Tiny(staged=True, stage_at=2.0)  # H's stage never comes: H must not move, though G and D do
    g0 = _params(never.nets["G"])
    train(never, _cfg(images=8), Vectors(), tmp_path / "c", progress=False)
    assert all(torch.equal(a, b) for a, b in zip(h0, never.nets["H"].parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(g0, never.nets["G"].parameters()))


def test_losses_csv_keeps_terms_that_appear_later(tmp_path):
    train(Tiny(extra_term_at=2), _cfg(images=8), Vectors(), tmp_path, progress=False)
    rows = list(csv.DictReader((tmp_path / "losses.csv").open()))
    assert [r["g/late"] for r in rows[:2]] == ["", ""] and all(float(r["g/late"]) >= 0 for r in rows[2:])
    assert len(rows) == 4 and all(r["d/real"] for r in rows)


def test_resume_is_exact_for_pix2pix(tmp_path):
    data, test = make_dataset(DATA, "train", augment=True), make_dataset(DATA, "test")
    from studies.runner.evaluation import Evaluator

    def ev():
        return Evaluator(test, {}, torch.device("cpu"), batch_size=4)

    cfg = _cfg(images=12, ckpt_every=6, eval_every=6)
    straight = _pix2pix()
    train(straight, cfg, data, tmp_path / "a", evaluator=ev(), progress=False)
    doomed = _pix2pix()
    forward = doomed.forward

    def dies_at_step_4(batch, t):
        if t.step == 4:
            raise KeyboardInterrupt
        return forward(batch, t)

    doomed.forward = dies_at_step_4
    with pytest.raises(KeyboardInterrupt):
        train(doomed, cfg, data, tmp_path / "b", evaluator=ev(), progress=False)
    resumed = _pix2pix()
    train(resumed, cfg, data, tmp_path / "b", evaluator=ev(), progress=False)
    for k in straight.nets:
        for p, q in zip(straight.nets[k].state_dict().values(), resumed.nets[k].state_dict().values()):
            assert torch.equal(p, q)
    la = list(csv.DictReader((tmp_path / "a" / "losses.csv").open()))
    assert la == list(csv.DictReader((tmp_path / "b" / "losses.csv").open()))
    assert [int(r["step"]) for r in la] == list(range(6))


def test_data_order_replays_from_a_saved_position():
    data = make_dataset(DATA, "train")
    s = DataStream(data, seed=1)
    full = [s.next(3)["index"].tolist() for _ in range(6)]
    s2 = DataStream(data, seed=1)
    [s2.next(3) for _ in range(3)]
    s3 = DataStream(data, seed=1)
    s3.load_state_dict(s2.state_dict())
    assert [s3.next(3)["index"].tolist() for _ in range(3)] == full[3:]
    assert len({i for b in full[:2] for i in b}) == 6  # an epoch of 8 items gives 2 batches of 3 (drop_last)
    with pytest.raises(ValueError, match="fewer than batch_size"):
        s.next(100)


def test_batches_depend_on_their_position_only_not_on_workers_or_the_training_rng():
    data = make_dataset(DataConfig(size=32, n_train=8, n_val=2, n_test=4, name="synthetic_scenes"), "train",
                        augment=True, view="unpaired")  # random crops, flips and a random B per item  # fmt: skip

    def batches(stream, sizes):
        return [stream.next(bs) for bs in sizes]

    sizes = [3, 3, 3, 4, 4]  # a batch-size change mid-way (a growing recipe's next phase)
    torch.manual_seed(5)
    state = torch.random.get_rng_state()
    inline = batches(DataStream(data, seed=1), sizes)
    assert torch.equal(state, torch.random.get_rng_state())  # the data drew nothing from the training RNG
    torch.manual_seed(123)  # another training RNG state: the same batches
    workers = DataStream(data, seed=1, workers=2)
    ahead = batches(workers, sizes)
    workers.close()
    for a, b in zip(inline, ahead):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(inline[0]["a"][0], inline[1]["a"][0])  # augmentation still random between batches
    half = DataStream(data, seed=1, workers=2)
    batches(half, sizes[:2])
    resumed = DataStream(data, seed=1, workers=1)
    resumed.load_state_dict(half.state_dict())
    half.close()
    for a, b in zip(inline[2:], batches(resumed, sizes[2:])):
        assert all(torch.equal(a[k], b[k]) for k in a)
    resumed.close()


def test_training_with_workers_gives_the_same_run(tmp_path):
    data = make_dataset(DATA, "train", augment=True)
    train(_pix2pix(), _cfg(images=8), data, tmp_path / "a", progress=False)
    train(_pix2pix(), _cfg(images=8, workers=2), data, tmp_path / "b", progress=False)
    assert (tmp_path / "a" / "losses.csv").read_text() == (tmp_path / "b" / "losses.csv").read_text()


def test_checkpoints_are_weights_only_and_old_formats_refused(tmp_path):
    train(Tiny(), _cfg(), Vectors(), tmp_path, progress=False)
    path = tmp_path / "checkpoint.pt"
    state = torch.load(path, weights_only=True)  # no pickled code: RNG states are tensors and lists
    assert state["format"] == ckpt.FORMAT and state["progress"] == {"step": 2, "images": 4}
    torch.save({"nets": {}}, path)
    with pytest.raises(ckpt.CheckpointError, match="checkpoint format none"):
        train(Tiny(), _cfg(images=8), Vectors(), tmp_path, progress=False)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ckpt.CheckpointError, match="not a ganbench checkpoint"):
        ckpt.load(path)


def test_nan_loss_fails_with_a_clear_error(tmp_path, monkeypatch):
    r = _pix2pix("l1")
    monkeypatch.setattr(r, "losses", lambda group, batch, out, t: {"l1": out["fake_b"].mean() * float("nan")})
    with pytest.raises(NonFiniteLoss, match="step 0: loss g/l1 is nan"):
        train(r, _cfg(), make_dataset(DATA, "train"), tmp_path, progress=False)


def test_samples_and_eval_come_from_one_pass(tmp_path):
    from metrics import METRICS, EvalContext
    from studies.runner.evaluation import Evaluator

    test = make_dataset(DATA, "test")
    ev = Evaluator(test, {"l1": (METRICS["l1"], METRICS["l1"].make(EvalContext()))}, torch.device("cpu"), 2)
    out = train(_pix2pix(), _cfg(images=4, sample_every=2), make_dataset(DATA, "train"), tmp_path, evaluator=ev,
                progress=False)  # fmt: skip
    assert (tmp_path / "samples" / "step_000001.png").exists() and (tmp_path / "checkpoint.pt").exists()
    first_test = DATA.n_train + DATA.n_val
    for kind in ("input", "truth", "output"):
        assert (tmp_path / "samples" / "test" / f"{first_test:06d}_{kind}.png").exists()
    assert 0 < out["metrics"]["l1"] < 2 and out["train_images_per_s"] > 0 and out["D_receptive_field"] == 70
    # the PNG is the scored output: re-translating the first batch under the run's seed gives the same image
    from PIL import Image

    png = torch.from_numpy(np.array(Image.open(tmp_path / "samples" / "test" / f"{first_test:06d}_output.png")))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        batch = next(iter(ev._batches(2)))
        fake = _trained_again(tmp_path).translate(batch, Progress(2, 4, 4))["fake_b"][0]
    expected = fake.add(1).div(2).mul(255).add(0.5).clamp(0, 255).byte().permute(1, 2, 0)
    assert torch.equal(png, expected)


def _trained_again(folder):
    r = _pix2pix()
    ckpt.load_nets(r.nets, ckpt.load(folder / "checkpoint.pt")["nets"], folder)
    return r


def _one_step(**switches):
    r = _pix2pix()
    eng = Engine.build(r, _cfg(**switches))
    gen = torch.Generator().manual_seed(0)
    batch = {k: torch.rand(2, 3, 32, 32, generator=gen) * 2 - 1 for k in "ab"}
    if eng.channels_last:
        batch = {k: v.contiguous(memory_format=torch.channels_last) for k, v in batch.items()}
    torch.manual_seed(0)
    values = eng.step(r, lambda bs: batch, Progress(0, 0, 4))
    return values, r


def test_fast_path_switches_compute_the_same_step():
    ref, r_ref = _one_step()
    fused, r_fused = _one_step(fused_adam=True, channels_last=True)  # exact maths, other kernels
    assert fused == pytest.approx(ref, rel=1e-4)
    for p, q in zip(r_ref.nets["G"].parameters(), r_fused.nets["G"].parameters()):
        assert torch.allclose(p, q, atol=1e-6)
    bf16, _ = _one_step(amp=True, channels_last=True, fused_adam=True)  # bf16: ~3 significant digits
    assert bf16["d/real"] == pytest.approx(ref["d/real"], rel=5e-2) and bf16["g/l1"] == pytest.approx(
        ref["g/l1"], rel=5e-2
    )


@pytest.mark.slow
def test_torch_compile_switch_gives_the_same_losses():
    ref, _ = _one_step()
    compiled, r_c = _one_step(compile=True)
    assert compiled == pytest.approx(ref, rel=1e-4)
    assert set(r_c.nets["G"].state_dict()) == set(_pix2pix().nets["G"].state_dict())  # checkpoints stay portable


def test_progress_writes_one_line_per_few_percent_off_a_terminal(capsys, monkeypatch):
    """CI logs and SLURM files are not terminals: 1,000 updates a second apart give about 25 lines, not 1,000."""
    import itertools

    import tqdm.std

    from models.train import _progress

    clock = itertools.count(0.0, 1.0)  # every update a second after the last: slow steps
    monkeypatch.setattr(tqdm.std, "time", lambda: next(clock))
    bar = _progress(0, 10000, True, "run")
    for _ in range(1000):
        bar.update(10)
    bar.close()
    refreshes = capsys.readouterr().err.count("\r")
    assert 20 <= refreshes <= 30, refreshes
