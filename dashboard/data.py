"""Pure-pandas data layer of the dashboard (no Streamlit import): loading with problems reported, not
raised, the leaderboard, paper tables, config diffs, curves, samples, human and bench rows.

Every loader returns what it could read plus a list of problems ("runs/x/results.csv: missing column
'value'"), so one broken file never takes the rest of the dashboard down.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from metrics import higher_is_better, recorded_versions, stale
from metrics.tables import RESULTS_COLUMNS, SchemaError, read_results
from metrics.tables import final_rows as last_step
from studies.results.tables import NOT_METRICS, load_reference

NOT_STUDIES = {"bench", ".cache"}
METRIC_ORDER = ["fcn_pixel_acc", "fcn_class_acc", "fcn_class_iou", "ssim", "ms_ssim", "l1", "psnr", "hist_L", "hist_a",
                "hist_b", "swd_avg", "ms_ssim_diversity", "fid", "kid", "human_mos", "human_fooled_rate"]  # fmt: skip


def order_metrics(metrics) -> list[str]:
    """The paper's column order first, then the rest alphabetically."""
    rank = {m: i for i, m in enumerate(METRIC_ORDER)}
    return sorted(metrics, key=lambda m: (rank.get(m, len(rank)), m))


CEILING_SPLIT = "ceiling"
PUBLISHED = "published (another dataset)"  # the study's reference rows; their sources: reference_sources()


@dataclass
class Loaded:
    results: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=RESULTS_COLUMNS))
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)
    studies: dict[str, dict] = field(default_factory=dict)  # study.json contents
    problems: list[str] = field(default_factory=list)


def list_studies(runs_dir: Path) -> list[str]:
    if not Path(runs_dir).is_dir():
        return []
    return sorted(p.name for p in Path(runs_dir).iterdir()
                  if p.is_dir() and p.name not in NOT_STUDIES and not p.name.startswith("."))  # fmt: skip


def load(runs_dir: Path) -> Loaded:
    """Every study's results.csv, runs.csv and study.json under `runs_dir`; faults go to .problems."""
    runs_dir, out = Path(runs_dir), Loaded()
    if not runs_dir.is_dir():
        out.problems.append(f"{runs_dir}: runs folder not found (run `make run` first, or pass --runs PATH)")
        return out
    results, runs = [], []
    for study in list_studies(runs_dir):
        d = runs_dir / study
        if not (d / "results.csv").exists():
            out.problems.append(f"{d / 'results.csv'}: not written yet (study still running?)")
        else:
            try:
                results.append(read_results(d / "results.csv"))
            except SchemaError as e:
                out.problems.append(str(e))
        if (d / "runs.csv").exists():
            try:
                runs.append(pd.read_csv(d / "runs.csv").assign(study=study))
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
                out.problems.append(f"{d / 'runs.csv'}: not a readable CSV ({e})")
        if (d / "study.json").exists():
            try:
                out.studies[study] = json.loads((d / "study.json").read_text())
            except json.JSONDecodeError as e:
                out.problems.append(f"{d / 'study.json'}: malformed JSON ({e})")
    if results:
        out.results = pd.concat(results, ignore_index=True)
    if runs:
        out.runs = pd.concat(runs, ignore_index=True)
    return out


def final_rows(results: pd.DataFrame, split: str = "test") -> pd.DataFrame:
    """Rows of the last evaluated step of each run, for one split."""
    return last_step(results[results.split == split])


def metric_label(metric: str) -> str:
    d = higher_is_better(metric)
    return f"{metric} {'↑' if d else '↓' if d is False else ''}".strip()


LEADERBOARD_META = ["study", "profile", "dataset", "recipe", "variant", "seeds", "stale"]


def stale_by_variant(runs: pd.DataFrame) -> pd.DataFrame:
    """study, variant, stale: the metrics that any finished run of the variant scored under an older protocol
    than the registry's (runs.csv `protocol/<metric>` columns; runs.csv without them: every metric at v1)."""
    rows = []
    if runs.empty or "variant" not in runs:
        return pd.DataFrame(columns=["study", "variant", "stale"])
    cols = [c for c in runs.columns if c.startswith("protocol/")]
    for rec in runs.to_dict("records"):
        if rec.get("status") != "done":
            continue
        names = [m.strip() for m in str(rec.get("metrics", "")).strip("()").replace("'", "").split(",")]
        versions = recorded_versions({c.split("/", 1)[1]: rec[c] for c in cols if isinstance(rec[c], str)}, names)
        rows.append({"study": rec.get("study"), "variant": rec["variant"], "stale": stale(versions)})
    df = pd.DataFrame(rows, columns=["study", "variant", "stale"])
    if df.empty:
        return df
    return (df.groupby(["study", "variant"], sort=False).stale
            .agg(lambda v: ", ".join(sorted({m for ms in v for m in ms}))).reset_index())  # fmt: skip


def leaderboard(results: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (study, profile, variant): dataset, model family, seeds, stale metrics, mean and std per
    metric. Runs of different profiles (smoke, quick, paper) are never averaged together; runs from before the
    profile was recorded (run.json) show "not recorded".

    Columns: LEADERBOARD_META, then `<metric>` (mean) and `<metric> std`.
    """
    final = final_rows(results)
    if final.empty:
        return pd.DataFrame(columns=LEADERBOARD_META)
    if {"study", "run_id", "profile"} <= set(runs.columns):
        final = final.merge(runs[["study", "run_id", "profile"]], on=["study", "run_id"], how="left")
    else:
        final = final.assign(profile="")
    final = final.assign(profile=final.profile.fillna("").replace("", "not recorded"))
    g = final.groupby(["study", "profile", "variant", "metric"])["value"]
    stats = g.agg(["mean", "std"]).unstack("metric")
    table = stats["mean"].copy()
    for m in stats["std"].columns:
        table[f"{m} std"] = stats["std"][m]
    seeds = final.groupby(["study", "profile", "variant"]).run_id.nunique().rename("seeds")
    table = table.join(seeds).reset_index()
    if not runs.empty and {"data.name", "recipe"} <= set(runs.columns):
        meta = runs.groupby(["study", "variant"])[["data.name", "recipe"]].first().reset_index()
        table = table.merge(meta.rename(columns={"data.name": "dataset"}), on=["study", "variant"], how="left")
    else:
        table["dataset"], table["recipe"] = "", ""
    table = table.merge(stale_by_variant(runs), on=["study", "variant"], how="left")
    table["stale"] = table["stale"].fillna("")
    metrics = order_metrics(stats["mean"].columns)
    return table[LEADERBOARD_META + [c for m in metrics for c in (m, f"{m} std")]]


def best_rows(table: pd.DataFrame, metrics: list[str]) -> dict[str, int]:
    """Index label of the best row per metric column, using each metric's direction (None: no direction)."""
    best = {}
    for m in metrics:
        d = higher_is_better(m)
        col = pd.to_numeric(table[m], errors="coerce") if m in table else pd.Series(dtype=float)
        if d is None or col.dropna().empty:
            continue
        best[m] = col.idxmax() if d else col.idxmin()
    return best


def study_table(results: pd.DataFrame, study: str, info: dict | None, stale: dict[str, str] | None = None,
                intervals: dict[tuple[str, str], str] | None = None) -> pd.DataFrame:  # fmt: skip
    """Paper-style table: variants x metrics as 'mean [95% interval]' (`intervals`, dashboard/verdicts.py
    cell_text) or 'mean ± std' where no interval exists, then the ceiling and published rows.

    Column `kind` says which rows are ours, the real-photo ceiling, or published (another dataset); `stale`
    ({variant: "ssim, ms_ssim"}) marks variants scored under an older protocol."""
    df = results[results.study == study]
    final = final_rows(df)
    extra = (info or {}).get("table_extra", [])  # training diagnostics the study shows as columns (parameters, img/s)
    if extra:
        train = final_rows(df, "train")
        final = pd.concat([final, train[train.metric.isin(extra)]], ignore_index=True)
    rows, intervals = [], intervals or {}
    for variant, g in final.groupby("variant", sort=False):
        cells = {m: intervals.get((variant, m)) or _fmt(v.mean(), v.std()) for m, v in g.groupby("metric").value}
        rows.append({"kind": "ours", "variant": variant, **cells})
        if (stale or {}).get(variant):
            rows[-1]["kind"] = f"ours, stale: {stale[variant]}"
    for variant, g in df[df.split == CEILING_SPLIT].groupby("variant"):
        rows.append({"kind": "ceiling (real photos)", "variant": variant,
                     **{m: _fmt(v.mean()) for m, v in g.groupby("metric").value}})  # fmt: skip
    if info and info.get("reference"):
        names = {k: tuple(v) for k, v in info.get("reference_names", {}).items()}
        file = info.get("reference_file", "pix2pix_cityscapes")  # study.json written before files were per study
        for variant, g in load_reference(file, tuple(info["reference"]), names).groupby("variant", sort=False):
            rows.append({"kind": PUBLISHED, "variant": variant,
                         **{r.metric: f"{r.value:.2f}" for r in g.itertuples()}})  # fmt: skip
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table = table[["kind", "variant", *order_metrics(c for c in table.columns if c not in ("kind", "variant"))]]
    table = table.fillna("—")
    if info and "variants" in info:
        order = {v: i for i, v in enumerate(info["variants"])}
        table = table.assign(_o=table.variant.map(order).fillna(len(order)), _k=table.kind != "ours")
        table = table.sort_values(["_k", "kind", "_o"], kind="stable").drop(columns=["_o", "_k"])
    return table.reset_index(drop=True)


def _fmt(mean: float, std: float = math.nan) -> str:
    return f"{mean:.3f}" + ("" if std is None or math.isnan(std) else f" ± {std:.3f}")


def config_diffs(runs: pd.DataFrame, study: str, info: dict | None) -> pd.DataFrame:
    """Per run, the config fields that differ from the study's base (seed excluded): run_id, field, base, run."""
    r = runs[runs.study == study] if not runs.empty else runs
    base = (info or {}).get("base", {})
    rows = []
    for row in r.to_dict("records"):
        for key, base_value in base.items():
            if key == "train.seed" or key not in row:
                continue
            if str(row[key]) != str(base_value) and not (_isnan(row[key]) and base_value is None):
                rows.append({"run_id": row["run_id"], "field": key, "base": str(base_value), "run": str(row[key])})
    return pd.DataFrame(rows, columns=["run_id", "field", "base", "run"])


def _isnan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


def curves(runs_dir: Path, study: str, run_ids: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Long table (run_id, step, images, series, value) from each run's losses.csv, and the problems met."""
    frames, problems = [], []
    for run_id in run_ids:
        path = Path(runs_dir) / study / run_id / "losses.csv"
        try:
            df = pd.read_csv(path)
        except FileNotFoundError:
            problems.append(f"{path}: no losses logged yet")
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            problems.append(f"{path}: not a readable CSV ({e})")
            continue
        if "step" not in df:
            problems.append(f"{path}: no 'step' column")
            continue
        if "images" not in df:
            df["images"] = pd.NA  # logs written before progress was counted in images
        long = df.melt(id_vars=["step", "images"], var_name="series", value_name="value").dropna(subset=["value"])
        frames.append(long.assign(run_id=run_id))
    columns = ["run_id", "step", "images", "series", "value"]
    if not frames:
        return pd.DataFrame(columns=columns), problems
    return pd.concat(frames, ignore_index=True)[columns], problems


def phase_marks(df: pd.DataFrame) -> pd.DataFrame:
    """(step, images, label) where `phase/resolution` (logged by growing recipes) changes, from curves()."""
    res = df[df.series == "phase/resolution"].sort_values("step")
    if res.empty:
        return pd.DataFrame(columns=["step", "images", "label"])
    first = res[res.run_id == res.run_id.iloc[0]]
    changed = first[first.value.diff().fillna(1) != 0]
    return pd.DataFrame({"step": changed.step, "images": changed.images,
                         "label": [f"{int(v)} px" for v in changed.value]})  # fmt: skip


PANELS = ("G loss", "D loss", "G grad norm", "D grad norm")


def four_panels(df: pd.DataFrame) -> pd.DataFrame:
    """The report's four panels from curves(): each group's summed loss terms and its gradient norm."""
    if df.empty:
        return df
    parts = []
    for group, name in (("g", "G"), ("d", "D")):
        terms = df[df.series.str.startswith(f"{group}/") & ~df.series.str.endswith("grad_norm")]
        total = terms.groupby(["run_id", "step", "images"], dropna=False).value.sum().reset_index()
        norm = df[df.series == f"{group}/grad_norm"]
        parts += [total.assign(series=f"{name} loss"), norm.assign(series=f"{name} grad norm")]
    return pd.concat(parts, ignore_index=True)[["run_id", "step", "images", "series", "value"]]


def metric_curves(runs_dir: Path, study: str, run_ids: list[str]) -> pd.DataFrame:
    """Long table (run_id, step, images, series, value) of the metrics of runs evaluated more than once
    (metrics.jsonl, split test), for curves over training; empty when every run was scored only at its end."""
    rows = []
    for run_id in run_ids:
        path = Path(runs_dir) / study / run_id / "metrics.jsonl"
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if rec.get("split") == "test":
                rows += [{"run_id": run_id, "step": rec["step"], "images": rec.get("images"), "series": k, "value": v}
                         for k, v in rec.items() if k not in NOT_METRICS and isinstance(v, int | float)]  # fmt: skip
    df = pd.DataFrame(rows, columns=["run_id", "step", "images", "series", "value"])
    evals = df.groupby(["run_id", "series"]).step.transform("nunique") if len(df) else pd.Series(dtype=int)
    return df[evals > 1].reset_index(drop=True)


def smooth(df: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Exponential moving average per (run, series); alpha 0 = raw values (TensorBoard-style weight)."""
    if alpha <= 0 or df.empty:
        return df
    out = df.sort_values("step").copy()
    out["value"] = out.groupby(["run_id", "series"]).value.transform(lambda v: v.ewm(alpha=1 - alpha).mean())
    return out


def sample_files(runs_dir: Path, study: str, run_id: str) -> dict[int, dict[str, Path]]:
    """{test index: {"input"|"truth"|"output": path}} of a run's final per-item PNGs."""
    folder = Path(runs_dir) / study / run_id / "samples" / "test"
    out: dict[int, dict[str, Path]] = {}
    if folder.is_dir():
        for p in sorted(folder.glob("*_*.png")):
            index, _, kind = p.stem.partition("_")
            if index.isdigit():
                out.setdefault(int(index), {})[kind] = p
    return out


def human_rows(results: pd.DataFrame) -> pd.DataFrame:
    """The human-evaluation rows (split "human") pivoted: study, variant, then one column per metric."""
    h = results[results.split == "human"]
    if h.empty:
        return pd.DataFrame()
    return h.pivot_table(index=["study", "variant"], columns="metric", values="value", aggfunc="last").reset_index()


def human_details(runs_dir: Path) -> dict[str, pd.DataFrame]:
    """raters.csv and pairwise.csv of every imported questionnaire, with study and protocol columns."""
    out: dict[str, list] = {"raters": [], "pairwise": []}
    for path in sorted(Path(runs_dir).glob("*/human/*/*.csv")):
        if path.stem in out:
            try:
                out[path.stem].append(pd.read_csv(path).assign(study=path.parts[-4], protocol=path.parts[-2]))
            except (pd.errors.ParserError, pd.errors.EmptyDataError):
                continue
    return {k: pd.concat(v, ignore_index=True) if v else pd.DataFrame() for k, v in out.items()}


def load_bench(runs_dir: Path) -> tuple[pd.DataFrame, list[str]]:
    """images_per_s rows of runs/bench/results.csv (written by `make bench`)."""
    path = Path(runs_dir) / "bench" / "results.csv"
    if not path.exists():
        return pd.DataFrame(columns=RESULTS_COLUMNS), []
    try:
        df = read_results(path)
    except SchemaError as e:
        return pd.DataFrame(columns=RESULTS_COLUMNS), [str(e)]
    return df[df.metric == "images_per_s"], []


def compare(results: pd.DataFrame, study_a: str, run_a: str, study_b: str, run_b: str) -> pd.DataFrame:
    """metric, a, b, delta (b - a), better: which run is better by the metric's direction."""
    f = final_rows(results)
    a = f[(f.study == study_a) & (f.run_id == run_a)].set_index("metric").value
    b = f[(f.study == study_b) & (f.run_id == run_b)].set_index("metric").value
    df = pd.DataFrame({"a": a, "b": b}).dropna(how="all")
    df["delta"] = df.b - df.a
    direction = df.index.map(higher_is_better)
    df["better"] = np.select([df.delta == 0, [d is None for d in direction]], ["tie", ""],
                             np.where((df.delta > 0) == np.array([bool(d) for d in direction]), "b", "a"))  # fmt: skip
    return df.reset_index(names="metric")
