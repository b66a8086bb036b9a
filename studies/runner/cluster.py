"""A study's runs as jobs: `--executor local|slurm` through submitit (github.com/facebookincubator/submitit), and
`--status` of every run from its directory and its job.

One job per run, submitted as one job array (`executor.batch()`); each job trains its run through the same
`run_one` as a local run (claim, resume, failure record) and then rebuilds the study's tables under the study
lock (studies/results/collect.py), so the tables are complete whichever job ends last. A job that reaches its time
limit or is preempted is requeued by submitit's checkpointing hook (RunJob is a Checkpointable) and resumes
from the run's last checkpoint. The local executor runs jobs as subprocesses of this machine, at most
`--workers` at a time (submitted in waves); on SLURM `--workers` caps the array (slurm_array_parallelism).
"""

from __future__ import annotations

import json
from pathlib import Path

import submitit

from metrics.tables import study_lock, write_json_atomic
from models.train import resolve_device
from studies.results.collect import collect
from studies.runner.build import Builds
from studies.runner.execute import RunClaim, run_one
from studies.spec import ConfigError, spec_from_config, to_config


class RunJob(submitit.helpers.Checkpointable):
    """What one job does: train and score one run, then rebuild the tables. Pickled with plain data only."""

    def __init__(self, study: str, question: str, run_id: str, variant: str, seed: int, config: dict, out: str,
                 profile: str = ""):  # fmt: skip
        self.study, self.question, self.run_id, self.variant, self.seed = study, question, run_id, variant, seed
        self.config, self.out, self.profile = config, out, profile

    def __call__(self) -> dict:
        spec, out = spec_from_config(self.config), Path(self.out)
        builds = Builds(out / ".cache", resolve_device(spec.train.device))
        profile = getattr(self, "profile", "")  # a job pickled before profiles were recorded has none
        status = run_one(self.study, self.run_id, spec, out, builds, False, self.run_id, self.variant, self.seed,
                         profile)  # fmt: skip
        with study_lock(out / self.study):
            collect(out / self.study, self.study, self.question)
        return status


def _sbatch(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--sbatch expects KEY=VALUE (an sbatch option without its dashes), got {item!r}")
        out[key.strip().lstrip("-").replace("-", "_")] = value.strip()
    return out


def sbatch_script(study: str, n_runs: int, args) -> str:
    """The sbatch file submitit writes for this study's job array (for `--executor slurm --dry-run`)."""
    from submitit.slurm.slurm import _make_sbatch_string  # the function SlurmExecutor itself uses

    return _make_sbatch_string(
        command=f"python -u -m submitit.core._submit {Path(args.out) / study / '.submitit' / '%j'}",
        folder=Path(args.out) / study / ".submitit" / "%j", job_name=f"ganbench-{study}",
        partition=args.slurm_partition, time=args.time, ntasks_per_node=1, cpus_per_task=args.cpus_per_run,
        gpus_per_node=args.gpus_per_run or None, mem=f"{args.mem}GB" if args.mem else None,
        account=args.slurm_account, array_parallelism=args.workers, map_count=n_runs,
        additional_parameters=_sbatch(args.sbatch) or None,
    )  # fmt: skip


def executor_for(study: str, args) -> submitit.Executor:
    folder = Path(args.out) / study / ".submitit"
    try:
        executor = submitit.AutoExecutor(folder=folder / "%j", cluster=args.executor)
    except RuntimeError as e:  # no srun: not on a SLURM cluster
        raise ConfigError(
            f"--executor {args.executor}: {e} (`--executor slurm --dry-run` prints the job script)"
        ) from None
    params = {"name": f"ganbench-{study}", "timeout_min": args.time, "tasks_per_node": 1,
              "cpus_per_task": args.cpus_per_run}  # fmt: skip
    if args.mem:
        params["mem_gb"] = args.mem
    if args.gpus_per_run:
        params["gpus_per_node"] = args.gpus_per_run
    if args.executor == "slurm":
        params |= {"slurm_array_parallelism": args.workers, "slurm_additional_parameters": _sbatch(args.sbatch)}
        params |= {k: v for k, v in (("slurm_partition", args.slurm_partition),
                                     ("slurm_account", args.slurm_account)) if v}  # fmt: skip
    executor.update_parameters(**params)
    return executor


def submit(study, runs: list, args, executor: submitit.Executor) -> list:
    """Submit one job per run (the runs' directories get job.json); waits unless --no-wait. Returns the jobs."""
    jobs = []
    waves = [runs[i : i + args.workers] for i in range(0, len(runs), args.workers)] if args.executor == "local" \
        else [runs]  # fmt: skip
    for wave in waves:
        batch = []
        with executor.batch():
            for run_id, variant, seed, spec in wave:
                config = to_config(spec)
                job = RunJob(study.name, study.question, run_id, variant, seed, config, str(args.out), args.profile)
                batch.append((run_id, executor.submit(job)))
        for run_id, job in batch:
            run_dir = Path(args.out) / study.name / run_id
            run_dir.mkdir(parents=True, exist_ok=True)
            job_info = {"executor": args.executor, "job_id": job.job_id,
                        "folder": str(Path(args.out) / study.name / ".submitit")}  # fmt: skip
            write_json_atomic(job_info, run_dir / "job.json")
            print(f"[{run_id}] submitted as {args.executor} job {job.job_id}")
        jobs += [job for _, job in batch]
        if args.executor == "local" or not args.no_wait:
            for _, job in batch:
                try:
                    job.result()
                except Exception as e:  # noqa: BLE001 - a failed job is recorded in its run directory
                    print(f"[job {job.job_id}] ended without a result: {type(e).__name__}: {str(e)[-300:]}")
    return jobs


def status_rows(study_name: str, runs: list, out: Path) -> list[tuple[str, str]]:
    """(run id, state): done, failed (error), running (claim holder), queued / <scheduler state> (job), not started."""
    rows = []
    for run_id, *_ in runs:
        d = out / study_name / run_id
        run = json.loads((d / "run.json").read_text()) if (d / "run.json").exists() else {}
        if (d / "done").exists():
            state = "done"
        elif run.get("status") == "failed":
            state = f"failed: {run.get('error', '')}"
        else:
            with RunClaim(d, record=False) as claim:
                held = not claim.acquired
            state = f"running ({claim.holder()})" if held else _job_state(d)
        rows.append((run_id, state))
    return rows


def _job_state(run_dir: Path) -> str:
    path = run_dir / "job.json"
    if not path.exists():
        return "resumable (checkpoint)" if (run_dir / "checkpoint.pt").exists() else "not started"
    job = json.loads(path.read_text())
    if job.get("executor") == "slurm":
        try:
            state = submitit.SlurmJob(folder=Path(job["folder"]) / "%j", job_id=job["job_id"]).state
        except Exception as e:  # noqa: BLE001 - sacct may be unreachable from here
            state = f"unknown ({type(e).__name__})"
        return f"{state.lower()} (slurm job {job['job_id']})"
    return f"submitted (local job {job['job_id']}), not running"
