"""Running one study's runs: checks before any training, then each run through the one loop.

`preflight` finds every input mistake before the first step is spent: a run directory whose config
differs from the one asked for (never a silent mixed resume), data that is missing, empty or corrupt
(each split the runs read, validated once per data config), a recipe that cannot be built from its
config, and metrics whose input keys neither the eval batch nor the recipe's translate provide.
`run_one` then trains and scores one run (models/train.py, models/evaluation.py); a run that fails
is recorded with its error and the study goes on.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import subprocess
import time
import traceback
from pathlib import Path

import torch

from metrics import METRICS, EvalContext, MetricUnavailable
from metrics.fcn_score import train_segmenter
from models.checkpoint import CheckpointError
from models.contract import Progress
from models.distributed import world
from models.evaluation import Evaluator, MetricInputError, check_inputs
from models.runlog import RunLog
from models.train import resolve_device, train
from studies import results as R
from studies.build import build_recipe, datasets
from studies.checkpoints import load_run
from studies.collect import RunClaim
from studies.data import DatasetError, make_dataset
from studies.spec import RunSpec, config_diff, config_hash, identity, spec_from_config


class PreflightError(ValueError):
    """An input mistake found before training; the message names the run, file or field at fault."""


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
        data = dataclasses.replace(spec.data, jitter=False)
        key = (data, spec.eval.segmenter_epochs)
        if key not in self.nets:
            train_set = make_dataset(data, "train", view="paired")
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


def make_evaluator(spec: RunSpec, test_set, segmenters: Segmenters, device: torch.device) -> Evaluator:
    ctx = EvalContext(
        device=device,
        n_classes=test_set.n_classes,
        segmenter=(lambda: segmenters.get(spec)) if test_set.n_classes else None,
        palette=getattr(test_set, "colors", None),
        inception_weights=Path(spec.eval.inception_weights) if spec.eval.inception_weights else None,
    )
    return Evaluator(test_set, make_metrics(spec, ctx), device, spec.eval.batch_size, spec.train.seed,
                     cache_dir=segmenters.cache_dir)  # fmt: skip


def _check_identity(run_id: str, spec: RunSpec, run_dir: Path) -> str | None:
    path = run_dir / "config.json"
    if not path.exists():
        return None
    try:
        old = identity(spec_from_config(json.loads(path.read_text())))
    except (json.JSONDecodeError, ValueError, TypeError, KeyError) as e:
        return f"{run_id}: {path} is unreadable ({e})"
    diff = config_diff(old, identity(spec))
    return f"{run_id} was trained with another config ({'; '.join(diff[:6])})" if diff else None


def preflight(study_name: str, runs: list, out: Path, restart: bool, data: bool = True) -> None:
    """Every check that can fail on the user's input, before any training; PreflightError lists the faults.
    `data=False` checks only the run directories' configs (rescoring reads each run's own data later)."""
    faults = []
    for run_id, _, _, spec in runs:
        run_dir = out / study_name / run_id
        if restart and run_dir.exists():
            shutil.rmtree(run_dir)
        fault = _check_identity(run_id, spec, run_dir)
        if fault:
            faults.append(fault)
    if faults:
        raise PreflightError("; ".join(faults) + ". Start such runs anew with --restart (with --only RUN for one), "
                             "or write to another --out.")  # fmt: skip
    checked = set()
    for run_id, _, _, spec in runs if data else []:
        key = (spec.data, spec.recipe_cls.views)
        try:
            train_set, test_set = datasets(spec)
            if key not in checked:
                for ds in (train_set, test_set):
                    ds.validate()
                checked.add(key)
            unknown = [m for m in spec.metrics if m not in METRICS]
            if unknown:
                raise PreflightError(f"unknown metric(s) {unknown}; known: {', '.join(METRICS)}")
            need_pairs = [m for m in spec.metrics if METRICS[m].paired]
            if test_set.view == "unpaired" and need_pairs:
                ok = [m for m in spec.metrics if not METRICS[m].paired]
                raise PreflightError(f"metric(s) {need_pairs} compare each output with its own target, but "
                                     f"{spec.data.name} has no pairs (its test split is unpaired); score it with "
                                     f"unpaired metrics, e.g. --set \"metrics={tuple(ok) or ('swd',)}\"")  # fmt: skip
            recipe = build_recipe(spec, train_set)
            check_inputs(recipe, test_set, {m: METRICS[m] for m in spec.metrics}, Progress(0, 0, spec.train.images),
                         spec.recipe)  # fmt: skip
        except (DatasetError, MetricInputError, PreflightError) as e:
            raise PreflightError(f"{run_id}: {e}") from None
        except (ValueError, TypeError, RuntimeError) as e:  # a config the recipe cannot be built or run from
            raise PreflightError(f"{run_id}: the {spec.recipe} recipe cannot run this config: {e}") from None


def run_one(study_name: str, run_id: str, spec: RunSpec, out: Path, segs: Segmenters, progress: bool,
            desc: str = "", variant: str = "", seed: int = 0) -> dict:  # fmt: skip
    """Train and score one run, unless it is done or another process holds its claim (studies/collect.py).
    Under torchrun, ranks other than 0 only train their slices: rank 0 claims, writes and scores."""
    run_dir = out / study_name / run_id
    if world()[0] > 0:
        if not (run_dir / "done").exists():
            execute(spec, run_dir, segs, False, desc, evaluate=False)
        return {"status": f"done (rank {world()[0]})"}
    status_path = run_dir / "run.json"

    def previous() -> dict:
        return json.loads(status_path.read_text()) if status_path.exists() else {"status": "done"}

    if (run_dir / "done").exists():
        print(f"[{run_id}] done already, skipped")
        return previous()
    with RunClaim(run_dir) as claim:
        if not claim.acquired:
            print(f"[{run_id}] being trained by another process ({claim.holder()}), skipped")
            return {"status": "running elsewhere"}
        if (run_dir / "done").exists():  # finished by another process while this one waited
            print(f"[{run_id}] done already, skipped")
            return previous()
        return _train_claimed(study_name, run_id, spec, run_dir, segs, progress, desc, variant, seed)


def _train_claimed(study_name, run_id, spec, run_dir, segs, progress, desc, variant, seed) -> dict:
    R.write_json_atomic({"recipe": spec.recipe, **dataclasses.asdict(spec)}, run_dir / "config.json")
    resuming = (run_dir / "checkpoint.pt").exists()
    print(f"[{run_id}] {'resuming' if resuming else 'training'} -> {run_dir}")
    with (run_dir / "attempts.log").open("a") as f:  # one line per start: retries and resumes stay visible
        f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {'resume' if resuming else 'start'} pid {os.getpid()}\n")
    t0 = time.perf_counter()
    status = {"status": "running", "error": "", "study": study_name, "variant": variant or run_id.rpartition("-s")[0],
              "seed": seed, "config_hash": config_hash(spec), "torch": torch.__version__,
              "python": platform.python_version(), "git_commit": git_commit(),
              "threads": torch.get_num_threads()}  # fmt: skip
    try:
        summary = execute(spec, run_dir, segs, progress, desc or run_id)
        status |= {k: v for k, v in summary.items() if k != "metrics"} | {"status": "done"}
    except Exception as e:  # noqa: BLE001 - a failed run must not kill the study
        status |= {"status": "failed", "error": f"{type(e).__name__}: {e}"}
        (run_dir / "error.txt").write_text(traceback.format_exc())
        hint = " (start it anew with --restart)" if isinstance(e, CheckpointError) else ""
        print(f"[{run_id}] FAILED: {status['error']}{hint} (traceback in {run_dir / 'error.txt'})")
    status["wall_seconds"] = time.perf_counter() - t0
    R.write_json_atomic(status, run_dir / "run.json")
    if status["status"] == "done":
        (run_dir / "done").touch()
    return status


def execute(spec: RunSpec, run_dir: Path, segmenters: Segmenters, progress: bool, desc: str = "",
            evaluate: bool = True) -> dict:  # fmt: skip
    train_set, test_set = datasets(spec)
    recipe = build_recipe(spec, train_set)
    evaluator = make_evaluator(spec, test_set, segmenters, resolve_device(spec.train.device)) if evaluate else None
    return train(recipe, spec.train, train_set, run_dir, evaluator=evaluator, progress=progress, desc=desc)


def rescore_one(study_name: str, run_id: str, out: Path, segs: Segmenters) -> dict | None:
    """Recompute every metric of a finished run from its checkpoint, with the registry's current protocols;
    the final evaluation row of metrics.jsonl and run.json are replaced atomically. None if not finished."""
    run_dir = out / study_name / run_id
    if not (run_dir / "done").exists():
        print(f"[{run_id}] not finished: nothing to rescore")
        return None
    loaded = load_run(run_dir)
    device = resolve_device(loaded.spec.train.device)
    for net in loaded.recipe.nets.values():
        net.to(device)
    evaluator = make_evaluator(loaded.spec, loaded.test_set, segs, device)
    values = evaluator.evaluate(loaded.recipe, loaded.progress, run_dir, final=True)
    RunLog(run_dir).replace_evaluation(loaded.progress, values, evaluator.protocols)
    status = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").exists() else {}
    status |= {"status": "done", "protocols": evaluator.protocols, "rescored": time.strftime("%Y-%m-%d %H:%M:%S")}
    R.write_json_atomic(status, run_dir / "run.json")
    print(f"[{run_id}] rescored ({', '.join(evaluator.protocols.values())})")
    return status


def ceiling(spec: RunSpec, segmenters: Segmenters) -> dict[str, float]:
    """Metrics that declare a ceiling, on the real test data (pix2pix Table 1's 'ground truth' row)."""
    if not any(METRICS[m].ceiling for m in spec.metrics):
        return {}
    _, test_set = datasets(spec)
    evaluator = make_evaluator(spec, test_set, segmenters, resolve_device(spec.train.device))
    return evaluator.ceiling()
