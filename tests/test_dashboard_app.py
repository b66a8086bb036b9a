"""Streamlit AppTest of every dashboard page on fixture runs, and its empty and broken states."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


def _app(runs, monkeypatch, page=None, query=None):
    monkeypatch.setenv("GANBENCH_RUNS", str(runs))
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_leaderboard(runs, monkeypatch):
    at = _app(runs, monkeypatch)
    assert at.title[0].value == "Leaderboard" and at.caption[0].value.startswith("Every variant")
    df = at.dataframe[0].value
    assert set(df.variant) == {"1x1", "70x70", "L1", "L1+cGAN"} and len(at.multiselect) == 4  # study, profile, ...
    at.multiselect(key="lb_study").set_value(["ablation_loss"]).run()
    assert set(at.dataframe[0].value.variant) == {"L1", "L1+cGAN"}


def test_study_page_and_query_params(runs, monkeypatch):
    at = _app(runs, monkeypatch, "study", {"study": "ablation_loss", "metric": "l1"})
    assert at.subheader[0].value == "Question of ablation_loss?"
    table = at.dataframe[0].value
    assert "published (another dataset)" in set(table.kind) and "ceiling (real photos)" in set(table.kind)
    assert at.selectbox(key="pick_metric").value == "l1" and at.query_params["study"] == "ablation_loss"
    assert set(at.dataframe[1].value.field) == {"model.loss"}  # config differences from the base


def test_samples_curves_compare(runs, monkeypatch):
    at = _app(runs, monkeypatch, "samples", {"study": "ablation_patchgan"})
    assert len(at.get("image")) == 2 + 4 and not at.warning  # input, truth, 4 runs
    at = _app(runs, monkeypatch, "curves", {"study": "ablation_patchgan"})
    assert at.multiselect(key="curve_runs").value == ["1x1-s0", "1x1-s1"] and at.slider(key="curve_smooth")
    at = _app(runs, monkeypatch, "compare")
    assert set(at.dataframe[0].value.metric) == {"fcn_pixel_acc", "l1", "ssim"}


def test_human_and_throughput(runs, monkeypatch):
    at = _app(runs, monkeypatch, "human")
    assert "No human evaluation imported yet" in at.info[0].value
    at = _app(runs, monkeypatch, "throughput")
    assert at.dataframe[0].value["images/s"].tolist() == [512.0]


@pytest.mark.parametrize("page", [None, "study", "samples", "curves", "human", "throughput", "compare"])
def test_empty_runs_folder(tmp_path, monkeypatch, page):
    at = _app(tmp_path / "empty", monkeypatch, page)
    assert at.info or at.warning  # an explained empty state, never an exception


def test_broken_files_are_reported_and_the_rest_works(runs, monkeypatch):
    (runs / "ablation_loss" / "results.csv").write_text("study,run_id,step\nx,y,notanumber\n")
    (runs / "ablation_patchgan" / "70x70-s0" / "samples" / "test" / "000208_output.png").unlink()
    (runs / "ablation_patchgan" / "1x1-s0" / "losses.csv").write_text("")
    at = _app(runs, monkeypatch)
    assert any("ablation_loss/results.csv: missing column" in w.value for w in at.warning)
    assert set(at.dataframe[0].value.variant) == {"1x1", "70x70"}
    at = _app(runs, monkeypatch, "samples", {"study": "ablation_patchgan"})
    assert any("70x70-s0: image missing" in w.value for w in at.warning)
    at = _app(runs, monkeypatch, "curves", {"study": "ablation_patchgan"})
    assert any("1x1-s0/losses.csv: not a readable CSV" in w.value for w in at.warning)


def test_human_page_after_an_import(runs, monkeypatch, tmp_path):
    from metrics import questionnaire as Q
    from metrics import response_formats as rf

    pack = tmp_path / "pack"
    Q.export(runs, "ablation_patchgan", "rating", 3, 0, pack)
    key = Q.load_key(pack / "key.csv")
    rf.write(rf.simulate(key, {"1x1": 3.0, "70x70": 7.0}, n_raters=8, careless=2), "long", tmp_path / "r.csv", "?")
    Q.import_responses(tmp_path / "r.csv", pack / "key.csv", "ablation_patchgan", runs)
    at = _app(runs, monkeypatch, "human")
    summary = at.dataframe[0].value.set_index("variant")
    assert summary.loc["70x70", "human_mos"] > summary.loc["1x1", "human_mos"]
    assert at.dataframe[1].value.excluded.tolist() == [1]  # the straight-liner


def test_study_page_shows_the_claims_over_the_rounds(runs, monkeypatch):
    """A study run --until-decided: the claim line names its looks and stop, and the history chart is drawn."""
    import pandas as pd

    d = runs / "ablation_patchgan"
    pd.DataFrame([{"claim": "70x70 > 1x1", "metric": "ssim", "source": "", "verdict": "undecided",
                   "evidence": "70x70 vs 1x1 at 5 seeds: +0.01", "plan": "", "looks": "3, 5",
                   "thresholds": "0.0005, 0.009", "decided_at": None, "stopped": "the item share alone is too large"}]
                 ).to_csv(d / "claims.csv", index=False)  # fmt: skip
    pd.DataFrame([{"claim": "70x70 > 1x1 (ssim)", "metric": "ssim", "a": "70x70", "b": "1x1", "round": k,
                   "seeds": s, "diff": 0.01, "low": -0.01, "high": 0.03, "p": 0.3, "threshold": lv, "decided": False}
                  for k, s, lv in ((1, 3, 0.0005), (2, 5, 0.009))]).to_csv(d / "looks.csv", index=False)  # fmt: skip
    at = _app(runs, monkeypatch, "study", {"study": "ablation_patchgan"})
    text = " ".join(m.value for m in at.markdown)
    assert "looks at 3, 5 seeds; stopped: the item share alone is too large" in text
    assert "The claims over the rounds" in text
    specs = [e.proto.spec for e in at.main if e.type == "vega_lite_chart"]
    assert any('"facet"' in spec and "seeds at the look" in spec for spec in specs)
