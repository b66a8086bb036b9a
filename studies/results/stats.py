"""Can I trust the number? Intervals per cell, comparisons between variants, and verdicts on published claims.

Two sources of variation are counted: training runs (seeds) and test items. Each run's final evaluation
writes per_item.csv (studies/results/per_item.py): per-item values of mean metrics (ssim, ms_ssim, l1, psnr,
pair diversity) and per-item class counts of the FCN-score, whose sums over any set of items give that
set's scores. For those metrics:
- a cell's interval is estimate +- t(S-1) x SE, where SE is the standard deviation of a two-level
  bootstrap (resample the S seeds, then the test items within each resampled run; Davison & Hinkley 1997,
  Sec. 3.8), scaled by sqrt(S / (S - 1)) for the plug-in variance of S seeds; t quantiles keep it honest
  for the 3 seeds a CPU study affords (a percentile bootstrap of 3 values is far too narrow);
- a comparison A - B is paired: seed s of A with seed s of B, and the same resampled items for both
  (paired by test item within a seed), combined over seeds by the same t(S-1) rule; p = 2 P(T > |t|).
Metrics with only a per-run value (SWD, Lab histograms, FID) use the seeds alone: a t-interval, and a
paired t-test over seeds for comparisons. With one seed, only item variation is measured (normal
quantiles), which the `method` column says. p-values are Holm-corrected per metric over the pairs of a
study (comparisons.csv) and over all the pairs a study's claims test (claims.csv). Effect size: Cohen's
d_z of the per-seed differences.
A claim "A > B > C" (better by the metric's direction) holds when every consecutive pair is better at
Holm-adjusted p < 0.05, is contradicted when some pair is significantly worse, and is undecided
otherwise, with the seeds a paired t-test would need for 80% power at the observed mean and spread, planned
at Holm's strictest level (0.05 / the claims' pairs) and never fewer than one more than were run. A verdict
needs two seeds or more: one training run says nothing about training variation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from metrics import higher_is_better
from metrics.holm import holm
from metrics.tables import final_rows
from studies.results.per_item import Items, item_table

ALPHA, POWER, BOOT = 0.05, 0.8, 2000


# --- bootstrap ---------------------------------------------------------------------------------


def _resampled(items: list[Items], draws: int, rng) -> np.ndarray:
    """(draws, len(items)) metric values, each on a resample of its run's items (weights ~ Multinomial)."""
    out = np.empty((draws, len(items)))
    for j, it in enumerate(items):
        n = len(it.index)
        w = rng.multinomial(n, np.full(n, 1 / n), size=draws)  # (draws, n)
        out[:, j] = it.value(w @ it.x, n)
    return out


def _paired_resampled(a: list[Items], b: list[Items], draws: int, rng) -> np.ndarray:
    """(draws, S) differences A - B per seed slot, the same item weights for A and B (paired by item)."""
    out = np.empty((draws, len(a)))
    for j, (ia, ib) in enumerate(zip(a, b)):
        n = len(ia.index)
        w = rng.multinomial(n, np.full(n, 1 / n), size=draws)
        out[:, j] = ia.value(w @ ia.x, n) - ib.value(w @ ib.x, n)
    return out


def _two_level_se(per_slot: np.ndarray, rng) -> float:
    """SE of the mean over seeds: resample seed slots, each with its own item resample, x sqrt(S/(S-1))."""
    draws, s = per_slot.shape
    slots = rng.integers(0, s, size=(draws, s))
    boot = per_slot[np.arange(draws)[:, None], slots].mean(1)
    return float(boot.std(ddof=1) * (np.sqrt(s / (s - 1)) if s > 1 else 1.0))


def _interval(estimate: float, se: float, seeds: int) -> tuple[float, float]:
    q = sps.t.ppf(1 - ALPHA / 2, seeds - 1) if seeds > 1 else sps.norm.ppf(1 - ALPHA / 2)
    return estimate - q * se, estimate + q * se


def _p(estimate: float, se: float, seeds: int) -> float:
    if not np.isfinite(se) or se == 0:
        return np.nan if estimate != 0 else 1.0  # no spread at all (quantised values): no evidence either way
    z = abs(estimate) / se
    return float(2 * (sps.t.sf(z, seeds - 1) if seeds > 1 else sps.norm.sf(z)))


# --- cells, comparisons, claims ----------------------------------------------------------------


def _runs(final: pd.DataFrame, variant: str, metric: str) -> pd.DataFrame:
    return final[(final.variant == variant) & (final.metric == metric)].sort_values("seed")


def cell(final: pd.DataFrame, items: dict, variant: str, metric: str, rng) -> dict:
    """estimate (mean over seeds), low, high, seeds, method for one variant and metric.
    `items`: {(run_id, metric): Items or None} (`item_table`)."""
    runs = _runs(final, variant, metric)
    s, est = len(runs), float(runs.value.mean()) if len(runs) else np.nan
    its = [items.get((r, metric)) for r in runs.run_id]
    if s and all(it is not None and len(it.index) for it in its):
        se, method = _two_level_se(_resampled(its, BOOT, rng), rng), "two-level bootstrap"
    elif s > 1:
        se, method = float(runs.value.std(ddof=1) / np.sqrt(s)), "seeds (t)"
    else:
        return {"variant": variant, "metric": metric, "estimate": est, "low": np.nan, "high": np.nan, "seeds": s,
                "method": "one run, per-run value only"}  # fmt: skip
    low, high = _interval(est, se, s)
    method += " (1 seed: items only)" if s == 1 else ""
    return {"variant": variant, "metric": metric, "estimate": est, "low": low, "high": high, "seeds": s,
            "method": method}  # fmt: skip


def compare(final: pd.DataFrame, items: dict, a: str, b: str, metric: str, rng) -> dict:
    """A - B on the seeds both have, paired by seed and (per-item metrics) by test item."""
    ra, rb = _runs(final, a, metric), _runs(final, b, metric)
    seeds = sorted(set(ra.seed) & set(rb.seed))
    ra, rb = ra[ra.seed.isin(seeds)], rb[rb.seed.isin(seeds)]
    d = ra.value.to_numpy() - rb.value.to_numpy()
    s, est = len(seeds), float(d.mean()) if seeds else np.nan
    row = {"metric": metric, "a": a, "b": b, "seeds": s, "mean_a": ra.value.mean(), "mean_b": rb.value.mean(),
           "diff": est, "sd_seeds": float(d.std(ddof=1)) if s > 1 else np.nan}  # fmt: skip
    ia, ib = [items.get((r, metric)) for r in ra.run_id], [items.get((r, metric)) for r in rb.run_id]
    common = [np.intersect1d(x.index, y.index) for x, y in zip(ia, ib)] if all(
        i is not None for i in ia + ib) else []  # fmt: skip
    if s and common and all(len(c) for c in common):
        per_slot = _paired_resampled([x.aligned(c) for x, c in zip(ia, common)],
                                     [y.aligned(c) for y, c in zip(ib, common)], BOOT, rng)  # fmt: skip
        se, method = _two_level_se(per_slot, rng), "paired two-level bootstrap, t(S-1)"
    elif s > 1:
        se, method = float(d.std(ddof=1) / np.sqrt(s)), "paired t over seeds"
    else:
        return row | {"low": np.nan, "high": np.nan, "p": np.nan, "effect_dz": np.nan, "method": "undecidable"}
    low, high = _interval(est, se, s)
    dz = est / row["sd_seeds"] if s > 1 and row["sd_seeds"] > 0 else np.nan
    return row | {"low": low, "high": high, "p": _p(est, se, s), "effect_dz": dz,
                  "method": method + (" (1 seed: items only)" if s == 1 else "")}  # fmt: skip


def seeds_needed(diff: float, sd: float, cap: int = 1000, alpha: float = ALPHA) -> float:
    """Seeds a paired t-test (two-sided, level `alpha`) needs for POWER at this mean difference and seed spread."""
    if not np.isfinite(sd):
        return np.nan  # one seed: no spread to plan with
    if not np.isfinite(diff) or diff == 0:
        return np.inf
    if sd == 0:
        return 2.0
    for n in range(2, cap + 1):
        crit, nc = sps.t.ppf(1 - alpha / 2, n - 1), abs(diff) / (sd / np.sqrt(n))
        if sps.nct.sf(crit, n - 1, nc) + sps.nct.cdf(-crit, n - 1, nc) >= POWER:
            return float(n)
    return np.inf


def verdicts(claims, table: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: verdict, evidence per consecutive pair, seeds needed; Holm over all claimed pairs."""
    pairs = [(k, c, x, y) for k, c in enumerate(claims) for x, y in zip(c.variants, c.variants[1:])]
    found = {(r.metric, r.a, r.b): r for r in table.itertuples()}
    ps = [found[(c.metric, x, y)].p if (c.metric, x, y) in found else np.nan for _, c, x, y in pairs]
    adjusted = dict(zip(range(len(pairs)), holm(ps)))
    rows = []
    for k, claim in enumerate(claims):
        better = higher_is_better(claim.metric) is not False
        status, evidence, need, against = [], [], [], False
        for j, (kk, c, x, y) in enumerate(pairs):
            if kk != k:
                continue
            r = found.get((c.metric, x, y))
            if r is None or not np.isfinite(r.diff):
                status.append("missing")
                evidence.append(f"{x} vs {y}: not run")
                continue
            sign = np.sign(r.diff) * (1 if better else -1)
            significant = np.isfinite(adjusted[j]) and adjusted[j] < ALPHA and r.seeds >= 2  # one run: no verdict
            status.append("holds" if significant and sign > 0 else "contradicted" if significant else "undecided")
            evidence.append(f"{x} vs {y}: {r.diff:+.4f} [{r.low:+.4f}, {r.high:+.4f}], p_holm={adjusted[j]:.3g}"
                            if np.isfinite(r.p) else f"{x} vs {y}: {r.diff:+.4f} (no spread to test: one seed, or "
                            "identical values)")  # fmt: skip
            if not significant and r.seeds < 2:  # one training run: nothing to plan with, nothing against yet
                need.append(np.nan)
            elif not significant:
                against |= sign <= 0
                # planned at Holm's strictest level (ALPHA / pairs), and always beyond the seeds already run
                n = seeds_needed(r.diff * (1 if better else -1), r.sd_seeds, alpha=ALPHA / len(pairs))
                need.append(max(n, r.seeds + 1) if sign > 0 else np.inf)
        verdict = ("contradicted" if "contradicted" in status else "holds" if set(status) == {"holds"}
                   else "not run" if "missing" in status else "undecided")  # fmt: skip
        n = float(np.max(need)) if need and verdict == "undecided" else np.nan
        rows.append({"claim": claim.order, "metric": claim.metric, "source": claim.source, "verdict": verdict,
                     "evidence": "; ".join(evidence), "seeds_needed": n,
                     "plan": _plan(verdict, n, against)})  # fmt: skip
    return pd.DataFrame(rows, columns=["claim", "metric", "source", "verdict", "evidence", "seeds_needed", "plan"])


def _plan(verdict: str, n: float, against: bool) -> str:
    """What would decide an undecided claim, in words."""
    if verdict != "undecided":
        return ""
    if against:
        return "an observed difference points against the claim: more seeds would not make it hold"
    if np.isnan(n):
        return "run 2 or more seeds to measure the spread"
    if np.isinf(n):
        return "the difference is too small for even 1,000 seeds at this spread"
    return f"about {int(n)} seeds would decide it at this spread (80% power)"


def analyse(results: pd.DataFrame, study_dir: Path, variants: list[str], claims=(), seed: int = 0) -> dict:
    """{"cells", "comparisons", "claims"} of a study's final test results (results.csv) and per-item files."""
    final = final_rows(results[results.split == "test"])
    metrics = list(dict.fromkeys(final.metric))
    items = item_table(study_dir, final.run_id.unique(), metrics)
    rng = np.random.default_rng(seed)
    cells = pd.DataFrame([cell(final, items, v, m, rng) for m in metrics for v in variants if v in set(final.variant)])
    comps = pd.DataFrame([compare(final, items, a, b, m, rng) for m in metrics for i, a in enumerate(variants)
                          for b in variants[i + 1:] if {a, b} <= set(final.variant)])  # fmt: skip
    if len(comps):
        comps["p_holm"] = comps.groupby("metric").p.transform(lambda p: holm(p.to_numpy()))
        direction = comps.metric.map(lambda m: higher_is_better(m) is not False)
        a_better = (comps["diff"] > 0) == direction
        comps["better"] = np.where(comps.p_holm < ALPHA, np.where(a_better, comps.a, comps.b), "")
    return {"cells": cells, "comparisons": comps, "claims": verdicts(claims, _both_orders(comps))}


def _both_orders(comps: pd.DataFrame) -> pd.DataFrame:
    """Comparisons listed as (a, b) and (b, a), so a claim may name its pairs in any order."""
    if comps.empty:
        return comps
    flipped = comps.rename(columns={"a": "b", "b": "a", "mean_a": "mean_b", "mean_b": "mean_a"}).assign(
        diff=-comps["diff"], low=-comps["high"], high=-comps["low"], effect_dz=-comps["effect_dz"])  # fmt: skip
    return pd.concat([comps, flipped], ignore_index=True)
