"""Outputs made elsewhere, scored beside a study's variants (--import-outputs, studies/runner/imported.py): the
exported truths imported back score the real-photo ceiling and SSIM 1, a blurred copy scores worse and the paired
comparison says so, a trained run's own saved outputs reproduce its per-item values, every bad folder is one line
that leaves results.csv byte-identical, and a re-import of the same files changes nothing."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageFilter

from studies import run as runner

STUDY = "ablation_patchgan"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Two smoke runs (1x1-s0, 70x70-s0; 8 test items at 32 px) and the study's exported data."""
    root = tmp_path_factory.mktemp("imports")
    out = root / "runs"
    base = [STUDY, "--profile", "smoke", "--out", str(out), "--no-progress"]
    assert runner.main([*base, "--only", "1x1-s0,70x70-s0"]) == 0
    assert runner.main([STUDY, "--profile", "smoke", "--export-data", str(root / "data")]) == 0
    return root, out, base


def _copy(out, tmp_path, base):
    """A copy of the study's runs to import into, and the arguments that point at it."""
    work = tmp_path / "runs"
    shutil.copytree(out, work)
    return work, [*base[:4], str(work), "--no-progress"]


def _import(base, *extra):
    return runner.main([*base, *extra])


def _final(out, variant, metric):
    res = pd.read_csv(out / STUDY / "results.csv")
    rows = res[(res.variant == variant) & (res.metric == metric) & (res.split == "test")]
    return rows.value.to_numpy()


def test_exported_truths_score_the_ceiling_and_ssim_one(study, tmp_path, capsys, monkeypatch):
    root, out, base = study
    work, base = _copy(out, tmp_path, base)
    assert _import(base, "--import-outputs", f"Truth={root / 'data' / 'images' / 'test'}") == 0
    printed = capsys.readouterr().out
    assert "[Truth-s0] scored: 8 outputs" in printed and "(item id)" in printed
    ceiling = json.loads((work / STUDY / "ceiling.json").read_text())
    for metric in ("fcn_pixel_acc", "fcn_class_acc", "fcn_class_iou"):
        assert _final(work, "Truth", metric) == pytest.approx([ceiling[metric]], abs=0), metric
    assert _final(work, "Truth", "ssim") == pytest.approx([1.0])
    runs = pd.read_csv(work / STUDY / "runs.csv").set_index("run_id")
    assert runs.loc["Truth-s0", "kind"] == "imported" and len(runs.loc["Truth-s0", "outputs_sha256"]) == 64
    assert runs.loc["Truth-s0", "source"] == str((root / "data" / "images" / "test").resolve())
    assert sorted(p.name for p in (work / STUDY / "Truth-s0" / "samples" / "test").iterdir())[:3] == [
        "000020_input.png",
        "000020_output.png",
        "000020_truth.png",
    ]
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("GANBENCH_RUNS", str(work))
    app = AppTest.from_file(str(Path(__file__).parents[1] / "dashboard" / "app.py"), default_timeout=60)
    app.query_params["study"] = STUDY
    app.run()
    assert "Truth" in set(app.dataframe[0].value.variant)  # the Leaderboard
    app.switch_page("views/samples.py").run()
    assert not app.exception and len(app.get("image")) == 2 + 3  # input, truth; 1x1, 70x70 and the import  # fmt: skip


def test_a_blurred_copy_is_worse_and_the_paired_comparison_says_so(study, tmp_path, capsys):
    root, out, base = study
    work, base = _copy(out, tmp_path, base)
    truth = root / "data" / "images" / "test"
    for name, blur in (("truth", 0), ("blur", 2)):
        for s in range(3):  # three "seeds" of the same outputs: the item share alone limits the comparison
            d = tmp_path / name / f"s{s}"
            d.mkdir(parents=True)
            for p in truth.iterdir():
                Image.open(p).filter(ImageFilter.GaussianBlur(blur)).save(d / p.name) if blur else shutil.copy(p, d)
    assert _import(base, "--import-outputs", f"Truth={tmp_path / 'truth'}", "--import-outputs",
                   f"Blur={tmp_path / 'blur'}", "--claim", "Truth > Blur on ssim") == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "HOLDS        Truth > Blur on ssim (--claim)" in printed
    comps = pd.read_csv(work / STUDY / "comparisons.csv")
    row = comps[(comps.metric == "ssim") & (comps.a == "Truth") & (comps.b == "Blur")].iloc[0]
    assert row["diff"] > 0 and row.better == "Truth" and row.seeds == 3 and row.limit == "test items"


def test_a_trained_runs_saved_outputs_reproduce_its_per_item_values(study, tmp_path):
    root, out, base = study
    work, base = _copy(out, tmp_path, base)
    assert _import(base, "--import-outputs", f"Again={work / STUDY / '70x70-s0' / 'samples' / 'test'}") == 0
    mine = pd.read_csv(work / STUDY / "70x70-s0" / "per_item.csv")
    again = pd.read_csv(work / STUDY / "Again-s0" / "per_item.csv")

    def per_item(df, metric):
        if metric == "fcn_pixel_acc":  # per-item class counts: correct pixels over labelled pixels
            count = lambda p: df[df.metric.str.startswith(p)].groupby("index").value.sum()  # noqa: E731
            return (count("fcn_tp:") / count("fcn_true:")).fillna(0).sort_index().to_numpy()
        return df[df.metric == metric].sort_values("index").value.to_numpy()

    for metric, tol in (("ssim", 0.01), ("l1", 0.01), ("fcn_pixel_acc", 0.02)):
        a, b = per_item(mine, metric), per_item(again, metric)
        assert len(a) == 8 and np.allclose(a, b, atol=tol), (metric, a, b)  # 8-bit PNG outputs: rounding only


def _truths(root, tmp_path):
    d = tmp_path / "outs"
    shutil.copytree(root / "data" / "images" / "test", d)
    return d


BAD = {
    "missing": (lambda d: (d / "000020.png").unlink(), "1 of 8 test item(s) have no output, e.g. 000020"),
    "extra": (lambda d: shutil.copy(d / "000020.png", d / "000999.png"), "match no test item of the study"),
    "duplicate": (lambda d: shutil.copy(d / "000020.png", d / "20.png"), "have more than one file, e.g. item 000020"),
    "manifest": (lambda d: (d / "manifest.json").write_text(json.dumps({"study": "other", "dataset": "x", "size": 32})),
                 "belong to study 'other'"),
    "size": (lambda d: Image.open(d / "000020.png").resize((16, 16)).save(d / "000020.png"),
             "16x16 px; the study scores 32x32"),
    "mode": (lambda d: Image.open(d / "000020.png").convert("RGBA").save(d / "000020.png"), "mode RGBA"),
    "jpeg": (lambda d: (Image.open(d / "000020.png").save(d / "000020.jpg"), (d / "000020.png").unlink()),
             ".jpg is lossy"),
    "empty": (lambda d: (d / "000020.png").write_bytes(b""), "000020.png: empty file"),
    "unreadable": (lambda d: (d / "000020.png").write_bytes(b"not a png"), "000020.png: not a readable image"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD)
def test_every_bad_folder_is_one_line_and_writes_nothing(study, tmp_path, capsys, case):
    root, out, base = study
    d = _truths(root, tmp_path)
    spoil, message = BAD[case]
    spoil(d)
    before = {p.name: p.read_bytes() for p in (out / STUDY).iterdir() if p.is_file()}
    dirs = sorted(p.name for p in (out / STUDY).iterdir())
    assert _import(base, "--import-outputs", f"Mine={d}") == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert {p.name: p.read_bytes() for p in (out / STUDY).iterdir() if p.is_file()} == before
    assert sorted(p.name for p in (out / STUDY).iterdir()) == dirs


@pytest.mark.parametrize("extra,message", [
    (["--import-outputs", "Mine"], 'expects "NAME=DIR"'),
    (["--import-outputs", "Mine=/no/such/dir"], "/no/such/dir: no such folder"),
    (["--import-outputs", "70x70=/tmp"], "'70x70' is a trained variant"),
    (["--claim", "Mine > 70x70"], '--claim expects "A > B on METRIC"'),
    (["--claim", "1x1 > 70x70 on fcn_score"], '--claim expects "A > B on METRIC"'),  # a registry key, not a metric
    (["--claim", "Nobody > 70x70 on ssim"], "names unknown variant(s) ['Nobody']"),
])  # fmt: skip
def test_bad_flags_are_one_line(study, capsys, extra, message):
    _, _, base = study
    assert _import(base, *extra) == 2
    assert message in capsys.readouterr().err


def test_resize_and_lossy_are_opt_in_and_recorded(study, tmp_path, capsys):
    root, out, base = study
    work, base = _copy(out, tmp_path, base)
    d = _truths(root, tmp_path)
    Image.open(d / "000020.png").resize((64, 64)).save(d / "000020.png")
    Image.open(d / "000021.png").save(d / "000021.jpg")
    (d / "000021.png").unlink()
    assert _import(base, "--import-outputs", f"Mine={d}", "--resize", "bicubic", "--allow-lossy") == 0
    runs = pd.read_csv(work / STUDY / "runs.csv").set_index("run_id")
    assert "resize bicubic; lossy allowed" in runs.loc["Mine-s0", "import_protocol"]


def test_reimport_is_idempotent_and_a_changed_folder_replaces_its_rows(study, tmp_path, capsys):
    root, out, base = study
    work, base = _copy(out, tmp_path, base)
    d = _truths(root, tmp_path)
    assert _import(base, "--import-outputs", f"Mine={d}") == 0
    first = (work / STUDY / "results.csv").read_bytes()
    assert _import(base, "--import-outputs", f"Mine={d}") == 0
    assert "[Mine-s0] unchanged" in capsys.readouterr().out
    assert (work / STUDY / "results.csv").read_bytes() == first
    Image.open(d / "000020.png").filter(ImageFilter.GaussianBlur(2)).save(d / "000020.png")
    assert _import(base, "--import-outputs", f"Mine={d}") == 0
    assert "[Mine-s0] replaced" in capsys.readouterr().out
    assert _final(work, "Mine", "ssim")[0] < 1.0
    assert len(_final(work, "Mine", "ssim")) == 1  # the old rows are gone


@pytest.mark.parametrize("layout,convention", [
    (lambda d, p: shutil.copy(p, d / "images" / f"{p.stem}_fake_B.png") or shutil.copy(p, d / "images" /
                                                                                       f"{p.stem}_real_A.png"),
     "junyanz test.py (<id>_fake_B)"),
    (lambda d, p: shutil.copy(p, d / "images" / f"{p.stem}_synthesized_image.png"),
     "pix2pixHD test.py (<id>_synthesized_image)"),
    (lambda d, p: shutil.copy(p, d / "synthesized_image" / p.name), "item id"),
    (lambda d, p: shutil.copy(p, d / f"{int(p.stem)}.png"), "item id"),
])  # fmt: skip
def test_the_reference_repositories_output_names_are_understood(study, tmp_path, capsys, layout, convention):
    root, out, base = study
    work, base = _copy(out, tmp_path, base)
    d = tmp_path / "results"
    for sub in ("images", "synthesized_image"):
        (d / sub).mkdir(parents=True)
    for p in sorted((root / "data" / "images" / "test").iterdir()):
        layout(d, p)
    for sub in ("images", "synthesized_image"):
        if not any((d / sub).iterdir()):
            (d / sub).rmdir()
    assert _import(base, "--import-outputs", f"Theirs={d}") == 0
    assert f"({convention})" in capsys.readouterr().out
    assert _final(work, "Theirs", "ssim") == pytest.approx([1.0])


def test_an_exported_cyclegan_folder_is_paired_data_for_pix2pix_and_paired_metrics(study, tmp_path, capsys):
    """The export's cyclegan/ folder (A and B of an item share its id): pix2pix trains on it and SSIM scores it;
    the preflight says which pairing it found."""
    root, _, _ = study
    args = [STUDY, "--profile", "smoke", "--out", str(tmp_path), "--only", "70x70-s0", "--no-progress", "--data",
            str(root / "data" / "cyclegan"), "--set", 'metrics=("ssim", "l1")']  # fmt: skip
    assert runner.main(args) == 0
    out = capsys.readouterr().out
    assert "cyclegan test: paired by file stem (8 items); pix2pix reads it paired" in out
    assert len(_final(tmp_path, "70x70", "ssim")) == 1


def test_folder_scoring_without_a_study_matches_the_runs_values(study, tmp_path, capsys):
    """python -m metrics.score: a run's saved outputs against the exported truths, by stem, give the run's own
    values (8-bit PNG rounding aside), per item and with intervals; the FCN-score only with labels and a
    segmenter, and a bad folder is one line."""
    from metrics import score

    root, out, _ = study
    outputs, data = out / STUDY / "70x70-s0" / "samples" / "test", root / "data"
    seg = next((out / ".cache").glob("segmenter-*.pt"))
    args = ["--outputs", str(outputs), "--truth", str(data / "images" / "test"), "--out", str(tmp_path / "s.csv")]
    assert score.main([*args, "--labels", str(data / "labels" / "test"), "--segmenter", str(seg)]) == 0
    summary = pd.read_csv(tmp_path / "s.summary.csv").set_index("metric")
    for metric in ("ssim", "l1", "fcn_pixel_acc", "fcn_class_iou"):
        assert summary.loc[metric, "value"] == pytest.approx(_final(out, "70x70", metric)[0], abs=0.005), metric
        assert summary.loc[metric, "low"] < summary.loc[metric, "value"] < summary.loc[metric, "high"]
    per_item = pd.read_csv(tmp_path / "s.csv", dtype={"item": str})
    assert sorted(per_item[per_item.metric == "ssim"].item) == [f"{i:06d}" for i in range(20, 28)]
    assert "ganbench samples/test (<id>_output)" in capsys.readouterr().out
    assert score.main(args[:4] + ["--metrics", "ssim", "fcn_score"]) == 0
    assert "fcn_score left out: it needs --labels DIR" in capsys.readouterr().out
    (tmp_path / "few").mkdir()
    for p in sorted(outputs.glob("*_output.png"))[:5]:
        shutil.copy(p, tmp_path / "few" / p.name)
    assert score.main(["--outputs", str(tmp_path / "few"), "--truth", str(data / "images" / "test")]) == 2
    assert "3 of 8 test item(s) have no output" in capsys.readouterr().err


def test_a_reimport_with_fewer_seeds_removes_the_seeds_that_are_gone(study, tmp_path, capsys):
    root, out, base = study
    work, base = _copy(out, tmp_path, base)
    for s in range(2):
        shutil.copytree(root / "data" / "images" / "test", tmp_path / "two" / f"s{s}")
    assert _import(base, "--import-outputs", f"Mine={tmp_path / 'two'}") == 0
    shutil.rmtree(tmp_path / "two" / "s1")
    assert _import(base, "--import-outputs", f"Mine={tmp_path / 'two'}") == 0
    assert "[Mine-s1] removed" in capsys.readouterr().out
    assert not (work / STUDY / "Mine-s1").exists() and len(_final(work, "Mine", "ssim")) == 1
