"""Running one study's runs: checks before any training, then each run through the one loop.

`preflight` finds every input mistake before the first step is spent: a run directory whose config
differs from the one asked for (never a silent mixed resume), data that is missing, empty or corrupt
(each split the runs read, validated once per data config), a recipe that cannot be built from its
config, and metrics whose input keys neither the eval batch nor the recipe's translate provide.
`run_one` then trains and scores one run (models/train.py, studies/runner/evaluation.py); a run that fails
is recorded with its error and the study goes on. `RunClaim` is a run directory's lock: the process that holds
it trains the run; another one skips it, and a killed process's claim goes with it (the kernel releases flock
locks of dead processes), so there is no stale claim to take over. The datasets and recipe of a run are built
once (studies/runner/build.py Builds) and shared by the preflight, the run, the segmenter and the ceiling.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import platform
import shutil
import socket
import subprocess
import time
import traceback
from pathlib import Path

import torch

from metrics import METRICS, EvalContext, MetricUnavailable
from metrics import tables as T
from models.checkpoint import CheckpointError
from models.contract import Progress
from models.distributed import world
from models.runlog import RunLog
from models.train import resolve_device, train
from studies.datasets import DatasetError
from studies.runner.build import Builds
from studies.runner.checkpoints import load_run
from studies.runner.evaluation import Evaluator, MetricInputError, check_inputs
from studies.spec import ConfigError, RunSpec, config_diff, config_hash, identity, read_config, to_config


class PreflightError(ValueError):
    """An input mistake found before training; the message names the run, file or field at fault."""


class RunClaim:
    """Non-blocking claim of a run directory; `acquired` says whether this process may train the run."""

    def __init__(self, run_dir: Path, record: bool = True):
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path, self.file, self.acquired, self.record = run_dir / ".claim", None, False, record

    def __enter__(self) -> RunClaim:
        self.file = open(self.path, "a+")
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return self
        self.acquired = True
        if not self.record:  # a probe (--status): take and give back, leave the holder line alone
            return self
        self.file.seek(0)
        self.file.truncate()
        self.file.write(f"{socket.gethostname()} pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        self.file.flush()
        return self

    def holder(self) -> str:
        return self.path.read_text().strip() if self.path.exists() else "unknown"

    def __exit__(self, *exc) -> None:
        if self.file is not None:
            if self.acquired:
                fcntl.flock(self.file, fcntl.LOCK_UN)
            self.file.close()


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)  # fmt: skip
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


_SAID: set[str] = set()  # each "skipping" line once per process, not once per run


def make_metrics(spec: RunSpec, ctx: EvalContext, unpaired: bool = False) -> dict:
    """{name: (spec, accumulator)} of the run's metrics that can run here; each skipped one is said once. On an
    unpaired test split a pretrained-net metric that needs pairs (LPIPS, DISTS: added by --weights) is skipped."""
    out = {}
    for name in spec.metrics:
        if unpaired and METRICS[name].paired and METRICS[name].weights:
            message = f"{name} needs paired test data; this test split is unpaired"
            if message not in _SAID:
                _SAID.add(message)
                print(f"[metrics] skipping {message}")
            continue
        try:
            out[name] = (METRICS[name], METRICS[name].make(ctx))
        except MetricUnavailable as e:
            if str(e) not in _SAID:
                _SAID.add(str(e))
                print(f"[metrics] skipping {name}: {e}")
    return out


def make_evaluator(spec: RunSpec, test_set, builds: Builds, device: torch.device) -> Evaluator:
    ctx = EvalContext(
        device=device,
        n_classes=test_set.n_classes,
        segmenter=(lambda: builds.segmenter(spec)) if test_set.n_classes else None,
        palette=getattr(test_set, "colors", None),
        inception_weights=Path(spec.eval.inception_weights) if spec.eval.inception_weights else None,
        weights=dict(spec.eval.weights),
    )
    unpaired = getattr(test_set, "view", "paired") == "unpaired"
    return Evaluator(test_set, make_metrics(spec, ctx, unpaired), device, spec.eval.batch_size, spec.train.seed,
                     cache_dir=builds.cache_dir)  # fmt: skip


def _check_identity(run_id: str, spec: RunSpec, run_dir: Path) -> str | None:
    path = run_dir / "config.json"
    if not path.exists():
        return None
    try:
        old = identity(read_config(path))
    except ConfigError as e:
        return f"{run_id}: {e}"
    diff = config_diff(old, identity(spec))
    return f"{run_id} was trained with another config ({'; '.join(diff[:6])})" if diff else None


def preflight(study_name: str, runs: list, out: Path, restart: bool, builds: Builds, data: bool = True,
              keep: bool = True) -> None:  # fmt: skip
    """Every check that can fail on the user's input, before any training; PreflightError lists the faults.
    `data=False` checks only the run directories' configs (rescoring reads each run's own data later). The
    datasets and recipes it builds are kept in `builds` for the runs of this process (`keep`; a finished run's
    recipe is never kept), so each is built once."""
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
            train_set, test_set = builds.datasets(spec)
            if key not in checked:
                for ds in (train_set, test_set):
                    ds.validate()
                    if hasattr(ds, "pairing"):
                        print(f"[data] {spec.data.name} {ds.split}: {ds.pairing}; {spec.recipe} reads it {ds.view}")
                checked.add(key)
            unknown = [m for m in spec.metrics if m not in METRICS]
            if unknown:
                raise PreflightError(f"unknown metric(s) {unknown}; known: {', '.join(METRICS)}")
            need_pairs = [m for m in spec.metrics if METRICS[m].paired and not METRICS[m].weights]  # those: skipped
            if test_set.view == "unpaired" and need_pairs:
                ok = [m for m in spec.metrics if not METRICS[m].paired]
                raise PreflightError(f"metric(s) {need_pairs} compare each output with its own target, but "
                                     f"{spec.data.name} has no pairs (its test split is unpaired); score it with "
                                     f"unpaired metrics, e.g. --set \"metrics={tuple(ok) or ('swd',)}\"")  # fmt: skip
            recipe = builds.recipe(run_id, spec, keep=keep and not (out / study_name / run_id / "done").exists())
            check_inputs(recipe, test_set, {m: METRICS[m] for m in spec.metrics}, Progress(0, 0, spec.train.images),
                         spec.recipe)  # fmt: skip
        except (DatasetError, MetricInputError, PreflightError) as e:
            raise PreflightError(f"{run_id}: {e}") from None
        except (ValueError, TypeError, RuntimeError) as e:  # a config the recipe cannot be built or run from
            raise PreflightError(f"{run_id}: the {spec.recipe} recipe cannot run this config: {e}") from None


def run_one(study_name: str, run_id: str, spec: RunSpec, out: Path, builds: Builds, progress: bool,
            desc: str = "", variant: str = "", seed: int = 0, profile: str = "") -> dict:  # fmt: skip
    """Train and score one run, unless it is done or another process holds its claim (RunClaim); run.json records
    its variant, seed and profile (the Leaderboard never averages across profiles).
    Under torchrun, ranks other than 0 only train their slices: rank 0 claims, writes and scores."""
    run_dir = out / study_name / run_id
    if world()[0] > 0:
        if not (run_dir / "done").exists():
            execute(spec, run_dir, builds, False, desc, evaluate=False)
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
        return _train_claimed(study_name, run_id, spec, run_dir, builds, progress, desc, variant, seed, profile)


def _train_claimed(study_name, run_id, spec, run_dir, builds, progress, desc, variant, seed, profile) -> dict:
    T.write_json_atomic(to_config(spec), run_dir / "config.json")
    resuming = (run_dir / "checkpoint.pt").exists()
    print(f"[{run_id}] {'resuming' if resuming else 'training'} -> {run_dir}")
    with (run_dir / "attempts.log").open("a") as f:  # one line per start: retries and resumes stay visible
        f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {'resume' if resuming else 'start'} pid {os.getpid()}\n")
    t0 = time.perf_counter()
    status = {"status": "running", "error": "", "study": study_name, "variant": variant or run_id.rpartition("-s")[0],
              "seed": seed, "profile": profile, "config_hash": config_hash(spec), "torch": torch.__version__,
              "python": platform.python_version(), "git_commit": git_commit(),
              "threads": torch.get_num_threads()}  # fmt: skip
    try:
        summary = execute(spec, run_dir, builds, progress, desc or run_id)
        status |= {k: v for k, v in summary.items() if k != "metrics"} | {"status": "done"}
    except Exception as e:  # noqa: BLE001 - a failed run must not kill the study
        status |= {"status": "failed", "error": f"{type(e).__name__}: {e}"}
        (run_dir / "error.txt").write_text(traceback.format_exc())
        hint = " (start it anew with --restart)" if isinstance(e, CheckpointError) else ""
        print(f"[{run_id}] FAILED: {status['error']}{hint} (traceback in {run_dir / 'error.txt'})")
    status["wall_seconds"] = time.perf_counter() - t0
    T.write_json_atomic(status, run_dir / "run.json")
    if status["status"] == "done":
        (run_dir / "done").touch()
    return status


def execute(spec: RunSpec, run_dir: Path, builds: Builds, progress: bool, desc: str = "",
            evaluate: bool = True) -> dict:  # fmt: skip
    train_set, test_set = builds.datasets(spec)
    recipe = builds.take(run_dir.name, spec)  # a run directory is named by its run id
    evaluator = make_evaluator(spec, test_set, builds, resolve_device(spec.train.device)) if evaluate else None
    return train(recipe, spec.train, train_set, run_dir, evaluator=evaluator, progress=progress, desc=desc)


def rescore_one(study_name: str, run_id: str, out: Path, builds: Builds, scoring: RunSpec | None = None) -> dict | None:
    """Recompute every metric of a finished run from its checkpoint, with the registry's current protocols (and
    `scoring`'s metric list and weight files: the command's); the final evaluation row of metrics.jsonl and
    run.json are replaced atomically. None if not finished."""
    run_dir = out / study_name / run_id
    if not (run_dir / "done").exists():
        print(f"[{run_id}] not finished: nothing to rescore")
        return None
    loaded = load_run(run_dir, builds=builds)
    device = resolve_device(loaded.spec.train.device)
    for net in loaded.recipe.nets.values():
        net.to(device)
    spec = loaded.spec
    if scoring is not None:
        spec = dataclasses.replace(
            spec,
            metrics=tuple(dict.fromkeys((*spec.metrics, *scoring.metrics))),
            eval=dataclasses.replace(  # the run's own files, and the command's where it names them
                spec.eval,
                weights={**spec.eval.weights, **scoring.eval.weights},
                inception_weights=scoring.eval.inception_weights or spec.eval.inception_weights,
            ),
        )
    evaluator = make_evaluator(spec, loaded.test_set, builds, device)
    values = evaluator.evaluate(loaded.recipe, loaded.progress, run_dir, final=True)
    RunLog(run_dir).replace_evaluation(loaded.progress, values, evaluator.protocols)
    status = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").exists() else {}
    status |= {"status": "done", "protocols": evaluator.protocols, "weights_sha256": evaluator.weights_sha256,
               "rescored": time.strftime("%Y-%m-%d %H:%M:%S")}  # fmt: skip
    T.write_json_atomic(status, run_dir / "run.json")
    print(f"[{run_id}] rescored ({', '.join(evaluator.protocols.values())})")
    return status


def ceiling(spec: RunSpec, builds: Builds) -> dict[str, float]:
    """Metrics that declare a ceiling, on the real test data (pix2pix Table 1's 'ground truth' row)."""
    if not any(METRICS[m].ceiling for m in spec.metrics):
        return {}
    _, test_set = builds.datasets(spec)
    evaluator = make_evaluator(spec, test_set, builds, resolve_device(spec.train.device))
    return evaluator.ceiling()
