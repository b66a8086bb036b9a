"""A study's tables, rebuilt from its run directories, so that many workers can share one study.

Each run's own files are the source of truth: config.json, run.json (status, provenance, variant, seed) and
metrics.jsonl; the study's ceiling.json holds the real-data rows and human/<protocol>/rows.csv the imported
human-evaluation rows. `collect` rebuilds results.csv and runs.csv from all of them, under the study's file
lock, with atomic writes, so any number of shards, duplicated commands or cluster jobs finishing at once never
lose a row (each rewrites the whole table from the same files). The lock and the atomic writes are
metrics/tables.py's; a run directory's own claim is studies/runner/execute.py RunClaim.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pandas as pd

from metrics import METRICS, recorded_versions, stale
from metrics import tables as T
from studies.results import tables as R
from studies.spec import flatten, read_config


def run_dirs(study_dir: Path) -> list[Path]:
    """Run directories (with a config.json); a hidden one (`.name.importing`) is being written and left out."""
    if not Path(study_dir).is_dir():
        return []
    return sorted(p for p in Path(study_dir).iterdir() if p.is_dir() and (p / "config.json").exists()
                  and not p.name.startswith("."))  # fmt: skip


def identify(run_dir: Path, status: dict) -> tuple[str, int]:
    """(variant, seed) from run.json, or from the run id `<variant>-s<seed>` (older run.json files)."""
    if "variant" in status and "seed" in status:
        return status["variant"], int(status["seed"])
    variant, _, seed = run_dir.name.rpartition("-s")
    return variant, int(seed) if seed.isdigit() else 0


def run_protocols(status: dict, metrics) -> dict[str, str]:
    """{metric: version} a run was scored with (none while it is not finished; metrics.recorded_versions)."""
    if not status.get("protocols") and status.get("status") != "done":
        return {}
    return recorded_versions(status.get("protocols"), metrics)


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
    spec = read_config(run_dir / "config.json")
    variant, seed = identify(run_dir, status)
    versions = run_protocols(status, spec.metrics)
    flat = {k: str(v) if isinstance(v, tuple) else v for k, v in flatten(spec).items()}
    info = {k: v for k, v in status.items() if k not in ("protocols", "variant", "seed", "study", "weights_sha256")}
    files = status.get("weights_sha256") or {}  # {metric: {pretrained net: sha256}}
    shas = {f"{net}_sha256": sha for nets in files.values() for net, sha in nets.items()}

    def protocol(m: str) -> str:
        nets = files.get(m) or {}
        return METRICS[m].protocol + "".join(f" [{net} sha256:{sha}]" for net, sha in nets.items())

    return {"study": study, "run_id": run_dir.name, "variant": variant, "seed": seed, "question": question, **info,
            **shas, "metric_protocol": "; ".join(protocol(m) for m in versions if m in METRICS),
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
    old = pd.DataFrame(columns=T.RESULTS_COLUMNS)
    if (study_dir / "results.csv").exists():
        with contextlib.suppress(T.SchemaError):
            old = T.read_results(study_dir / "results.csv")
    ceiling = study_dir / "ceiling.json"
    if not ceiling.exists() and (old.split == "ceiling").any():  # a table written before ceiling.json existed
        T.write_json_atomic({r.metric: float(r.value) for r in old[old.split == "ceiling"].itertuples()}, ceiling)
    for k, v in (json.loads(ceiling.read_text()) if ceiling.exists() else {}).items():
        rows.append({"study": study, "run_id": "ground_truth", "variant": R.CEILING, "seed": 0, "step": 0,
                     "split": "ceiling", "metric": k, "value": v})  # fmt: skip
    frames = [pd.DataFrame(rows, columns=T.RESULTS_COLUMNS)]
    frames += [T.read_results(p) for p in sorted(study_dir.glob("human/*/rows.csv"))]
    covered = set(pd.concat(frames[1:]).run_id) if len(frames) > 1 else set()
    frames.append(old[(old.split == "human") & ~old.run_id.isin(covered)])  # imported before rows.csv existed
    results = pd.concat(frames, ignore_index=True)[T.RESULTS_COLUMNS]
    T.write_csv_atomic(results, study_dir / "results.csv")
    T.write_csv_atomic(pd.DataFrame(runs), study_dir / "runs.csv")
    return results
