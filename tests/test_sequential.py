"""The --until-decided design (studies/results/sequential.py, studies/runner/rounds.py): the boundaries are the
published Lan-DeMets O'Brien-Fleming ones and spend what they say by simulation of the canonical process, Holm runs
within the design, the false-verdict rate stays at 5% over up to 5 looks in the crossed model of our studies and the
average seed count is below a fixed design of the same power; end to end, the rounds add seeds only where a claim
is open, stop at the cap or the budget, resume at the last completed round, and refuse what they cannot honour."""

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from bench.stats_calibration import SETTINGS, calibrate_sequential
from studies import run as runner
from studies.results import sequential as Q
from studies.results import stats
from studies.runner import rounds
from studies.spec import Claim

SEED_DOMINATED, ITEM_DOMINATED = SETTINGS


def test_boundaries_are_the_published_lan_demets_obrien_fleming_ones():
    """ldbounds / gsDesign (sfLDOF), five equally spaced looks, two-sided alpha 0.05: 4.8769 3.3569 2.6803 2.2898
    2.0310; two looks at t = 0.5: 2.9626 1.9686; one look at t = 1 is the fixed test."""
    assert np.allclose(Q.boundaries((0.2, 0.4, 0.6, 0.8, 1.0)), [4.8769, 3.3569, 2.6803, 2.2898, 2.0310], atol=2e-4)
    assert np.allclose(Q.boundaries((0.5, 1.0)), [2.9626, 1.9686], atol=2e-4)
    assert Q.boundaries((1.0,)) == pytest.approx((sps.norm.isf(0.025),))
    assert Q.boundaries((0.5, 0.5, 1.0))[1] == math.inf  # a repeated fraction spends nothing


def test_boundaries_spend_what_the_function_says_on_the_canonical_process():
    """Brownian motion at the fractions of looks at 3, 5 and 8 of 8 seeds (200,000 paths): the first crossing of
    each look happens at the rate the spending function allots it, and 5% in all."""
    t = np.array([3, 5, 8]) / 8
    rng = np.random.default_rng(0)
    b = np.cumsum(rng.normal(size=(200_000, 3)) * np.sqrt(np.diff(np.r_[0, t])), axis=1)
    cross = np.abs(b / np.sqrt(t)) >= np.array(Q.boundaries(tuple(t)))
    first = np.where(cross.any(1), cross.argmax(1), -1)
    want = np.diff([0] + [Q.spent(x, 0.05) for x in t])
    got = np.array([(first == k).mean() for k in range(3)])
    assert np.allclose(got, want, atol=3 * np.sqrt(want / 200_000) + 1e-5), (got, want)
    assert abs((first >= 0).mean() - 0.05) < 0.003


def test_schedule_and_nominal_levels():
    assert [Q.next_seeds(s, 12) for s in (3, 5, 8, 12)] == [5, 8, 12, 12]
    assert Q.next_seeds(3, 4) == 4 and Q.next_seeds(1, 18) == 2
    levels = Q.nominal_levels([3, 5, 8], 8)
    assert levels[0] < levels[1] < levels[2] < 0.05 and levels[2] > 0.045  # little of alpha is spent early


def _look(k, rows):
    return {"round": k, "pairs": [dict(zip(("metric", "a", "b", "seeds", "p", "diff", "low", "high"), r))
                                  for r in rows]}  # fmt: skip


def test_holm_within_the_design_and_final_decisions():
    """Two pairs at 8 seeds of 8: one clears alpha / 2 and is decided; the other then gets alpha, re-read at every
    look; a repeated seed count is no new look, and a decision stays."""
    claims = [Claim("A > B", "ssim"), Claim("C > D", "ssim")]
    lv = Q.nominal_levels([3, 8], 8, 0.025)[1]
    looks = [
        _look(1, [("ssim", "A", "B", 3, 0.5, 0.1, -1, 1), ("ssim", "C", "D", 3, 0.5, 0.1, -1, 1)]),
        _look(2, [("ssim", "A", "B", 8, lv * 0.9, 0.1, 0.01, 0.2), ("ssim", "C", "D", 8, 0.04, 0.1, 0.01, 0.2)]),
    ]
    pairs = Q.decide(looks, claims, 8)
    assert pairs[("ssim", "A", "B")]["decided"] == 1
    assert pairs[("ssim", "C", "D")]["decided"] == 1  # 0.04 <= the level at alpha, not at alpha / 2
    assert Q.claim_state(claims[0], pairs)[0] == "holds"
    looks[1]["pairs"][0]["p"] = lv * 1.1  # A-B misses alpha / 2: nothing is decided at all
    pairs = Q.decide(looks, claims, 8)
    assert pairs[("ssim", "A", "B")]["decided"] is None and pairs[("ssim", "C", "D")]["decided"] is None
    looks[1]["pairs"][0]["diff"] = -0.1
    looks.append(_look(3, [("ssim", "A", "B", 8, 1e-9, -0.1, -0.2, -0.01)]))  # same seeds again: not a new look
    assert Q.decide(looks, claims, 8)[("ssim", "A", "B")]["decided"] is None
    early = [_look(1, [("ssim", "A", "B", 3, 1e-12, -0.1, -0.2, -0.1)]), _look(2, [("ssim", "A", "B", 8, 0.9, 0.1,
                                                                                      -1, 1)])]  # fmt: skip
    pairs = Q.decide(early, claims, 8)
    assert pairs[("ssim", "A", "B")]["decided"] == 0 and Q.claim_state(claims[0], pairs)[0] == "contradicted"


@pytest.mark.slow
@pytest.mark.parametrize("setting,sims", [(SEED_DOMINATED, 500), (ITEM_DOMINATED, 250)],
                         ids=["seed-dominated", "item-dominated"])  # fmt: skip
def test_false_verdicts_stay_at_five_percent_over_five_looks(monkeypatch, setting, sims):
    """No difference, looks at 3, 5, 8, 12 and 18 seeds, without the futility stops (which can only lower it):
    the claim gets a verdict (either way) in at most 6% of the simulated studies."""
    monkeypatch.setattr(stats, "BOOT", 200)
    r = calibrate_sequential(setting, 0.0, sims, max_seeds=18, stops=False)
    assert r["max_looks"] == 5
    assert r["false_verdict"] <= 0.06, r


@pytest.mark.slow
def test_fewer_seeds_on_average_than_a_fixed_design_of_the_same_power(monkeypatch):
    """A true difference (seed-dominated, cap 12, futility stops on): the design's power is at least 80% and its
    average seed count is below the fewest seeds a fixed design needs for that power (same simulated runs)."""
    monkeypatch.setattr(stats, "BOOT", 200)
    r = calibrate_sequential(SEED_DOMINATED, 0.03, 150, max_seeds=12, fixed_at=range(6, 13))
    fixed_seeds = min((s for s, p in r["fixed_power"].items() if p >= r["power"]), default=13)
    assert r["power"] >= 0.8, r
    assert r["mean_seeds"] < fixed_seeds, r


# --- the rounds, end to end on the smoke profile --------------------------------------------------


@pytest.fixture
def nodiff(monkeypatch):
    """ablation_patchgan's smoke profile with two variants of one config ("a", "b": no difference to find) and a
    1x1 PixelGAN ("c"); claims "a > b" on SSIM and "c > a" on FCN pixel accuracy."""
    from studies.catalogue.ablation_patchgan import STUDY

    same = {"model.d.kind": "patch", "model.d.n_layers": 1}
    profiles = {k: dataclasses.replace(p, variants={}) for k, p in STUDY.profiles.items()}
    study = dataclasses.replace(STUDY, name="nodiff", variants={"a": same, "b": same, "c": {"model.d.kind": "pixel",
                                "model.d.n_layers": 1}}, profiles=profiles, reference=(), reference_names={},
                                claims=(Claim("a > b", "ssim"), Claim("c > a", "fcn_pixel_acc")))  # fmt: skip
    monkeypatch.setattr(runner, "load_study", lambda name: study)
    return study


def _main(out, *extra):
    return runner.main(["nodiff", "--profile", "smoke", "--out", str(out), "--no-progress", "--until-decided", *extra])


def test_rounds_add_seeds_where_claims_are_open_stop_and_resume(nodiff, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(rounds, "futile", lambda row, cap: "" if row.claim == "a > b" else "stopped for the test")
    assert _main(tmp_path, "--max-seeds", "4", "--budget", "1s") == 0  # the budget ends it after round 1
    out = capsys.readouterr().out
    assert "== round 1: 3 seeds of a, b, c (9 run(s) to train) ==" in out
    assert "the time budget is spent" in out and "round 2" not in out
    state = json.loads((tmp_path / "nodiff" / "sequential.json").read_text())
    assert [lk["seeds"] for lk in state["looks"]] == [{"a": 3, "b": 3, "c": 3}]
    assert state["stopped"] == {"c > a (fcn_pixel_acc)": "stopped for the test"}

    assert _main(tmp_path, "--max-seeds", "5") == 2  # another cap: other thresholds
    assert "planned with --max-seeds 4" in capsys.readouterr().err

    assert _main(tmp_path, "--budget", "2h") == 0  # resumes: round 2 adds a 4th seed to the open claim's variants
    out = capsys.readouterr().out
    assert "resuming the rounds after round 1" in out
    assert "== round 2: 4 seeds of a, b (2 run(s) to train) ==" in out
    assert "the seed cap is reached (--max-seeds 4)" in out
    assert not (tmp_path / "nodiff" / "c-s3").exists()
    claims = pd.read_csv(tmp_path / "nodiff" / "claims.csv").set_index("claim")
    assert claims.loc["a > b", "looks"] == "3, 4" and claims.loc["a > b", "verdict"] == "undecided"
    assert str(claims.loc["c > a", "looks"]) == "3" and claims.loc["c > a", "stopped"] == "stopped for the test"
    looks = pd.read_csv(tmp_path / "nodiff" / "looks.csv")
    ab = looks[looks.a == "a"]
    assert ab.seeds.tolist() == [3, 4] and (ab["diff"] == 0).all() and (ab.p == 1).all()
    assert ab.threshold.tolist() == pytest.approx(Q.nominal_levels([3, 4], 4, 0.025))

    assert runner.main(["nodiff", "--profile", "smoke", "--out", str(tmp_path), "--collect"]) == 0  # keeps the design
    assert pd.read_csv(tmp_path / "nodiff" / "claims.csv").looks.tolist() == ["3, 4", "3"]
    assert "[looks at 3, 4 seeds]" in capsys.readouterr().out


@pytest.mark.parametrize("extra,message", [
    (["--only", "a"], "cannot be combined with --only"),
    (["--budget", "soon"], "--budget expects a duration such as 2h"),
    (["--max-seeds", "2"], "--max-seeds 2 is below the 3 seeds of the first round"),
])  # fmt: skip
def test_refusals_are_one_line_before_any_training(nodiff, tmp_path, capsys, extra, message):
    assert _main(tmp_path, *extra) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "nodiff").exists()


def test_without_until_decided_its_flags_are_refused_and_claimless_studies_too(nodiff, tmp_path, capsys, monkeypatch):
    assert runner.main(["nodiff", "--profile", "smoke", "--out", str(tmp_path), "--max-seeds", "4"]) == 2
    assert "--max-seeds and --budget belong to --until-decided" in capsys.readouterr().err
    monkeypatch.setattr(runner, "load_study", lambda name: dataclasses.replace(nodiff, claims=()))
    assert _main(tmp_path) == 2
    assert "has no claims" in capsys.readouterr().err
    assert not (tmp_path / "nodiff").exists()


def test_dry_run_prints_the_looks_and_their_levels(capsys):
    assert runner.main(["ablation_patchgan", "--until-decided", "--max-seeds", "8", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "round 1 trains seeds 0, 1, 2 of 1x1, 16x16, 70x70, 286x286; then looks at 5, 8 seeds" in out
    assert f"{Q.nominal_levels([3, 5, 8], 8, 0.05 / 6)[2]:.3g} (8 seeds)" in out


def test_the_next_round_adds_seeds_only_to_the_variants_of_undecided_pairs():
    """A > B > C with B-C decided at 5 seeds: the next round trains A and B only; D > E stopped: none of its."""
    study = dataclasses.replace(
        _catalogue(), variants={v: {"model.d.n_layers": 1} for v in "ABCDE"},
        claims=(Claim("A > B > C", "ssim"), Claim("D > E", "ssim")))  # fmt: skip
    state = rounds.new_state(study, 8, [0, 1, 2])
    state["looks"] = [_look(1, [("ssim", "A", "B", 5, 0.3, 0.1, -1, 1), ("ssim", "B", "C", 5, 1e-9, 0.1, 0.05, 0.2),
                                ("ssim", "D", "E", 5, 0.5, 0.0, -1, 1)])]  # fmt: skip
    assert rounds.needed(state, study) == ["A", "B", "D", "E"]
    state["stopped"] = {"D > E (ssim)": "the item share alone is too large"}
    assert rounds.needed(state, study) == ["A", "B"]


def _catalogue():
    from studies.catalogue.ablation_patchgan import STUDY

    return dataclasses.replace(STUDY, profiles={k: dataclasses.replace(p, variants={}) for k, p in
                                                STUDY.profiles.items()}, reference=(), reference_names={})  # fmt: skip
