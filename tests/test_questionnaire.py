"""Human evaluation: export, the four parsers on realistic files, validation, exclusion, statistics,
simulated raters with a known truth, idempotent import, and a property test on malformed files."""

import csv

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from metrics import questionnaire as Q
from metrics import response_formats as rf
from metrics.tables import read_results


def _key(protocol="rating", variants=("1x1", "70x70"), per=6, reals=6):
    rows, k = [], 0
    for v in [*variants] + ["real"]:
        for i in range(reals if v == "real" else per):
            k += 1
            rows.append(
                [
                    f"item_{k:03d}",
                    f"images/item_{k:03d}.png",
                    "s",
                    "" if v == "real" else f"{v}-s0",
                    v,
                    200 + i,
                    v == "real",
                    protocol,
                ]
            )
    return pd.DataFrame(rows, columns=Q.KEY_COLUMNS)


def _write(path, rows):
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def test_export_pack(tmp_path, runs):
    key = Q.export(runs, "ablation_patchgan", "2afc", per_variant=2, seed=3, out=tmp_path / "pack", n_real=2)
    assert len(key) == 6 and key.variant.value_counts().to_dict() == {"1x1": 2, "70x70": 2, "real": 2}
    assert all((tmp_path / "pack" / img).exists() for img in key.image)
    assert key.item.tolist() == [f"item_{i:03d}" for i in range(1, 7)]  # anonymous, in presentation order
    form = pd.read_csv(tmp_path / "pack" / "form.csv")
    assert form.question.iloc[0] == Q.QUESTIONS["2afc"] and "variant" not in form and "run_id" not in form
    assert pd.read_csv(tmp_path / "pack" / "mturk_input.csv").columns.tolist() == ["item", "image_url"]
    again = Q.export(runs, "ablation_patchgan", "2afc", per_variant=2, seed=3, out=tmp_path / "pack2", n_real=2)
    assert again.drop(columns="image").equals(key.drop(columns="image"))  # the seed fixes sampling and order
    with pytest.raises(ValueError, match="protocol"):
        Q.export(runs, "ablation_patchgan", "mos", 2, 0, tmp_path / "x")


def test_validation_reports_every_problem():
    key = _key(per=2, reals=1)
    raw = pd.DataFrame(
        [
            [2, "a", "item_001", "7", "ok", ""],
            [3, "a", "item_001", "8", "ok", ""],  # duplicate
            [4, "a", "item_002", "eleven", "ok", ""],
            [5, "a", "item_003", "11", "ok", ""],
            [6, "a", "item_099", "5", "ok", ""],
            [7, "b", "item_001", "5", "rejected assignment", ""],
            [8, "b", "item_002", "", "blank", ""],
            [9, "b", "item_003", "4.5", "ok", ""],
            [10, "b", "item_004", "6", "ok", ""],
        ],
        columns=rf.COLUMNS,
    )
    kept, problems = Q.validate(raw, key)
    assert kept[["rater", "item", "value"]].values.tolist() == [["a", "item_001", 7.0], ["b", "item_004", 6.0]]
    reasons = dict(zip(problems.row, problems.reason))
    assert reasons == {
        3: "duplicate submission (first one kept)",
        4: "answer 'eleven' is not an integer 1-10",
        5: "answer '11' is not an integer 1-10",
        6: "item 'item_099' is not in the key",
        7: "rejected assignment",
        8: "blank: no answer given",  # an empty answer is listed too, in every format (an MTurk classic form's)
        9: "answer '4.5' is not an integer 1-10",
    }
    _, problems = Q.validate(raw.assign(response="maybe"), _key("2afc", per=2, reals=1))
    assert "answer 'maybe' is not real/fake" in set(problems.reason)


def test_exclusion_rules():
    key = _key(per=3, reals=3)
    rows = []
    for it in key.itertuples():
        rows.append(["good", it.item, 9.0 if it.is_real else 5.0 + it.index % 3])
        rows.append(["flat", it.item, 5.0])
        rows.append(["liar", it.item, 2.0 if it.is_real else 8.0 + it.index % 2])
    rows.append(["lazy", "item_001", 6.0])
    j = pd.DataFrame(rows, columns=["rater", "item", "value"])
    r = Q.exclude(j, key).set_index("rater")
    assert (
        r.loc["good", "kept"] and not r.loc["flat", "kept"] and not r.loc["liar", "kept"] and not r.loc["lazy", "kept"]
    )
    assert "straight-lining" in r.loc["flat", "reason"] and "failed catch trials" in r.loc["liar", "reason"]
    assert r.loc["lazy", "reason"].startswith("incomplete (1/9 items)")
    assert Q.exclude(j, key, Q.Rules(straight_lining=False, min_catch=0.0)).set_index("rater").loc["flat", "kept"]


def test_statistics_against_hand_and_scipy():
    key = _key("2afc", per=4, reals=4)
    rng = np.random.default_rng(0)
    rows = [
        [f"r{r}", it.item, float(rng.random() < (0.9 if it.is_real else 0.2 if it.variant == "1x1" else 0.45))]
        for r in range(12)
        for it in key.itertuples()
    ]
    j = pd.DataFrame(rows, columns=["rater", "item", "value"])
    summary, tests = Q.summarize(j, key)
    s = summary.set_index("variant")
    p = j.merge(key, on="item").query("variant == '70x70'").value.mean()
    assert s.loc["70x70", "human_fooled_rate"] == pytest.approx(p)
    assert s.loc["70x70", "human_fooled_se"] == pytest.approx(np.sqrt(p * (1 - p) / 48))
    assert s.loc["70x70", "human_fooled_ci_low"] < p < s.loc["70x70", "human_fooled_ci_high"]
    jm = j.merge(key, on="item")
    per = jm[~jm.is_real].groupby(["variant", "rater"]).value.mean()
    assert tests.iloc[0].test == "wilcoxon"
    assert tests.iloc[0].p == pytest.approx(stats.wilcoxon(per["1x1"], per["70x70"]).pvalue)
    perfect = pd.DataFrame(
        [[r, it, v] for r in ("a", "b", "c") for it, v in (("item_001", 1.0), ("item_002", 0.0), ("item_003", 1.0))],
        columns=["rater", "item", "value"],
    )
    assert Q.alpha(perfect, "2afc") == pytest.approx(1.0)


@pytest.mark.parametrize("fmt", rf.FORMATS)
def test_simulated_raters_recover_the_truth(fmt, tmp_path):
    key = _key("rating", variants=("1x1", "16x16", "70x70"), per=6, reals=6)
    key_path = tmp_path / "key.csv"
    key.to_csv(key_path, index=False)
    sim = rf.simulate(key, {"1x1": 3.0, "16x16": 5.0, "70x70": 7.0}, n_raters=16, careless=4, seed=1)
    rf.write(sim, fmt, tmp_path / "responses.csv", Q.QUESTIONS["rating"])
    report = Q.import_responses(tmp_path / "responses.csv", key_path, "s", tmp_path / "runs")
    assert report["format"] == fmt
    mos = report["summary"].set_index("variant").human_mos
    assert mos["1x1"] < mos["16x16"] < mos["70x70"] < mos["real"]
    excluded = set(report["raters"][~report["raters"].kept].rater.str.replace(r"@example\.org|^R_", "", regex=True))
    assert {"w013", "w015"} <= excluded  # the straight-liners
    assert not excluded & {f"w{i:03d}" for i in range(12)}  # no diligent rater excluded
    assert (report["tests"].p_holm < 0.05).all()


def test_import_writes_results_idempotently(tmp_path):
    key = _key("2afc", per=5, reals=5)
    key.to_csv(tmp_path / "key.csv", index=False)
    rf.write(rf.simulate(key, {"1x1": 0.1, "70x70": 0.4}, n_raters=10, careless=2), "long", tmp_path / "r.csv", "?")
    for _ in range(2):
        Q.import_responses(tmp_path / "r.csv", tmp_path / "key.csv", "s", tmp_path / "runs")
    res = read_results(tmp_path / "runs" / "s" / "results.csv")
    assert set(res.split) == {"human"} and not res.duplicated(["run_id", "step", "split", "metric"]).any()
    assert {"human_fooled_rate", "human_fooled_se", "human_alpha", "n_raters", "n_judgements"} <= set(res.metric)
    assert len(res[(res.metric == "human_fooled_rate")]) == 3  # 1x1, 70x70 and the real images
    for name in ("judgements", "problems", "raters", "summary", "pairwise"):
        assert (tmp_path / "runs" / "s" / "human" / "2afc" / f"{name}.csv").exists()


def test_cli_export_simulate_import(tmp_path, capsys, runs):
    pack = tmp_path / "pack"
    assert (
        Q.main(
            ["export", "--study", "ablation_patchgan", "--per-variant", "4", "--out", str(pack), "--runs", str(runs)]
        )
        == 0
    )
    assert (
        Q.main(
            [
                "simulate",
                "--key",
                str(pack / "key.csv"),
                "--format",
                "google_forms",
                "--out",
                str(tmp_path / "forms.csv"),
                "--quality",
                "1x1=3,70x70=7",
            ]
        )
        == 0
    )
    assert (
        Q.main(
            [
                "import",
                str(tmp_path / "forms.csv"),
                "--key",
                str(pack / "key.csv"),
                "--study",
                "ablation_patchgan",
                "--runs",
                str(runs),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "format google_forms" in out and "raters:" in out and "human_mos" in out
    assert (
        Q.main(["simulate", "--key", str(pack / "key.csv"), "--out", str(tmp_path / "x.csv"), "--quality", "1x1=3"])
        == 2
    )
    assert "--quality lacks variant(s) ['70x70']" in capsys.readouterr().err
