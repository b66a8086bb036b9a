"""The parity harness (bench/parity.py): a family without its checkout is skipped with the variable it needs; the
machinery (a checkout imported beside ganbench's `models`, a script's loop body, weight transplant, the relative
comparison) finds bitwise-equal nets equal and a 1e-5 change to a loss weight; with the checkouts, one family
passes and its perturbed run fails (slow: two processes)."""

import os

import pytest
import torch

from bench import parity, parity_core
from models.pix2pix import PatchDiscriminator


def test_a_family_without_its_checkout_is_skipped_with_the_variable_it_needs(monkeypatch):
    for names in parity_core.ENV.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)
    rows = [parity.run_family(f, 1, False) for f in ("spade", "pix2pix")]
    assert [r["status"] for r in rows] == ["skip", "skip"]
    assert "GANBENCH_PEER_SPADE" in rows[0]["reason"] and "GANBENCH_PEER_PIX2PIX or GANBENCH_PEER" in rows[1]["reason"]
    assert "| spade | skip: set GANBENCH_PEER_SPADE to a checkout |" in parity.table(rows)


def test_the_comparison_passes_equal_nets_and_fails_a_1e5_change_to_a_loss_weight():
    torch.manual_seed(0)
    ours, theirs = PatchDiscriminator(6, 4, 2), PatchDiscriminator(6, 4, 2)
    pairs = parity_core.transplant(ours, theirs)
    x = torch.randn(2, 6, 32, 32)
    ok = parity_core.Comparison()
    ok.add("forward", ours(x), theirs(x))
    ok.states("D", ours, theirs, pairs)
    assert ok.passed and set(ok.rows) == {"forward", "params D", "buffers D"} and max(ok.rows.values()) == 0
    loss = theirs(x).square().mean()
    bad = parity_core.Comparison()
    bad.add("loss", 10.0 * (1 + parity_core.PERTURB) * loss, 10.0 * loss)
    assert not bad.passed and bad.rows["loss"] == pytest.approx(parity_core.PERTURB, rel=1e-2)  # float32 here
    bad.add("shape", torch.zeros(3), torch.zeros(4))
    assert bad.rows["shape"] == float("inf")


def test_a_checkout_imports_beside_ganbench_and_its_loop_body_runs(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("")
    (tmp_path / "models" / "networks.py").write_text("WHO = 'reference'\n")
    (tmp_path / "main.py").write_text("import sys\nlr = 2 * 3\ndef twice(v):\n    return 2 * v\nsys.exit(1)\n"
                                      "for epoch in range(9):\n    for i in range(9):\n        x = twice(i)\n"
                                      "        y = x + lr\n        print(y)\n")  # fmt: skip
    peer = parity_core.Peer(tmp_path)
    assert peer.module("models.networks").WHO == "reference"
    import models

    assert hasattr(models, "RECIPES") and "models.networks" not in __import__("sys").modules  # ganbench's again
    ns = parity_core.definitions(tmp_path / "main.py", ("lr", "twice"), {})
    exec(parity_core.loop_body(tmp_path / "main.py", "x = twice(", "y = x"), ns | {"i": 5}, ns)  # noqa: S102
    assert ns["y"] == 16 and ns["lr"] == 6
    with pytest.raises(LookupError, match="no loop"):
        parity_core.loop_body(tmp_path / "main.py", "z = ", "y = x")


NEEDED = ("GANBENCH_PEER_PIX2PIX",)


@pytest.mark.slow
@pytest.mark.skipif(not all(os.environ.get(v) for v in NEEDED), reason="set GANBENCH_PEER_PIX2PIX to a checkout")
def test_pix2pix_is_equal_to_the_reference_and_a_perturbed_loss_weight_is_caught():
    assert parity.spawn("pix2pix", 2, False)["status"] == "pass"
    row = parity.spawn("pix2pix", 2, True)
    assert row["status"] == "FAIL" and row["rows"]["loss g/l1"] == pytest.approx(parity_core.PERTURB, rel=1e-3)


def test_the_speed_summary_pairs_the_steps_of_each_rep_and_gives_the_spread_of_the_ratios(tmp_path):
    from bench import parity_speed

    times = {"theirs": [2.0, 4.0, 3.0, 2.0], "reference": [1.0, 2.0, 3.0, 4.0], "fast": [0.5, 1.0, 1.5, 2.0]}
    s = parity_speed.summary(times)
    assert s["median"] == {"theirs": 2.5, "reference": 2.5, "fast": 1.25}
    r = s["ratio"]["reference"]  # per rep: 2, 2, 1, 0.5
    assert (r["median"], r["min"], r["max"], r["best"]) == (1.5, 0.5, 2.0, 2.0)
    assert (r["q25"], r["q75"]) == (0.875, 2.0)  # numpy's linear interpolation
    assert s["ratio"]["fast"]["median"] == 3.0 and s["ratio"]["fast"]["best"] == 4.0
    assert parity_speed.shapes("dcgan", [64, 256]) == [(64, 128)] and parity_speed.shapes("spade", [64, 256]) == [
        (64, 1), (256, 1)]  # fmt: skip
    row = {"family": "pix2pix", "size": 64, "batch": 1, "status": "ok", "reps": 4, "warmup": 1, "threads": 2,
           "torch": "x", "cpu": "y"} | s  # fmt: skip
    text = parity_speed.table([row], ["reference", "fast"])
    assert "| pix2pix | 64 | 1 | 2.500 | 2.500 | 1.250 | 1.50 [0.88-2.00] (0.50-2.00) |" in text
    parity_speed.write([row], tmp_path / "s.csv", ["reference", "fast"])
    assert len((tmp_path / "s.csv").read_text().splitlines()) == 3
    # the floor: 100 GFLOP per step at 50 GFLOP/s is 2 s; theirs' median 2.5 s is 80% of the peak, ours 80% / 160%,
    # and 1.5x would need ours at 1.5 x 100 / (50 x 2.5) = 120% of the peak
    row |= {"gflop": {"theirs": 100.0, "ours": 100.0}, "peak_gflops": 50.0}
    assert parity_speed.peak_shares(row, ["reference", "fast"]) == pytest.approx(
        {"theirs": 0.8, "reference": 0.8, "fast": 1.6, "needed": 1.2})  # fmt: skip
    assert "| 100.0 / 100.0 | 80% / 80% / 160% | 120% |" in parity_speed.table([row], ["reference", "fast"])
    assert 0 < parity_speed.peak_gflops(n=256, reps=2) < 1e5
