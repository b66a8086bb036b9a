"""The study runner: `python -m studies.run NAME [--profile ...] [--seeds 0,1,2] [--only RUN] [--set k=v] ...`.

Checks every input before any training (studies/runner/execute.py preflight), trains every run of a study
(variants x seeds) through models/train.py, scores it with the metrics package, and writes
runs/<study>/results.csv and runs.csv atomically, then prints the paper-style table (mean ± std over
seeds, the published value in brackets, ceiling rows of the metrics that declare one). Finished runs
(a `done` marker) are skipped, interrupted runs resume from their checkpoint, and a failed run is
recorded with its error while the study goes on. An input mistake ends the command with exit code 2
and one line naming the fault, before anything is trained or written.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import re
import sys
import time
from pathlib import Path

import pandas as pd

from metrics import tables as T
from metrics.weights import NETS
from models import RECIPES
from models.checkpoint import CheckpointError
from models.distributed import finish, init_from_env
from models.plugins import RecipeNotFound, register_module
from models.train import DeviceUnavailable, resolve_device
from studies.datasets import DatasetError
from studies.datasets.export import export as export_data
from studies.report import print_table, print_verdicts, table_metrics
from studies.results import stats
from studies.results import tables as R
from studies.results.collect import collect
from studies.results.collect import statuses as run_statuses
from studies.runner import rounds
from studies.runner.build import Builds
from studies.runner.cluster import executor_for, sbatch_script, status_rows, submit
from studies.runner.execute import PreflightError, ceiling, preflight, rescore_one, run_one
from studies.runner.imported import ImportRefused, import_outputs, with_imports
from studies.runner.weights import parse_weights, pretrained_metrics, with_weights
from studies.spec import ConfigError, Study, flatten, parse_set

CATALOGUE = Path(__file__).parent / "catalogue"


def list_studies() -> list[str]:
    """Modules of the study catalogue (studies/catalogue/) that define a top-level STUDY."""
    return sorted(p.stem for p in CATALOGUE.glob("*.py") if re.search(r"^STUDY = ", p.read_text(), re.M))


def load_study(name: str) -> Study:
    """A study of the catalogue by module name, or a study file anywhere (`path/to/my_study.py` defining STUDY)."""
    if name.endswith(".py"):
        path = Path(name)
        if not path.is_file():
            raise ConfigError(f"{path}: no such study file")
        spec = importlib.util.spec_from_file_location(f"ganbench_study_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as e:  # noqa: BLE001 - the user's file: one line naming it
            raise ConfigError(f"{path}: the study file does not load ({type(e).__name__}: {e})") from None
        if not isinstance(getattr(module, "STUDY", None), Study):
            raise ConfigError(f"{path}: defines no STUDY = Study(...)")
        return module.STUDY
    if name not in list_studies():
        raise ConfigError(f"unknown study {name!r}; known: {', '.join(list_studies())}, or a path/to/study.py")
    return importlib.import_module(f"studies.catalogue.{name}").STUDY  # the CLI argument is the module name


def _flat(spec) -> dict:
    return {k: str(v) if isinstance(v, tuple) else v for k, v in flatten(spec).items()}


def write_tables(study: Study, runs: list, out: Path, ceiling_values: dict) -> pd.DataFrame:
    """Under the study's lock: the ceiling file, then results.csv and runs.csv rebuilt from every run directory
    (studies/results/collect.py), study.json, and the statistics files; all atomic. Concurrent workers lose nothing."""
    study_dir = out / study.name
    with T.study_lock(study_dir):
        if ceiling_values:
            T.write_json_atomic(ceiling_values, study_dir / "ceiling.json")
        order = [r[0] for r in study.runs(next(iter(study.profiles)), None)] if not runs else [r[0] for r in runs]
        results = collect(study_dir, study.name, study.question, order)
        info = {"name": study.name, "question": study.question, "variants": study.all_variants,
                "base": _flat(runs[0][3]) if runs else _flat(study.base), "reference_file": study.reference_file,
                "reference": list(study.reference), "reference_names": study.reference_names,
                "table_metrics": table_metrics(runs), "table_extra": list(study.table_extra),
                "claims": [c.__dict__ for c in study.claims]}  # fmt: skip
        T.write_json_atomic(info, study_dir / "study.json")
        try:
            analysis = write_stats(study, results, out)
        except Exception as e:  # noqa: BLE001 - the tables are written; the statistics must not lose them
            print(f"[stats] not computed: {type(e).__name__}: {e}")
            analysis = {"cells": pd.DataFrame(), "comparisons": pd.DataFrame(), "claims": pd.DataFrame()}
    return results, analysis


def write_stats(study: Study, results: pd.DataFrame, out: Path) -> dict:
    """intervals.csv, comparisons.csv and claims.csv beside results.csv (studies/results/stats.py), atomically; a
    study run --until-decided gets its sequential verdicts and looks.csv (studies/runner/rounds.py)."""
    shown = R.with_training(results, study.table_extra)
    analysis = stats.analyse(shown, out / study.name, study.all_variants, study.claims)
    for name, key in (("intervals", "cells"), ("comparisons", "comparisons")):
        T.write_csv_atomic(analysis[key], out / study.name / f"{name}.csv")
    state = rounds.load_state(out / study.name)  # a study run --until-decided: its claims are the design's
    if state is not None:
        return rounds.apply(state, study.claims, analysis, out / study.name)
    T.write_csv_atomic(analysis["claims"], out / study.name / "claims.csv")
    return analysis


def rescore(study: Study, runs: list, out: Path, builds: Builds) -> dict:
    """Statuses after rescoring every finished run; a run that cannot be rescored keeps its old values."""
    statuses = {}
    for run_id, *_, spec in runs:
        path = out / study.name / run_id / "run.json"
        try:
            statuses[run_id] = rescore_one(study.name, run_id, out, builds, spec)
        except (CheckpointError, DatasetError, ValueError) as e:
            print(f"[{run_id}] not rescored: {e}")
        if statuses.get(run_id) is None:
            statuses[run_id] = json.loads(path.read_text()) if path.exists() else {"status": "not run"}
    return statuses


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m studies.run", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "study",
        nargs="?",
        help="study module under studies/catalogue/, e.g. ablation_patchgan, or a study file path/to/my_study.py",
    )
    p.add_argument(
        "--recipe-module",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE and register "
        "its recipe classes as MODULE:Class (recipes of installed packages come through the entry-point "
        "group ganbench.recipes)",
    )
    p.add_argument("--profile", default="quick", help="smoke | quick | paper")
    p.add_argument("--seeds", help="comma-separated seeds, e.g. 0,1,2 (default: the study's)")
    p.add_argument(
        "--only",
        action="append",
        help="run ids or variants to run, e.g. 70x70-s0, 1x1-s0,70x70-s0 or 70x70 (repeatable)",
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override, e.g. train.images=4800")
    p.add_argument("--data", help="local dataset root (aligned A|B folder, Cityscapes, CIFAR-10/CelebA)")
    p.add_argument("--device", default=None, choices=["auto", "cpu", "cuda"])
    p.add_argument("--out", default="runs", type=Path)
    p.add_argument("--dry-run", action="store_true", help="print the resolved runs and their overrides, then exit")
    p.add_argument("--shard", help="i/n: run only every n-th run starting at i (0-based)")
    p.add_argument("--restart", action="store_true", help="discard the selected runs' directories and train anew")
    p.add_argument("--rescore", action="store_true", help="recompute the metrics of finished runs from their "
                   "checkpoints (current protocols), without training")  # fmt: skip
    p.add_argument("--stats", action="store_true", help="also print every comparison between variants")
    p.add_argument("--collect", action="store_true", help="only rebuild the tables from the run directories")
    u = p.add_argument_group("until decided: seeds in rounds, a group-sequential design (results/sequential.py)")
    u.add_argument(
        "--until-decided",
        action="store_true",
        help="train the study's seeds (at least 3), then add "
        "seeds in rounds to the variants of the undecided claims until every claim is decided",
    )
    u.add_argument(
        "--max-seeds",
        type=int,
        help=f"seed cap of --until-decided (default {rounds.MAX_SEEDS}, or the "
        "cap of the rounds being resumed); the looks' thresholds depend on it",
    )
    u.add_argument(
        "--budget", help="time budget of --until-decided, e.g. 2h or 90m: no round starts that would pass it"
    )
    i = p.add_argument_group("outputs made elsewhere, scored beside the study's variants (studies/runner/imported.py)")
    i.add_argument("--import-outputs", action="append", default=[], metavar='"NAME=DIR"', help="score the outputs "
                   "in DIR (one file per test item, named by its item id; s0/ s1/ ... for seeds) as variant NAME; "
                   "repeatable; trains nothing")  # fmt: skip
    i.add_argument("--resize", choices=["bicubic", "nearest"], help="resize imported outputs of another size")
    i.add_argument("--allow-lossy", action="store_true", help="accept JPEG outputs (recorded in the protocol)")
    i.add_argument("--claim", action="append", default=[], metavar='"A > B on METRIC"',
                   help="an extra claim for this command, e.g. a claim on an imported variant")  # fmt: skip
    p.add_argument("--export-data", type=Path, metavar="DIR", help="write the study's train and test data (its "
                   "profile's size) in the reference repositories' layouts, with manifest.json, for a model trained "
                   "elsewhere; then exit")  # fmt: skip
    c = p.add_argument_group("jobs (submitit): one job per run, as a job array")
    c.add_argument("--executor", choices=["local", "slurm"], help="run the study's runs as jobs")
    c.add_argument("--workers", type=int, default=4, help="jobs at a time (local) / array parallelism (slurm)")
    c.add_argument("--slurm-partition")
    c.add_argument("--slurm-account")
    c.add_argument("--gpus-per-run", type=int, default=0)
    c.add_argument("--cpus-per-run", type=int, default=2)
    c.add_argument("--time", type=int, default=24 * 60, help="time limit per job, minutes (requeued past it)")
    c.add_argument("--mem", type=float, help="memory per job, GB")
    c.add_argument(
        "--sbatch", action="append", default=[], metavar="KEY=VALUE", help="extra sbatch option, e.g. qos=high"
    )
    c.add_argument("--no-wait", action="store_true", help="return after submitting (slurm)")
    c.add_argument("--status", action="store_true", help="each run's state from its directory and its job")
    p.add_argument("--list", action="store_true", help="list studies and profiles")
    p.add_argument("--inception-weights", help="local Inception-v3 weights for FID/KID (never downloaded)")
    p.add_argument("--weights", action="append", default=[], metavar="NAME=PATH",
                   help="a local pretrained-net file, never downloaded (repeatable); NAME is one of: "
                   + "; ".join(f"{n.name} ({n.files}: {n.used_by})" for n in NETS.values()))  # fmt: skip
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


def select_runs(study: Study, args) -> list:
    """The runs the flags ask for; ConfigError on a bad seed list, run id, shard or --weights."""
    sets = dict(parse_set(s) for s in args.set)
    weights = parse_weights(getattr(args, "weights", []))
    if getattr(args, "inception_weights", None):  # the older flag of --weights inception=PATH
        weights = parse_weights([f"inception={args.inception_weights}"]) | weights
    for flag, key in (
        ("data", "data.name"),
        ("device", "train.device"),
    ):
        if getattr(args, flag):
            sets[key] = getattr(args, flag)
    try:
        seeds = tuple(int(s) for s in args.seeds.split(",")) if args.seeds else None
    except ValueError:
        raise ConfigError(f"--seeds expects comma-separated integers, got {args.seeds!r}") from None
    only = None
    if args.only:
        known = study.run_ids(seeds)
        of_variant = {v: study.run_ids(seeds, [v]) for v in study.variants}
        names = [n for arg in args.only for n in ([arg] if arg in known or arg in of_variant else arg.split(","))]
        only = {r for n in names for r in of_variant.get(n, [n])}  # a variant name stands for its seeds' runs
        unknown = only - set(known)
        if unknown:
            raise ConfigError(f"unknown run id(s) {sorted(unknown)}; known: {', '.join(known)}")
    runs = study.runs(args.profile, seeds, sets, only)
    if args.shard:
        m = re.fullmatch(r"(\d+)/(\d+)", args.shard)
        if not m or int(m[2]) == 0 or int(m[1]) >= int(m[2]):
            raise ConfigError(f"--shard expects i/n with 0 <= i < n, got {args.shard!r}")
        runs = runs[int(m[1]) :: int(m[2])]
    quiet = getattr(args, "dry_run", False) or getattr(args, "collect", False)  # nothing is scored
    runs = with_weights(runs, weights, pretrained_metrics(study, runs, weights, say=not quiet))
    for *_, spec in runs:
        resolve_device(spec.train.device)  # DeviceUnavailable before anything is built
    return runs


def train(study: Study, runs: list, args, builds: Builds, executor=None) -> dict:
    """Statuses of `runs`, trained here one after another (a study ETA after the first), or as --executor jobs."""
    if executor is not None:
        submit(study, runs, args, executor)
        return {r[0]: run_statuses(args.out / study.name).get(r[0], {"status": "not run"}) for r in runs}
    statuses, walls = {}, []
    for i, (run_id, variant, seed, spec) in enumerate(runs):
        todo = sum(not (args.out / study.name / r[0] / "done").exists() for r in runs[i:])
        eta = f" study ETA ~{sum(walls) / len(walls) * todo / 60:.0f} min" if walls else ""
        started, fresh = time.perf_counter(), not (args.out / study.name / run_id / "done").exists()
        statuses[run_id] = run_one(study.name, run_id, spec, args.out, builds, not args.no_progress,
                                   f"[{i + 1}/{len(runs)} {run_id}]{eta}", variant, seed, args.profile)  # fmt: skip
        if fresh:
            walls.append(time.perf_counter() - started)
    return statuses


def study_ceiling(runs: list, builds: Builds) -> dict:
    try:
        return ceiling(runs[0][3], builds) if runs else {}
    except Exception as e:  # noqa: BLE001 - the tables are still written without the ceiling row
        print(f"[ceiling] failed: {type(e).__name__}: {e}")
        return {}


def decide_in_rounds(study: Study, args, builds: Builds, executor, keep: bool) -> tuple[list, dict, dict]:
    """--until-decided (studies/runner/rounds.py): each round's runs selected as --seeds/--only would, checked by
    the preflight, trained here or as jobs; the tables rebuilt after each. Returns (one run per claimed variant and
    its status, for the table's notes; the ceiling)."""
    ceil: dict = {}

    def select(seeds, variants):
        return select_runs(
            study,
            argparse.Namespace(**vars(args) | {"seeds": ",".join(map(str, seeds)), "only": variants, "shard": None}),
        )

    def train_round(runs):
        preflight(study.name, runs, args.out, False, builds, True, keep)
        return train(study, runs, args, builds, executor)

    def tables(runs):
        if not ceil:
            ceil.update(study_ceiling(runs, builds))
        return write_tables(study, runs, args.out, ceil)[1]

    start = tuple(int(s) for s in args.seeds.split(",")) if args.seeds else study.seeds
    rounds.until_decided(study, args.out / study.name, start, args.max_seeds, rounds.parse_budget(args.budget),
                         select, train_round, tables)  # fmt: skip
    found = run_statuses(args.out / study.name)  # every variant's runs, for the table's row notes
    runs = select(rounds.start_seeds(start)[:1], [v for v in study.variants if any(v in c.variants for c in
                                                                                   study.claims)])  # fmt: skip
    return runs, {r[0]: found[r[0]] for r in runs if r[0] in found}, ceil


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if args.list or not args.study:
            for name in list_studies():
                s = load_study(name)
                print(f"{name}: {s.question}\n  variants: {', '.join(s.variants)}; profiles: {', '.join(s.profiles)}")
            return 0
        for module in args.recipe_module:
            print(f"[recipes] {', '.join(register_module(RECIPES, module))} registered from {module}")
        study = with_imports(load_study(args.study), args.out, args.import_outputs, args.claim)
        runs = select_runs(study, args)
        if args.export_data:
            manifest = export_data(study.name, args.profile, runs[0][3], args.export_data)
            counts = ", ".join(f"{len(v)} {k}" for k, v in manifest["items"].items())
            print(f"wrote {args.export_data}: {counts} items at {manifest['size']} px, {len(manifest['sha256'])} "
                  f"files; {args.export_data / 'README.txt'} says how to use them")  # fmt: skip
            return 0
        if args.import_outputs:
            builds = Builds(args.out / ".cache", resolve_device(runs[0][3].train.device))
            import_outputs(study, runs[0][3], args.out, builds, args.import_outputs, args.resize, args.allow_lossy)
            results, analysis = write_tables(study, runs, args.out, study_ceiling(runs, builds))
            found = run_statuses(args.out / study.name)
            print_table(study, runs, results, {r[0]: found[r[0]] for r in runs if r[0] in found}, args.profile,
                        analysis["cells"])  # fmt: skip
            print_verdicts(analysis, args.stats)
            return 0
        if args.until_decided:
            clash = [f for f, on in (("--only", args.only), ("--shard", args.shard), ("--rescore", args.rescore),
                                     ("--collect", args.collect), ("--restart", args.restart),
                                     ("--no-wait", args.no_wait)) if on]  # fmt: skip
            if clash:
                raise ConfigError(f"--until-decided chooses each round's runs and resumes at its last round: it "
                                  f"cannot be combined with {', '.join(clash)}")  # fmt: skip
            rounds.require_claims(study)
            rounds.parse_budget(args.budget)
            if args.dry_run:
                print(rounds.describe(study, tuple(int(s) for s in args.seeds.split(",")) if args.seeds
                                      else study.seeds, args.max_seeds))  # fmt: skip
                return 0
        elif args.max_seeds is not None or args.budget:
            raise ConfigError("--max-seeds and --budget belong to --until-decided")
        if args.dry_run and args.executor == "slurm":
            print(sbatch_script(study.name, len(runs), args))
            return 0
        if args.dry_run:
            base = flatten(study.base)
            print(f"{study.name} [{args.profile}]: {len(runs)} run(s)")
            for run_id, _, _, spec in runs:
                print(f"  {run_id}: { ({k: v for k, v in flatten(spec).items() if base.get(k) != v}) }")
            return 0
        rank, size = init_from_env()
        if size > 1 and (len(runs) != 1 or args.executor or args.rescore or args.collect or args.until_decided):
            raise ConfigError(f"torchrun trains one run on {size} processes: pass --only RUN (one run id), and no "
                              "--executor / --rescore / --collect")  # fmt: skip
        if (args.rescore or args.collect) and args.restart:
            raise ConfigError("--rescore and --collect keep the trained runs; they cannot be combined with --restart")
        if args.status:
            for run_id, state in status_rows(study.name, runs, args.out):
                print(f"{run_id:<40} {state}")
            return 0
        if args.collect:
            results, analysis = write_tables(study, runs, args.out, {})
            found = run_statuses(args.out / study.name)
            print_table(study, runs, results, {r[0]: found[r[0]] for r in runs if r[0] in found}, args.profile,
                        analysis["cells"])  # fmt: skip
            print_verdicts(analysis, args.stats)
            return 0
        builds = Builds(args.out / ".cache", resolve_device(runs[0][3].train.device) if runs else None)
        keep = not args.executor  # jobs train in their own processes: no recipe to keep here
        if not args.until_decided:  # each round checks its own runs before it trains them
            preflight(study.name, runs, args.out, args.restart and rank == 0, builds, not args.rescore, keep)
        executor = executor_for(study.name, args) if args.executor else None
    except (ConfigError, PreflightError, DeviceUnavailable, DatasetError, ImportRefused, RecipeNotFound) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    if size > 1:  # torchrun: every rank trains its slices of the one run; rank 0 writes and scores it
        run_id, variant, seed, spec = runs[0]
        statuses = {run_id: run_one(study.name, run_id, spec, args.out, builds, rank == 0 and not args.no_progress,
                                    f"[rank {rank}/{size} {run_id}]", variant, seed, args.profile)}  # fmt: skip
        finish()  # training is over on every rank: no collective comes after it
        if rank > 0:
            return 0
    elif args.until_decided:
        try:
            runs, statuses, ceil = decide_in_rounds(study, args, builds, executor, keep)
        except (ConfigError, PreflightError, DatasetError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    elif args.executor and args.executor == "slurm" and args.no_wait:
        submit(study, runs, args, executor)
        print(f"submitted {len(runs)} job(s); `python -m studies.run {study.name} --status` shows them; each job "
              "rebuilds the tables when it ends (or run --collect)")  # fmt: skip
        return 0
    elif args.rescore:
        statuses = rescore(study, runs, args.out, builds)
    else:
        statuses = train(study, runs, args, builds, executor)
    if not args.until_decided:
        ceil = study_ceiling(runs, builds)
    results, analysis = write_tables(study, runs, args.out, ceil)
    print_table(study, runs, results, statuses, args.profile, analysis["cells"])
    print_verdicts(analysis, args.stats)
    print(f"\nwrote {args.out / study.name / 'results.csv'} and runs.csv in {time.perf_counter() - t0:.0f} s")
    return 1 if any(s.get("status") == "failed" for s in statuses.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
