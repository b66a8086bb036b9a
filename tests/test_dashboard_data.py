"""dashboard/data.py: pure pandas, tested without Streamlit on a fixture runs folder."""

import pandas as pd
import pytest

from dashboard import data


def test_load_and_leaderboard(runs):
    loaded = data.load(runs)
    assert loaded.problems == [] and set(loaded.studies) == {"ablation_patchgan", "ablation_loss"}
    lb = data.leaderboard(loaded.results, loaded.runs)
    row = lb[(lb.study == "ablation_patchgan") & (lb.variant == "70x70")].iloc[0]
    assert row["fcn_pixel_acc"] == pytest.approx(0.835)  # final step only, mean of seeds 0.83 and 0.84
    assert row["fcn_pixel_acc std"] == pytest.approx(pd.Series([0.83, 0.84]).std())
    assert row.seeds == 2 and row.dataset == "synthetic_scenes" and row.recipe == "pix2pix"
    best = data.best_rows(lb, ["fcn_pixel_acc", "l1"])
    assert lb.loc[best["fcn_pixel_acc"], "variant"] == "70x70"  # higher is better
    assert lb.loc[best["l1"], "variant"] == "70x70"  # lower is better
    assert data.metric_label("l1") == "l1 ↓" and data.metric_label("ssim") == "ssim ↑"


def test_study_table_keeps_ours_ceiling_and_published_apart(runs):
    loaded = data.load(runs)
    t = data.study_table(loaded.results, "ablation_patchgan", loaded.studies["ablation_patchgan"])
    assert t.kind.tolist() == ["ours", "ours", "ceiling (real photos)", "published (another dataset)",
                               "published (another dataset)"]  # fmt: skip
    assert t.iloc[1].fcn_pixel_acc == "0.835 ± 0.007"
    assert t[t.kind.str.startswith("published")].set_index("variant").fcn_pixel_acc.to_dict() == {
        "1x1": "0.39",
        "70x70": "0.66",
    }


def test_bars_diffs_curves_samples_compare(runs):
    loaded = data.load(runs)
    from dashboard import verdicts

    final = data.final_rows(loaded.results[loaded.results.study == "ablation_patchgan"])
    pts = verdicts.points(final, pd.DataFrame(), "fcn_pixel_acc", loaded.studies["ablation_patchgan"])
    ours = pts[pts.kind == "ours"].set_index("variant")
    assert ours.loc["1x1", "mean"] == pytest.approx(0.615) and ours.loc["1x1", "low"] == ours.loc["1x1", "mean"]
    assert set(pts[pts.kind == "published"].source) == {"Isola et al. 2017, Table 3"}
    diffs = data.config_diffs(loaded.runs, "ablation_patchgan", loaded.studies["ablation_patchgan"])
    assert set(diffs[diffs.run_id == "1x1-s0"].field) == {"model.d.n_layers"}
    assert data.metric_curves(runs, "ablation_patchgan", ["1x1-s0"]).empty  # evaluated once: no curve
    curves, problems = data.curves(runs, "ablation_patchgan", ["1x1-s0", "missing-s0"])
    assert set(curves.series) == {"d/real", "g/l1", "g/grad_norm"} and "missing-s0/losses.csv" in problems[0]
    smoothed = data.smooth(curves, 0.5)
    assert smoothed[smoothed.series == "g/l1"].value.iloc[-1] > 20.0  # EMA lags the raw last value
    files = data.sample_files(runs, "ablation_patchgan", "70x70-s1")
    assert set(files) == {208, 209} and set(files[208]) == {"input", "truth", "output"}
    cmp = data.compare(loaded.results, "ablation_patchgan", "1x1-s0", "ablation_patchgan", "70x70-s0").set_index(
        "metric"
    )
    assert cmp.loc["fcn_pixel_acc", "better"] == "b" and cmp.loc["l1", "better"] == "b"
    assert cmp.loc["fcn_pixel_acc", "delta"] == pytest.approx(0.22)


def test_robustness(runs, tmp_path):
    assert (
        data.load(tmp_path / "nowhere")
        .problems[0]
        .endswith("runs folder not found (run `make run` first, or pass --runs PATH)")
    )
    (runs / "ablation_loss" / "results.csv").write_text('study,run_id\n"unterminated')
    (runs / "still_running").mkdir()
    loaded = data.load(runs)
    assert any("ablation_loss/results.csv" in p for p in loaded.problems)
    assert any("still_running/results.csv: not written yet" in p for p in loaded.problems)
    assert set(loaded.results.study) == {"ablation_patchgan"}  # the rest still loads
    (runs / "bench" / "results.csv").write_text("garbage,\n1")
    df, problems = data.load_bench(runs)
    assert df.empty and "bench/results.csv" in problems[0]
    assert data.human_rows(loaded.results).empty


def test_bench_and_human_rows(runs):
    df, problems = data.load_bench(runs)
    assert problems == [] and df.value.tolist() == [512.0]
    human = pd.DataFrame([["s", "human", "v", 0, 0, "human", "human_mos", 6.5]], columns=data.RESULTS_COLUMNS)
    assert data.human_rows(human).human_mos.tolist() == [6.5]


def test_four_panels_sum_each_groups_terms(runs):
    curves, _ = data.curves(runs, "ablation_patchgan", ["1x1-s0"])
    panels = data.four_panels(curves)
    assert set(panels.series) == {"G loss", "D loss", "G grad norm"}  # the fixture logs no d/grad_norm
    assert panels[panels.series == "G loss"].value.tolist() == [40.0, 30.0, 20.0]  # g/l1 only; grad norm excluded


def test_study_table_shows_the_training_columns_a_study_names():
    rows = [["s", f"{v}-s0", v, 0, 10, split, m, val] for v, split, m, val in (
        ("A", "test", "ssim", 0.5), ("A", "train", "params_m", 7.5), ("A", "train", "d_grad_spikes", 2.0),
        ("B", "test", "ssim", 0.6), ("B", "train", "params_m", 93.0))]  # fmt: skip
    results = pd.DataFrame(rows, columns=["study", "run_id", "variant", "seed", "step", "split", "metric", "value"])
    t = data.study_table(results, "s", {"variants": ["A", "B"], "table_extra": ["params_m"]}).set_index("variant")
    assert "params_m" in t and "d_grad_spikes" not in t and t.loc["B", "params_m"].startswith("93")
    assert "params_m" not in data.study_table(results, "s", {"variants": ["A", "B"]})


def test_precision_note_names_what_limits_the_intervals():
    from dashboard import verdicts

    cells = pd.DataFrame({"variant": ["a", "b", "c"], "metric": "ssim", "limit": ["seeds", "test items", "seeds"]})
    note = verdicts.precision_note(cells, "ssim")
    assert "seeds for 2 variant(s)" in note and "test items for 1 variant(s)" in note and "more seeds do not" in note
    assert verdicts.precision_note(cells.drop(columns="limit"), "ssim") == ""  # tables written before the shares


def test_leaderboard_never_averages_across_profiles():
    rows = [["s", f"{v}-s{k}", v, k, 10, "test", "ssim", value] for v, k, value in
            (("a", 0, 0.2), ("a", 1, 0.3), ("a", 2, 0.8), ("b", 0, 0.5))]  # fmt: skip
    results = pd.DataFrame(rows, columns=["study", "run_id", "variant", "seed", "step", "split", "metric", "value"])
    runs = pd.DataFrame({"study": "s", "run_id": ["a-s0", "a-s1", "a-s2", "b-s0"], "variant": ["a", "a", "a", "b"],
                         "profile": ["smoke", "smoke", "quick", None]})  # fmt: skip
    table = data.leaderboard(results, runs).set_index(["variant", "profile"])
    assert table.loc[("a", "smoke"), "ssim"] == pytest.approx(0.25) and table.loc[("a", "smoke"), "seeds"] == 2
    assert table.loc[("a", "quick"), "ssim"] == pytest.approx(0.8) and table.loc[("b", "not recorded"), "ssim"] == 0.5
