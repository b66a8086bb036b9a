"""The tidy results tables every room writes: the schema of results.csv, reading, merging and atomic writing,
the "final step of a run" rule, and the study lock. It lives here, below both the studies package (which
rebuilds a study's tables from its runs) and the human-evaluation import (metrics/questionnaire.py, which adds
its rows), so that the format has one owner and neither imports the other.

Tidy data (Wickham 2014): results.csv is long, one row per study x run x step x split x metric. Tables are
written atomically (temp file + os.replace), so a crash never leaves a half-written table, and every writer of
a study's tables holds its lock (flock on runs/<study>/.lock; the kernel releases it when a process dies, so
there is no stale lock). Caveat: flock on network file systems (NFS) needs the cluster's lock daemon.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

RESULTS_COLUMNS = ["study", "run_id", "variant", "seed", "step", "split", "metric", "value"]
LOCK_TIMEOUT = 600.0  # seconds a writer waits for the study lock before giving up with a message


class SchemaError(ValueError):
    """A results table on disk does not follow the schema; the message names the file and the column."""


def write_csv_atomic(df: pd.DataFrame, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    df.to_csv(tmp, index=False)
    os.replace(tmp, path)


def write_json_atomic(obj: dict, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=2, default=str)
    os.replace(tmp, path)


def read_results(path: Path) -> pd.DataFrame:
    """Read and validate a results.csv (the columns of RESULTS_COLUMNS, numeric step, seed and value)."""
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise SchemaError(f"{path}: not a readable CSV ({e})") from None
    missing = [c for c in RESULTS_COLUMNS if c not in df.columns]
    if missing:
        raise SchemaError(f"{path}: missing column(s) {missing}; expected {RESULTS_COLUMNS}")
    for col in ("step", "value", "seed"):
        bad = pd.to_numeric(df[col], errors="coerce").isna() & df[col].notna()
        if bad.any():
            raise SchemaError(f"{path}: column {col!r} has non-numeric value {df[col][bad].iloc[0]!r}")
    return df[RESULTS_COLUMNS]


def merge_results(old: pd.DataFrame | None, new: pd.DataFrame, keys=("run_id", "step", "split", "metric")):
    """New rows replace old rows with the same keys; rows of runs not in `new` are kept."""
    if old is None or old.empty:
        return new[RESULTS_COLUMNS].reset_index(drop=True)
    merged = pd.concat([old, new], ignore_index=True)
    merged = merged.drop_duplicates(subset=list(keys), keep="last")
    return merged[RESULTS_COLUMNS].reset_index(drop=True)


def final_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of each run's last step (per study and run id): a run's result is its final evaluation."""
    return df[df.step == df.groupby(["study", "run_id"]).step.transform("max")]


@contextmanager
def study_lock(study_dir: Path, timeout: float = LOCK_TIMEOUT):
    """Exclusive lock of a study's tables (runs/<study>/.lock) for the duration of the block."""
    study_dir = Path(study_dir)
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
