"""A study's tables, rebuilt from its run directories, and the locks that let many workers share one study.

Each run's own files are the source of truth: config.json, run.json (status, provenance, variant, seed) and
metrics.jsonl; the study's ceiling.json holds the real-data rows and human/<protocol>/rows.csv the imported
human-evaluation rows. `collect` rebuilds results.csv and runs.csv from all of them, under the study's file
lock, with atomic writes, so any number of shards, duplicated commands or cluster jobs finishing at once never
lose a row (each rewrites the whole table from the same files). `RunClaim` is a run directory's lock: the
process that holds it trains the run; another one skips it, and a killed process's claim goes with it (the
kernel releases flock locks of dead processes), so there is no stale claim to take over.
Caveat: flock on network file systems (NFS) needs the cluster's lock daemon, which most SLURM sites run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from metrics import METRICS, stale
from studies import results as R
from studies.spec import flatten, spec_from_config

LOCK_TIMEOUT = 600.0  # seconds a writer waits for the study lock before giving up with a message


@contextmanager
def study_lock(study_dir: Path, timeout: float = LOCK_TIMEOUT):
    """Exclusive lock of a study's tables (runs/<study>/.lock) for the duration of the block."""
    study_dir.mkdir(parents=True, exist_ok=True)
    with open(study_dir / ".lock", "a") as f:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{study_dir / '.lock'}: held by another process for {timeout:.0f} s") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


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


def run_dirs(study_dir: Path) -> list[Path]:
    return sorted(p for p in Path(study_dir).iterdir() if p.is_dir() and (p / "config.json").exists()) \
        if Path(study_dir).is_dir() else []  # fmt: skip


def identify(run_dir: Path, status: dict) -> tuple[str, int]:
    """(variant, seed) from run.json, or from the run id `<variant>-s<seed>` (older run.json files)."""
    if "variant" in status and "seed" in status:
        return status["variant"], int(status["seed"])
    variant, _, seed = run_dir.name.rpartition("-s")
    return variant, int(seed) if seed.isdigit() else 0


def run_protocols(status: dict, metrics) -> dict[str, str]:
    """{metric: version} a run was scored with; runs from before versions were recorded used v1 throughout."""
    if status.get("protocols"):
        return dict(status["protocols"])
    if status.get("status") != "done":
        return {}
    return {m: METRICS[m].version.rsplit("-v", 1)[0] + "-v1" for m in metrics if m in METRICS}


def statuses(study_dir: Path) -> dict[str, dict]:
    out = {}
    for d in run_dirs(study_dir):
        path = d / "run.json"
        try:
            out[d.name] = json.loads(path.read_text()) if path.exists() else {"status": "not finished"}
        except json.JSONDecodeError:
            out[d.name] = {"status": "unreadable run.json"}
    return out


def _run_row(study: str, question: str, run_dir: Path, status: dict) -> dict:
    spec = spec_from_config(json.loads((run_dir / "config.json").read_text()))
    variant, seed = identify(run_dir, status)
    versions = run_protocols(status, spec.metrics)
    flat = {k: str(v) if isinstance(v, tuple) else v for k, v in flatten(spec).items()}
    info = {k: v for k, v in status.items() if k not in ("protocols", "variant", "seed", "study")}
    return {"study": study, "run_id": run_dir.name, "variant": variant, "seed": seed, "question": question, **info,
            "metric_protocol": "; ".join(METRICS[m].protocol for m in versions if m in METRICS),
            **{f"protocol/{m}": v for m, v in versions.items()}, "stale": ", ".join(stale(versions)),
            **flat}  # fmt: skip


def collect(study_dir: Path, study: str, question: str = "", order: list[str] = ()) -> pd.DataFrame:
    """Rebuild results.csv and runs.csv of a study from its run directories (call under `study_lock`); runs in
    `order` (the study's run ids) come first, in that order, then any other run directory."""
    study_dir, rows, runs = Path(study_dir), [], []
    found = statuses(study_dir)
    rank = {r: i for i, r in enumerate(order)}
    for run_dir, status in (
        (study_dir / k, found[k]) for k in sorted(found, key=lambda r: (rank.get(r, len(rank)), r))
    ):
        variant, seed = identify(run_dir, status)
        rows += R.run_rows(study, run_dir.name, variant, seed, run_dir)
        try:
            runs.append(_run_row(study, question, run_dir, status))
        except (ValueError, KeyError, TypeError, json.JSONDecodeError) as e:
            runs.append({"study": study, "run_id": run_dir.name, "status": f"unreadable config.json ({e})"})
    old = pd.DataFrame(columns=R.RESULTS_COLUMNS)
    if (study_dir / "results.csv").exists():
        with contextlib.suppress(R.SchemaError):
            old = R.read_results(study_dir / "results.csv")
    ceiling = study_dir / "ceiling.json"
    if not ceiling.exists() and (old.split == "ceiling").any():  # a table written before ceiling.json existed
        R.write_json_atomic({r.metric: float(r.value) for r in old[old.split == "ceiling"].itertuples()}, ceiling)
    for k, v in (json.loads(ceiling.read_text()) if ceiling.exists() else {}).items():
        rows.append({"study": study, "run_id": "ground_truth", "variant": R.CEILING, "seed": 0, "step": 0,
                     "split": "ceiling", "metric": k, "value": v})  # fmt: skip
    frames = [pd.DataFrame(rows, columns=R.RESULTS_COLUMNS)]
    frames += [R.read_results(p) for p in sorted(study_dir.glob("human/*/rows.csv"))]
    covered = set(pd.concat(frames[1:]).run_id) if len(frames) > 1 else set()
    frames.append(old[(old.split == "human") & ~old.run_id.isin(covered)])  # imported before rows.csv existed
    results = pd.concat(frames, ignore_index=True)[R.RESULTS_COLUMNS]
    R.write_csv_atomic(results, study_dir / "results.csv")
    R.write_csv_atomic(pd.DataFrame(runs), study_dir / "runs.csv")
    return results
