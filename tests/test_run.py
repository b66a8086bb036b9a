"""The study runner end to end on the smoke profile: tables, skip, resume, failure isolation, shards."""

import json

import pandas as pd
import pytest
import torch

from metrics.tables import RESULTS_COLUMNS, SchemaError, merge_results, read_results
from studies import run as runner
from studies.datasets import make_dataset
from studies.runner import execute
from studies.runner.build import build_recipe
from studies.spec import ConfigError, Profile, RunSpec, Study, override, parse_set


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    code = runner.main(["ablation_patchgan", "--profile", "smoke", "--out", str(out), "--no-progress"])
    return out, code


def test_smoke_study_writes_both_tables(smoke, capsys):
    out, code = smoke
    assert code == 0
    res = read_results(out / "ablation_patchgan" / "results.csv")
    assert list(res.columns) == RESULTS_COLUMNS
    test = res[res.split == "test"]
    assert set(test.run_id) == {"1x1-s0", "16x16-s0", "70x70-s0", "286x286-s0"}
    expected = {"fcn_pixel_acc", "fcn_class_acc", "fcn_class_iou", "ssim", "ms_ssim", "l1", "psnr", "hist_L",
                "hist_a", "hist_b", "swd_avg", "swd_32", "swd_16", "ms_ssim_diversity"}  # fmt: skip
    assert set(test.metric) == expected
    assert set(res[res.split == "ceiling"].metric) == {"fcn_pixel_acc", "fcn_class_acc", "fcn_class_iou"}
    runs = pd.read_csv(out / "ablation_patchgan" / "runs.csv")
    assert set(runs.status) == {"done"} and runs["model.d.n_layers"].tolist() == [1, 1, 2, 3]
    assert runs["D_receptive_field"].tolist() == [1, 16, 34, 70]
    assert {"git_commit", "torch", "device", "wall_seconds", "train_images_per_s", "metric_protocol"} <= set(runs)
    for run_id in runs.run_id:
        d = out / "ablation_patchgan" / run_id
        assert (d / "done").exists() and (d / "config.json").exists() and (d / "checkpoint.pt").exists()
        assert json.loads((d / "config.json").read_text())["model"]["d"]["n_layers"] >= 1


@pytest.mark.parametrize("study,runs", [("unet_variants", 4), ("labels2photo_generators", 6)])
def test_generator_studies_run_end_to_end_with_their_cost_columns(tmp_path, capsys, study, runs):
    assert runner.main([study, "--profile", "smoke", "--out", str(tmp_path), "--no-progress"]) == 0
    text = capsys.readouterr().out
    res = read_results(tmp_path / study / "results.csv")
    train = res[res.split == "train"]
    assert train[train.metric == "params_m"].run_id.nunique() == runs  # what each row costs
    assert train[train.metric == "train_images_per_s"].value.gt(0).sum() == runs
    status = pd.read_csv(tmp_path / study / "runs.csv").set_index("run_id")
    assert (status.status == "done").all() and len(status) == runs
    assert "params_m" in text and "train_images_per_s" in text
    if study == "labels2photo_generators":  # the VGG rows need a weight file: left out, and said so
        assert "[SPADE + VGG-s0] skipped: needs vgg19 weights" in text and "SPADE + VGG-s0" not in status.index
        assert set(res[res.split == "test"].metric) >= {"fcn_pixel_acc", "ssim", "swd_avg", "latent_ms_ssim"}
        assert status.loc["pix2pixHD (global + local)-s0", "params/L"] > 0
        assert status.loc["pix2pixHD (global + local)-s0", "stage"] == "joint"
    else:
        assert status.loc["D 16x16 output-s0", "D_receptive_field"] == 78


def test_finished_runs_are_skipped(smoke, capsys):
    out, _ = smoke
    before = (out / "ablation_patchgan" / "70x70-s0" / "checkpoint.pt").stat().st_mtime_ns
    assert runner.main(["ablation_patchgan", "--profile", "smoke", "--out", str(out), "--only", "70x70-s0",
                        "--no-progress"]) == 0  # fmt: skip
    assert "done already, skipped" in capsys.readouterr().out
    assert (out / "ablation_patchgan" / "70x70-s0" / "checkpoint.pt").stat().st_mtime_ns == before
    res = read_results(out / "ablation_patchgan" / "results.csv")
    assert res.duplicated(["run_id", "step", "split", "metric"]).sum() == 0  # idempotent tables
    assert set(res[res.split == "test"].run_id) == {"1x1-s0", "16x16-s0", "70x70-s0", "286x286-s0"}


def test_failure_is_isolated_and_resume_continues(tmp_path, monkeypatch, capsys):
    real_execute = execute.execute

    def flaky(spec, run_dir, builds, progress, desc):
        if run_dir.name == "16x16-s0":
            raise RuntimeError("boom")
        return real_execute(spec, run_dir, builds, progress, desc)

    monkeypatch.setattr(execute, "execute", flaky)
    args = ["ablation_patchgan", "--profile", "smoke", "--out", str(tmp_path), "--only", "1x1-s0,16x16-s0",
            "--no-progress"]  # fmt: skip
    assert runner.main(args) == 1
    runs = pd.read_csv(tmp_path / "ablation_patchgan" / "runs.csv").set_index("run_id")
    assert runs.loc["16x16-s0", "status"] == "failed" and "boom" in runs.loc["16x16-s0", "error"]
    assert runs.loc["1x1-s0", "status"] == "done"
    assert "RuntimeError: boom" in (tmp_path / "ablation_patchgan" / "16x16-s0" / "error.txt").read_text()
    monkeypatch.setattr(execute, "execute", real_execute)
    assert runner.main(args) == 0  # the failed run is retried, the finished one skipped
    runs = pd.read_csv(tmp_path / "ablation_patchgan" / "runs.csv").set_index("run_id")
    assert set(runs.status) == {"done"}


def test_interrupted_run_resumes_from_checkpoint(tmp_path, capsys, monkeypatch):
    from models.train import Engine

    args = ["ablation_patchgan", "--profile", "smoke", "--out", str(tmp_path), "--only", "1x1-s0", "--no-progress"]
    real_step = Engine.step

    def killed_at_step_3(self, recipe, next_batch, t, grad_norm=True):
        if t.step == 3:  # after the checkpoint at 8 images (step 2)
            raise KeyboardInterrupt
        return real_step(self, recipe, next_batch, t, grad_norm)

    monkeypatch.setattr(Engine, "step", killed_at_step_3)
    with pytest.raises(KeyboardInterrupt):
        runner.main(args)
    monkeypatch.setattr(Engine, "step", real_step)
    capsys.readouterr()
    assert runner.main(args) == 0
    assert "resuming" in capsys.readouterr().out
    steps = pd.read_csv(tmp_path / "ablation_patchgan" / "1x1-s0" / "losses.csv").step.tolist()
    assert steps == [0, 1, 2, 3]


def test_dry_run_shard_and_list(capsys):
    assert runner.main(["ablation_loss", "--dry-run", "--seeds", "0,1", "--shard", "1/3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ablation_loss [quick]: 3 run(s)")
    ids = [ln.split(":")[0].strip() for ln in lines[1:]]
    assert ids == ["L1-s1", "cGAN-s0", "L1+GAN-s1"]  # runs 1, 4, 7 of 10
    assert "'model.loss': 'l1'" in lines[1]
    assert runner.main(["--list"]) == 0
    assert "ablation_generator" in capsys.readouterr().out
    assert runner.main(["ablation_loss", "--dry-run", "--set", "train.nope=1"]) == 2
    assert "TrainConfig has no field 'nope' (in train.nope); valid: images," in capsys.readouterr().err


def test_spec_override_and_study_rules():
    spec = override(RunSpec(), "model.d.n_layers", 5)
    assert spec.model.d.n_layers == 5 and RunSpec().model.d.n_layers == 3
    with pytest.raises(ConfigError, match="valid: kind, n_layers, ndf, norm"):
        override(RunSpec(), "model.d.layers", 5)
    assert override(RunSpec(), *parse_set("train.images=10")).train.images == 10
    assert override(RunSpec(), *parse_set("data.name=123")).data.name == "123"  # a str field keeps the text
    assert override(RunSpec(), *parse_set("train.opt.d.lr=1")).train.opt.d.lr == 1.0
    assert override(RunSpec(), *parse_set("train.opt.g.betas=[0, 0.99]")).train.opt.g.betas == (0.0, 0.99)
    assert override(RunSpec(), *parse_set("eval.inception_weights=/w.pt")).eval.inception_weights == "/w.pt"
    assert override(RunSpec(), *parse_set("metrics=ssim")).metrics == ("ssim",)  # names, comma-separated
    assert override(RunSpec(), *parse_set("metrics=l1,ssim")).metrics == ("l1", "ssim")
    assert override(RunSpec(), *parse_set("metrics=('l1', 'ssim')")).metrics == ("l1", "ssim")
    for bad, message in (("train.images=abc", "train.images expects int, got 'abc'"),
                         ("train.images=1.5", "expects int, got 1.5"), ("model.loss=l2", "one of 'l1', 'gan'"),
                         ("train.amp=1", "expects bool or None, got 1"), ("model.d=3", "group of fields"),
                         ("train.opt.g.betas=(1,)", "expects tuple"), ("metrics=3", "expects tuple")):  # fmt: skip
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
            override(RunSpec(), *parse_set(bad))
    with pytest.raises(ValueError, match="key=value"):
        parse_set("steps")
    with pytest.raises(ValueError, match="same fields"):
        Study(
            "bad",
            "?",
            RunSpec(),
            {"a": {"model.loss": "l1"}, "b": {"model.d.n_layers": 2}},
            {"quick": Profile()},
        )
    study = Study("ok", "?", RunSpec(), {"a": {"model.loss": "l1"}, "b": {"model.loss": "gan"}},
                  {"quick": Profile({"train.images": 3})}, seeds=(0, 1))  # fmt: skip
    runs = study.runs("quick")
    assert [r[0] for r in runs] == ["a-s0", "a-s1", "b-s0", "b-s1"]
    assert runs[3][3].train.seed == 1 and runs[3][3].model.loss == "gan" and runs[0][3].train.images == 3


def test_results_schema_errors_and_merge(tmp_path):
    bad = tmp_path / "results.csv"
    bad.write_text("study,run_id\nx,y\n")
    with pytest.raises(SchemaError, match=r"results.csv: missing column"):
        read_results(bad)
    row = dict(zip(RESULTS_COLUMNS, ["s", "r", "v", 0, 1, "test", "ssim", 0.5]))
    bad.write_text(",".join(RESULTS_COLUMNS) + "\n" + ",".join(map(str, {**row, "value": "oops"}.values())) + "\n")
    with pytest.raises(SchemaError, match="column 'value' has non-numeric value 'oops'"):
        read_results(bad)
    old = pd.DataFrame([row, {**row, "run_id": "other"}])
    merged = merge_results(old, pd.DataFrame([{**row, "value": 0.7}]))
    assert len(merged) == 2 and merged.set_index("run_id").loc["r", "value"] == 0.7


def test_studies_do_not_share_profile_state():
    from studies.catalogue import ablation_generator, ablation_loss, ablation_patchgan
    from studies.catalogue.profiles import QUICK

    assert "model.d.n_layers" not in QUICK  # no study mutates the shared defaults
    loss_runs = ablation_loss.STUDY.runs("quick")
    assert {spec.model.d.n_layers for *_, spec in loss_runs} == {2}
    assert ablation_generator.STUDY.runs("paper")[0][3].model.d.n_layers == 3  # paper keeps the 70x70 D
    assert [spec.model.d.n_layers for *_, spec in ablation_patchgan.STUDY.runs("paper")] == [3, 1, 3, 5]


def test_init_depends_only_on_the_run_seed():
    spec = override(override(RunSpec(), "model.g.num_downs", 5), "model.g.ngf", 4)
    data = make_dataset(override(spec, "data.size", 32).data, "train", augment=True)
    torch.manual_seed(123)
    a = build_recipe(spec, data)
    torch.rand(1000)  # whatever a previous run consumed
    b = build_recipe(spec, data)
    for p, q in zip(a.nets["G"].parameters(), b.nets["G"].parameters()):
        assert torch.equal(p, q)
    c = build_recipe(override(spec, "train.seed", 1), data)
    assert not torch.equal(next(a.nets["G"].parameters()), next(c.nets["G"].parameters()))


def test_statistics_files_verdicts_and_report(smoke, capsys, tmp_path):
    out, _ = smoke
    d = out / "ablation_patchgan"
    cells, comps, claims = (pd.read_csv(d / f"{n}.csv") for n in ("intervals", "comparisons", "claims"))
    assert set(cells.variant) == {"1x1", "16x16", "70x70", "286x286"}
    assert ((cells.low <= cells.estimate) | cells.low.isna()).all() and cells.low.notna().sum() >= 4 * 8
    res = read_results(d / "results.csv")
    fcn = res[(res.metric == "fcn_pixel_acc") & (res.variant == "70x70")].value.iloc[0]
    assert cells.set_index(["variant", "metric"]).estimate[("70x70", "fcn_pixel_acc")] == pytest.approx(fcn)
    assert len(comps) == 6 * comps.metric.nunique() and {"p_holm", "effect_dz", "low", "high"} <= set(comps)
    assert claims.claim.tolist()[0] == "70x70 > 16x16 > 1x1" and set(claims.verdict) <= {"holds", "contradicted",
                                                                                        "undecided"}  # fmt: skip
    assert runner.main(["ablation_patchgan", "--profile", "smoke", "--out", str(out), "--no-progress", "--stats"]) == 0
    printed = capsys.readouterr().out
    assert "Published claims" in printed and "All comparisons" in printed and "[95% interval]" in printed
    from studies import report

    assert report.main(["ablation_patchgan", "--out", str(out), "--dest", str(tmp_path)]) == 0
    md, tex = (tmp_path / "ablation_patchgan.md").read_text(), (tmp_path / "ablation_patchgan.tex").read_text()
    assert "| variant | fcn_pixel_acc |" in md and "70x70 > 16x16 > 1x1" in md and "(published)" in md
    assert r"\begin{tabular}" in tex and r"fcn\_pixel\_acc" in tex and r"70x70 $>$ 16x16" in tex
    assert report.main(["nope", "--out", str(out)]) == 2


def test_a_study_builds_each_dataset_and_recipe_once(tmp_path, monkeypatch):
    """The preflight, the runs, the segmenter and the ceiling share what was built: one train set, one test set
    and one segmenter train set for four runs of the same data, and one recipe per run."""
    from studies.runner import build

    made, built = [], []
    real_make, real_build = build.make_dataset, build.build_recipe
    monkeypatch.setattr(build, "make_dataset", lambda *a, **k: made.append((a[1], k)) or real_make(*a, **k))
    monkeypatch.setattr(build, "build_recipe", lambda spec, data: built.append(spec) or real_build(spec, data))
    args = ["ablation_patchgan", "--profile", "smoke", "--out", str(tmp_path), "--no-progress"]
    assert runner.main(args) == 0
    assert sorted(split for split, _ in made) == ["test", "train", "train"], made  # train: augmented + segmenter's
    assert len(built) == 4  # four runs, each recipe built by the preflight and trained as it was built
    made.clear(), built.clear()
    assert runner.main(args) == 0  # all done: nothing is trained, the finished runs' recipes are not kept
    assert len(built) == 4 and len(made) == 3  # checked once more; the ceiling's segmenter is read from disk


def test_checking_inputs_leaves_no_trace_in_the_recipe():
    """check_inputs translates two items before training; batch statistics it moves are put back."""
    from torch import nn

    from models.contract import Progress
    from studies.runner.evaluation import check_inputs

    class Recipe:
        nets = {"G": nn.BatchNorm2d(3)}

        def translate(self, batch, t):
            return {"fake_b": self.nets["G"](batch["b"])}  # train mode: updates the running statistics

    recipe, data = Recipe(), [{"b": torch.rand(3, 8, 8) * 5 + 2, "index": torch.tensor(i)} for i in range(2)]
    before = {k: v.clone() for k, v in recipe.nets["G"].state_dict().items()}
    check_inputs(recipe, data, {}, Progress(0, 0, 1))
    after = recipe.nets["G"].state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    recipe.translate(data[0] | {"b": data[0]["b"][None]}, Progress(0, 0, 1))
    assert not torch.equal(before["running_mean"], recipe.nets["G"].running_mean)  # the check was not vacuous
