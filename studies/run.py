"""The study runner: `python -m studies.run NAME [--profile ...] [--seeds 0,1,2] [--only RUN] [--set k=v] ...`.

Trains every run of a study (variants x seeds) through models/train.py, scores it with the metrics
package, and writes runs/<study>/results.csv and runs.csv atomically, then prints the paper-style
table (mean ± std over seeds, the published value in brackets, the real-photo FCN ceiling). Finished
runs (a `done` marker) are skipped, interrupted runs resume from their checkpoint, and a failed run is
recorded with its error while the study goes on.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pandas as pd
import torch

from metrics import METRICS, EvalContext, MetricUnavailable
from metrics.fcn_score import train_segmenter
from models.layers import receptive_field
from models.train import evaluate, resolve_device, seed_everything, train
from studies import results as R
from studies.data import make_dataset
from studies.spec import RunSpec, Study, flatten, parse_set

TABLE_METRICS = ["fcn_pixel_acc", "fcn_class_acc", "fcn_class_iou", "ssim", "ms_ssim", "l1", "psnr", "hist_L",
                 "hist_a", "hist_b", "swd_avg", "ms_ssim_diversity"]  # fmt: skip
CEILING = "ground truth (real photos)"


def list_studies() -> list[str]:
    return sorted(p.stem for p in Path(__file__).parent.glob("ablation_*.py"))


def load_study(name: str) -> Study:
    if name not in list_studies():
        raise SystemExit(f"unknown study {name!r}; known: {', '.join(list_studies())}")
    return importlib.import_module(f"studies.{name}").STUDY  # the CLI argument is the module name


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)  # fmt: skip
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


class Segmenters:
    """One FCN-score segmenter per data config, trained on real train photos on first use, cached on disk."""

    def __init__(self, cache_dir: Path, device: torch.device):
        self.cache_dir, self.device, self.nets = cache_dir, device, {}

    def get(self, spec: RunSpec):
        data = dataclasses.replace(spec.data, jitter=False, view="paired")
        key = (data, spec.eval.segmenter_epochs)
        if key not in self.nets:
            train_set = make_dataset(data, "train")
            print(f"[segmenter] {train_set.identity} at {data.size}px, {spec.eval.segmenter_epochs} epochs (cached)")
            self.nets[key] = train_segmenter(train_set, train_set.n_classes, size=data.size,
                                             epochs=spec.eval.segmenter_epochs, seed=0, device=self.device,
                                             cache_dir=self.cache_dir)  # fmt: skip
        return self.nets[key]


def make_metrics(spec: RunSpec, ctx: EvalContext) -> dict:
    out = {}
    for name in spec.metrics:
        try:
            out[name] = (METRICS[name], METRICS[name].make(ctx))
        except MetricUnavailable as e:
            print(f"[metrics] skipping {name}: {e}")
    return out


def build_recipe(spec: RunSpec):
    """The run's nets, initialised from the run's own seed, whatever ran before in this process."""
    seed_everything(spec.train.seed)
    return spec.build()


def execute(spec: RunSpec, run_dir: Path, segmenters: Segmenters, progress: bool) -> dict:
    recipe = build_recipe(spec)
    train_set = make_dataset(spec.data, "train", augment=True)
    test_set = make_dataset(spec.data, "test")
    device = resolve_device(spec.train.device)
    ctx = EvalContext(
        device=device,
        n_classes=test_set.n_classes,
        segmenter=(lambda: segmenters.get(spec)) if test_set.n_classes else None,
        inception_weights=Path(spec.eval.inception_weights) if spec.eval.inception_weights else None,
    )
    summary = train(recipe, spec.train, train_set, run_dir, eval_data=test_set, metrics=make_metrics(spec, ctx),
                    progress=progress)  # fmt: skip
    rf = {f"{n}_receptive_field": receptive_field(recipe.nets[n]) for n in recipe.d_names}
    return summary | rf


def ceiling(spec: RunSpec, segmenters: Segmenters) -> dict[str, float]:
    """FCN-score of the segmenter on REAL test photos: the 'ground truth' row of pix2pix Table 1."""
    test_set = make_dataset(spec.data, "test")
    if "fcn_score" not in spec.metrics or not test_set.n_classes:
        return {}
    device = resolve_device(spec.train.device)
    ctx = EvalContext(device=device, n_classes=test_set.n_classes, segmenter=lambda: segmenters.get(spec))
    return evaluate(lambda b: b["b"], test_set, {"fcn_score": (METRICS["fcn_score"], METRICS["fcn_score"].make(ctx))},
                    device, spec.eval.batch_size)  # fmt: skip


def run_one(study: Study, run_id: str, variant: str, seed: int, spec: RunSpec, out: Path, segs: Segmenters,
            progress: bool) -> dict:  # fmt: skip
    run_dir = out / study.name / run_id
    status_path = run_dir / "run.json"
    if (run_dir / "done").exists():
        print(f"[{run_id}] done already, skipped")
        return json.loads(status_path.read_text()) if status_path.exists() else {"status": "done"}
    run_dir.mkdir(parents=True, exist_ok=True)
    config = {"recipe": spec.recipe, **dataclasses.asdict(spec)}
    R.write_json_atomic(config, run_dir / "config.json")
    print(f"[{run_id}] {'resuming' if (run_dir / 'checkpoint.pt').exists() else 'training'} -> {run_dir}")
    t0 = time.perf_counter()
    status = {"status": "running", "error": "", "torch": torch.__version__, "python": platform.python_version(),
              "git_commit": git_commit(), "threads": torch.get_num_threads()}  # fmt: skip
    try:
        summary = execute(spec, run_dir, segs, progress)
        status |= {k: v for k, v in summary.items() if k != "metrics"} | {"status": "done"}
    except Exception as e:  # noqa: BLE001 - a failed run must not kill the study
        status |= {"status": "failed", "error": f"{type(e).__name__}: {e}"}
        (run_dir / "error.txt").write_text(traceback.format_exc())
        print(f"[{run_id}] FAILED: {status['error']} (traceback in {run_dir / 'error.txt'})")
    status["wall_seconds"] = time.perf_counter() - t0
    R.write_json_atomic(status, status_path)
    if status["status"] == "done":
        (run_dir / "done").touch()
    return status


def write_tables(study: Study, runs: list, statuses: dict, out: Path, ceiling_values: dict) -> pd.DataFrame:
    study_dir = out / study.name
    rows = [r for run_id, variant, seed, _ in runs
            for r in R.run_rows(study.name, run_id, variant, seed, study_dir / run_id)]  # fmt: skip
    rows += [{"study": study.name, "run_id": "ground_truth", "variant": CEILING, "seed": 0, "step": 0,
              "split": "ceiling", "metric": k, "value": v} for k, v in ceiling_values.items()]  # fmt: skip
    new = pd.DataFrame(rows, columns=R.RESULTS_COLUMNS)
    old = R.read_results(study_dir / "results.csv") if (study_dir / "results.csv").exists() else None
    results = R.merge_results(old, new)
    R.write_csv_atomic(results, study_dir / "results.csv")
    run_table = []
    for run_id, variant, seed, spec in runs:
        st = statuses.get(run_id) or {"status": "not run"}
        protocols = "; ".join(METRICS[m].protocol for m in spec.metrics if m in METRICS)
        run_table.append({"study": study.name, "run_id": run_id, "variant": variant, "seed": seed,
                          "question": study.question, **st, "metric_protocol": protocols,
                          **{k: str(v) if isinstance(v, tuple) else v for k, v in flatten(spec).items()}})  # fmt: skip
    old_runs = pd.read_csv(study_dir / "runs.csv") if (study_dir / "runs.csv").exists() else None
    table = pd.DataFrame(run_table)
    if old_runs is not None:
        table = pd.concat([old_runs[~old_runs.run_id.isin(table.run_id)], table], ignore_index=True)
    R.write_csv_atomic(table, study_dir / "runs.csv")
    info = {"name": study.name, "question": study.question, "variants": list(study.variants),
            "base": {k: str(v) if isinstance(v, tuple) else v for k, v in flatten(study.base).items()},
            "reference": list(study.reference), "reference_names": study.reference_names}  # fmt: skip
    R.write_json_atomic(info, study_dir / "study.json")
    return results


def print_table(study: Study, results: pd.DataFrame, statuses: dict, profile: str) -> None:
    ours = results[results.split == "test"]
    ref = R.load_reference(study.reference, study.reference_names)
    notes = {}
    for st_id, st in statuses.items():
        rf = st.get("D_receptive_field")
        if rf:
            notes[st_id.rsplit("-s", 1)[0]] = f"(D RF {rf}px)"
    ceil = results[results.split == "ceiling"].set_index("metric").value.to_dict()
    print(f"\n{study.name}: {study.question}  [profile {profile}; mean±std over seeds]")
    print(R.format_table(ours, TABLE_METRICS, list(study.variants), ref, {CEILING: ceil} if ceil else {}, notes))
    if len(ref):
        print("[x.xx] = published value (Isola et al. 2017, Cityscapes labels->photo at 256 px, FCN-8s): "
              "a different dataset and segmenter, for orientation only.")  # fmt: skip
    failed = {k: v["error"] for k, v in statuses.items() if v.get("status") == "failed"}
    for run_id, err in failed.items():
        print(f"FAILED {run_id}: {err}")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m studies.run", description=__doc__.split("\n\n")[0])
    p.add_argument("study", nargs="?", help="study module under studies/, e.g. ablation_patchgan")
    p.add_argument("--profile", default="quick", help="smoke | quick | paper")
    p.add_argument("--seeds", help="comma-separated seeds, e.g. 0,1,2 (default: the study's)")
    p.add_argument("--only", action="append", help="run id(s) to run, e.g. 70x70-s0")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override, e.g. train.steps=500")
    p.add_argument("--data", help="local dataset root (aligned A|B folder, Cityscapes, CIFAR-10/CelebA)")
    p.add_argument("--device", default=None, choices=["auto", "cpu", "cuda"])
    p.add_argument("--out", default="runs", type=Path)
    p.add_argument("--dry-run", action="store_true", help="print the resolved runs and their overrides, then exit")
    p.add_argument("--shard", help="i/n: run only every n-th run starting at i (0-based)")
    p.add_argument("--list", action="store_true", help="list studies and profiles")
    p.add_argument("--inception-weights", help="local Inception-v3 weights for FID/KID (never downloaded)")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.list or not args.study:
        for name in list_studies():
            s = load_study(name)
            print(f"{name}: {s.question}\n  variants: {', '.join(s.variants)}; profiles: {', '.join(s.profiles)}")
        return 0
    study = load_study(args.study)
    sets = dict(parse_set(s) for s in args.set)
    if args.data:
        sets["data.name"] = args.data
    if args.device:
        sets["train.device"] = args.device
    if args.inception_weights:
        sets["eval.inception_weights"] = args.inception_weights
    seeds = tuple(int(s) for s in args.seeds.split(",")) if args.seeds else None
    try:
        runs = study.runs(args.profile, seeds, sets)
    except KeyError as e:
        print(f"error: {e.args[0]}", file=sys.stderr)
        return 2
    if args.only:
        unknown = set(args.only) - {r[0] for r in runs}
        if unknown:
            print(f"error: unknown run id(s) {sorted(unknown)}; known: {[r[0] for r in runs]}", file=sys.stderr)
            return 2
        runs = [r for r in runs if r[0] in args.only]
    if args.shard:
        i, n = (int(v) for v in args.shard.split("/"))
        runs = runs[i::n]
    if args.dry_run:
        base = flatten(study.base)
        print(f"{study.name} [{args.profile}]: {len(runs)} run(s)")
        for run_id, _, _, spec in runs:
            diff = {k: v for k, v in flatten(spec).items() if base.get(k) != v}
            print(f"  {run_id}: {diff}")
        return 0
    device = resolve_device(sets.get("train.device", study.base.train.device))
    segs = Segmenters(args.out / ".cache", device)
    t0 = time.perf_counter()
    statuses = {r[0]: run_one(study, *r, args.out, segs, not args.no_progress) for r in runs}
    try:
        ceil = ceiling(runs[0][3], segs) if runs else {}
    except Exception as e:  # noqa: BLE001
        print(f"[ceiling] failed: {e}")
        ceil = {}
    results = write_tables(study, runs, statuses, args.out, ceil)
    print_table(study, results, statuses, args.profile)
    print(f"\nwrote {args.out / study.name / 'results.csv'} and runs.csv in {time.perf_counter() - t0:.0f} s")
    return 1 if any(s.get("status") == "failed" for s in statuses.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
