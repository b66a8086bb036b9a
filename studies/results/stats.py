"""Can I trust the number? Intervals per cell, comparisons between variants, and verdicts on published claims.

The design is crossed: every run (variant x seed) scores the same test items, so two sources of variation count,
training runs (seeds) and test items, and an item effect is shared by every run. Each run's final evaluation
writes per_item.csv (studies/results/per_item.py): per-item values of mean metrics and per-item class counts of
the confusion-based scores (FCN, label score), whose sums over any set of items give that set's scores. For
those metrics an estimate (a variant's mean over seeds, or the mean over seeds of the paired differences A - B)
gets two variance shares:
- seed share: the variance over seeds of the run values (or of the per-seed differences), divided by S;
- item share: the variance of the seed-averaged value (or of the seed-averaged A - B) under one bootstrap
  resample of the test items shared by every seed and both variants, minus the residual that resample repeats
  (the seed x item part, already in the seed share: the per-seed deviations from the seed average under the
  same resamples, x S / (S - 1), divided by S). Confusion-based scores go through their own formula on the
  resampled counts, so the same rule holds for them.
The 95% interval is estimate +- sqrt(t(S-1)^2 x seed + t(n-1)^2 x item), each share with its own degrees of
freedom (a Banerjee-type interval, after Banerjee 1961, for two variances with their own df); p is
the level at which that interval just reaches 0. A Satterthwaite df is deliberately not used: it rejects 12-13%
of true nulls at 2 seeds. Metrics with only a per-run value (SWD, Lab histograms, FID) have the seed share alone:
a t-interval, and a paired t-test over seeds. Both shares, and which one limits the precision, are in
intervals.csv and comparisons.csv. Calibration (tests/test_stats.py, `python -m bench.stats_calibration`):
coverage and false-positive rates at 3, 5 and 10 seeds in a seed-dominated and an item-dominated setting.
One seed: the interval covers the test items only, and there is no test (p not applicable, nothing "better").
A run whose value is not finite (a NaN loss, an infinite PSNR) is left out of S and named in `dropped`; its
items go with it. p-values are Holm-corrected over all comparisons of a study, every metric together (the
quality metrics: diagnostics such as parameter counts and images/s are left out; comparisons.csv), and over all
the pairs a study's claims test (claims.csv). Effect size: Cohen's d_z of the per-seed differences.
A claim "A > B > C" (better by the metric's direction) holds when every consecutive pair is better at
Holm-adjusted p < 0.05, is contradicted when some pair is significantly worse, and is undecided otherwise. The
plan of an undecided claim is computed for the test used (the seed share shrinks with more seeds, the item share
does not), at Holm's strictest level (0.05 / the claims' pairs), for the joint power of all its pairs (80%), at
the observed differences and at both ends of their intervals (a range), and never below one more seed than run.
These verdicts are for one look at the data. A study run `--until-decided` looks after every round of seeds; its
claims are then decided by a group-sequential design (Lan-DeMets O'Brien-Fleming-type alpha spending over the looks,
Holm within it after Maurer & Bretz 2013), in studies/results/sequential.py, which reuses this module's comparisons.
"""

from __future__ import annotations

from functools import reduce

import numpy as np
import pandas as pd
from scipy import optimize, special
from scipy import stats as sps

from metrics import higher_is_better
from metrics.holm import holm
from metrics.tables import final_rows
from studies.results.per_item import Items, item_table

ALPHA, POWER, BOOT, MAX_SEEDS = 0.05, 0.8, 2000, 1000


# --- the crossed decomposition -----------------------------------------------------------------


def _shared_resample(runs: list[list[tuple[Items, float]]], draws: int, rng) -> np.ndarray:
    """(draws, S): per seed slot, the signed sum of its runs' values ([(items, sign)], e.g. A minus B), every slot
    and run under the same item weights ~ Multinomial (one item resample shared by all seeds and variants)."""
    n = len(runs[0][0][0].index)
    picks = rng.integers(0, n, size=(draws, n)) + n * np.arange(draws)[:, None]  # n items drawn with replacement
    w = np.bincount(picks.ravel(), minlength=draws * n).reshape(draws, n)  # (draws, n) ~ Multinomial(n, 1/n)
    return np.stack([sum(sign * it.value(w @ it.x, n) for it, sign in slot) for slot in runs], axis=1)


def shares(values: np.ndarray, boot: np.ndarray | None) -> tuple[float, float]:
    """(seed share, item share) of the mean of `values` (S,) over seeds; `boot` (draws, S) the per-seed values
    under shared item resamples (None: no per-item values, no item share)."""
    s = len(values)
    seed = float(np.var(values, ddof=1) / s) if s > 1 else np.nan
    if boot is None:
        return seed, np.nan
    mean = boot.mean(1)
    residual = float((boot - mean[:, None]).var(axis=0, ddof=1).mean() * s / (s - 1)) if s > 1 else 0.0
    return seed, max(float(mean.var(ddof=1)) - residual / s, 0.0)


def _q(alpha: float, df: float) -> np.float64:
    """t(df) quantile at 1 - alpha / 2: -stdtrit(df, alpha / 2), the same value as scipy.stats.t.isf (tail-exact) at
    1/60 of its cost (p_value's root search calls it ~60 times per comparison)."""
    return np.float64(-special.stdtrit(df, alpha / 2)) if df >= 1 else np.float64(np.inf)


def half_width(seed: float, item: float, s: int, n: int, alpha: float = ALPHA) -> float:
    """sqrt(t(S-1)^2 seed + t(n-1)^2 item); a missing share (NaN) is left out."""
    with np.errstate(over="ignore"):  # a quantile at a tiny level overflows to inf: an interval without end
        parts = [_q(alpha, s - 1) ** 2 * seed if np.isfinite(seed) and seed > 0 else 0.0,
                 _q(alpha, n - 1) ** 2 * item if np.isfinite(item) and item > 0 else 0.0]  # fmt: skip
        return float(np.sqrt(sum(parts)))


def p_value(estimate: float, seed: float, item: float, s: int, n: int) -> float:
    """The level at which the interval just reaches 0; NaN with one seed (no test) or a non-finite estimate."""
    if s < 2 or not np.isfinite(estimate) or not np.isfinite(seed):
        return np.nan
    item = item if np.isfinite(item) else 0.0
    if seed + item == 0:
        return np.nan if estimate != 0 else 1.0  # no spread at all (quantised values): no evidence either way
    if estimate == 0:
        return 1.0
    if item == 0:  # the paired t-test over seeds
        return float(2 * sps.t.sf(abs(estimate) / np.sqrt(seed), s - 1))
    gap = lambda log_alpha: half_width(seed, item, s, n, 10.0**log_alpha) - abs(estimate)  # noqa: E731
    return 10.0 ** optimize.brentq(gap, -100, 0, xtol=1e-10) if gap(-100) > 0 else 1e-100


def _limit(seed: float, item: float, s: int, n: int) -> str:
    """Which share limits the precision: the larger term of the half-width."""
    a = _q(ALPHA, s - 1) ** 2 * seed if np.isfinite(seed) and s > 1 else 0.0
    b = _q(ALPHA, n - 1) ** 2 * item if np.isfinite(item) else 0.0
    return "" if a == b == 0 else "seeds" if a >= b else "test items"


# --- cells and comparisons ---------------------------------------------------------------------


def _runs(final: pd.DataFrame, variant: str, metric: str) -> tuple[pd.DataFrame, list[str]]:
    """A variant's runs of a metric with a finite value (sorted by seed), and the run ids left out."""
    runs = final[(final.variant == variant) & (final.metric == metric)].sort_values("seed")
    ok = np.isfinite(pd.to_numeric(runs.value, errors="coerce"))
    return runs[ok], runs.run_id[~ok].tolist()


def _aligned(groups: list[list[Items | None]]) -> list[list[Items]] | None:
    """Each run's Items on the items every run has (None when a run has none, or fewer than 2 are common)."""
    flat = [it for g in groups for it in g]
    if not flat or any(it is None or not len(it.index) for it in flat):
        return None
    common = reduce(np.intersect1d, [it.index for it in flat])
    return [[it.aligned(common) for it in g] for g in groups] if len(common) >= 2 else None


def _interval(row: dict, values: np.ndarray, groups, signs, rng) -> dict:
    """row + estimate's shares, interval, limit and method from per-seed `values` and their runs' Items."""
    s, est = len(values), float(values.mean())
    aligned = _aligned(groups)
    if aligned is not None:
        boot = _shared_resample([list(zip(g, signs)) for g in aligned], BOOT, rng)
        (seed, item), n = shares(values, boot), len(aligned[0][0].index)
        method = "crossed: seeds t(S-1) + items t(n-1)" if s > 1 else "1 seed: items only, no test"
    elif s > 1:
        seed, item, n, method = float(np.var(values, ddof=1) / s), np.nan, 0, "seeds t(S-1)"
    else:
        seed, item, n, method = np.nan, np.nan, 0, "one run, per-run value only"
    hw = half_width(seed, item, s, n) if s > 1 or aligned is not None else np.nan
    return row | {"low": est - hw, "high": est + hw, "seed_share": seed, "item_share": item, "items": n,
                  "limit": _limit(seed, item, s, n), "method": method}  # fmt: skip


def cell(final: pd.DataFrame, items: dict, variant: str, metric: str, rng) -> dict:
    """estimate (mean over the seeds with a finite value), interval, shares, seeds, method for one variant and
    metric. `items`: {(run_id, metric): Items or None} (studies/results/per_item.py item_table)."""
    runs, dropped = _runs(final, variant, metric)
    values = runs.value.to_numpy(dtype=float)
    row = {"variant": variant, "metric": metric, "estimate": float(values.mean()) if len(values) else np.nan,
           "seeds": len(values), "dropped": ", ".join(dropped)}  # fmt: skip
    if not len(values):
        return row | {"low": np.nan, "high": np.nan, "method": "no run with a finite value"}
    return _interval(row, values, [[items.get((r, metric))] for r in runs.run_id], [1.0], rng)


def compare(final: pd.DataFrame, items: dict, a: str, b: str, metric: str, rng) -> dict:
    """A - B on the seeds both have a finite value for, paired by seed and (per-item metrics) by test item."""
    (ra, da), (rb, db) = _runs(final, a, metric), _runs(final, b, metric)
    seeds = sorted(set(ra.seed) & set(rb.seed))
    ra, rb = ra[ra.seed.isin(seeds)], rb[rb.seed.isin(seeds)]
    d = ra.value.to_numpy(dtype=float) - rb.value.to_numpy(dtype=float)
    s = len(seeds)
    row = {"metric": metric, "a": a, "b": b, "seeds": s, "mean_a": ra.value.mean(), "mean_b": rb.value.mean(),
           "diff": float(d.mean()) if s else np.nan, "sd_seeds": float(d.std(ddof=1)) if s > 1 else np.nan,
           "dropped": ", ".join(da + db)}  # fmt: skip
    if not s:
        return row | {"low": np.nan, "high": np.nan, "p": np.nan, "effect_dz": np.nan, "method": "undecidable"}
    groups = [[items.get((x, metric)), items.get((y, metric))] for x, y in zip(ra.run_id, rb.run_id)]
    row = _interval(row, d, groups, [1.0, -1.0], rng)
    row["p"] = p_value(row["diff"], row["seed_share"], row["item_share"], s, row["items"])
    row["effect_dz"] = row["diff"] / row["sd_seeds"] if s > 1 and row["sd_seeds"] > 0 else np.nan
    return row


# --- planning: how many seeds would decide a claim ---------------------------------------------


def power(delta: float, v_seed: float, item: float, s: int, n: int, alpha: float) -> float:
    """Power of the crossed test with `s` seeds at true difference `delta`, per-seed variance `v_seed` and item
    share `item` (which more seeds do not shrink); a noncentral t with S-1 df, exact for the paired t-test."""
    item = item if np.isfinite(item) else 0.0
    se = np.sqrt(v_seed / s + item)
    if se == 0:
        return float(abs(delta) > 0)
    crit, nc = half_width(v_seed / s, item, s, n, alpha) / se, abs(delta) / se
    upper, lower = sps.nct.sf(crit, s - 1, nc), sps.nct.cdf(-crit, s - 1, nc)  # scipy gives NaN far in a tail
    return float(np.nan_to_num(upper, nan=float(nc > crit)) + np.nan_to_num(lower, nan=0.0))


def seeds_for(pairs: list[tuple[float, float, float, int]], alpha: float, start: int) -> float:
    """Fewest seeds >= start whose joint power over `pairs` [(delta, per-seed variance, item share, n)] reaches
    POWER; inf when even MAX_SEEDS do not (or a delta is not on the claim's side)."""
    if any(not np.isfinite(d) or d <= 0 for d, *_ in pairs):
        return np.inf
    joint = lambda s: np.prod([power(d, v, i, s, n, alpha) for d, v, i, n in pairs])  # noqa: E731
    lo, hi = max(start, 2), MAX_SEEDS
    if joint(hi) < POWER:
        return np.inf
    while lo < hi:  # power grows with the seeds: bisect
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if joint(mid) >= POWER else (mid + 1, hi)
    return float(lo)


def _plan(pairs: list[dict], alpha: float) -> dict:
    """seeds_needed (at the observed differences), seeds_low / seeds_high (at the favourable and unfavourable
    ends of their intervals) and the plan in words, for the pairs of one undecided claim (claim direction)."""
    if any(p["seeds"] < 2 for p in pairs):
        return {"plan": "run 2 or more seeds to measure the spread"}
    if any(p["diff"] <= 0 for p in pairs):
        return {"plan": "an observed difference points against the claim"}
    start = max(p["seeds"] for p in pairs) + 1

    def need(key):
        return seeds_for([(p[key], p["sd"] ** 2, p["item"], p["n"]) for p in pairs], alpha, start)

    n, lo, hi = need("diff"), need("high"), need("low")
    out = {"seeds_needed": n, "seeds_low": lo, "seeds_high": hi}
    if np.isinf(n):  # would endless seeds (no seed share left) decide it? if not, the test items limit it
        endless = np.prod([power(p["diff"], 0.0, p["item"], MAX_SEEDS, p["n"], alpha) for p in pairs])
        return out | {"plan": "the item share alone is too large: more test items, not more seeds" if endless < POWER
                      else f"the difference is too small for even {MAX_SEEDS:,} seeds at this spread"}  # fmt: skip
    if np.isinf(hi):
        span = f"{int(lo)} to more than {MAX_SEEDS:,}"
    else:
        span = f"{int(lo)}" if lo == hi else f"{int(lo)}-{int(hi)}"
    return out | {"plan": f"about {int(n)} seeds would decide it at the observed difference ({span} over its 95% "
                          "interval; 80% joint power)"}  # fmt: skip


def verdicts(claims, table: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: verdict, evidence per consecutive pair, plan; Holm over all claimed pairs."""
    pairs = [(k, c, x, y) for k, c in enumerate(claims) for x, y in zip(c.variants, c.variants[1:])]
    found = {(r.metric, r.a, r.b): r for r in table.itertuples()}
    ps = [found[(c.metric, x, y)].p if (c.metric, x, y) in found else np.nan for _, c, x, y in pairs]
    adjusted = dict(zip(range(len(pairs)), holm(ps)))
    level = ALPHA / max(len(pairs), 1)  # plans at Holm's strictest level
    rows = []
    for k, claim in enumerate(claims):
        sign = 1 if higher_is_better(claim.metric) is not False else -1
        status, evidence, undecided = [], [], []
        for j, (kk, c, x, y) in enumerate(pairs):
            if kk != k:
                continue
            r = found.get((c.metric, x, y))
            if r is None or not np.isfinite(r.diff):
                status.append("missing")
                evidence.append(f"{x} vs {y}: not run")
                continue
            significant = np.isfinite(adjusted[j]) and adjusted[j] < ALPHA and r.seeds >= 2  # one run: no verdict
            better = np.sign(r.diff) * sign > 0
            status.append("holds" if significant and better else "contradicted" if significant else "undecided")
            evidence.append(f"{x} vs {y}: {r.diff:+.4f} [{r.low:+.4f}, {r.high:+.4f}], p_holm={adjusted[j]:.3g}"
                            if np.isfinite(adjusted[j]) else f"{x} vs {y}: {r.diff:+.4f} (p not applicable: "
                            + ("one seed)" if r.seeds < 2 else "no spread)"))  # fmt: skip
            ends = sorted((sign * r.low, sign * r.high))
            undecided.append({"seeds": r.seeds, "diff": sign * r.diff, "low": ends[0], "high": ends[1],
                              "sd": r.sd_seeds, "item": getattr(r, "item_share", np.nan),
                              "n": int(getattr(r, "items", 0) or 0)})  # fmt: skip
        verdict = ("contradicted" if "contradicted" in status else "holds" if set(status) == {"holds"}
                   else "not run" if "missing" in status else "undecided")  # fmt: skip
        plan = _plan(undecided, level) if verdict == "undecided" else {}
        rows.append({"claim": claim.order, "metric": claim.metric, "source": claim.source, "verdict": verdict,
                     "evidence": "; ".join(evidence), "seeds_needed": plan.get("seeds_needed", np.nan),
                     "seeds_low": plan.get("seeds_low", np.nan), "seeds_high": plan.get("seeds_high", np.nan),
                     "plan": plan.get("plan", "")})  # fmt: skip
    columns = ["claim", "metric", "source", "verdict", "evidence", "seeds_needed", "seeds_low", "seeds_high", "plan"]
    return pd.DataFrame(rows, columns=columns)


def analyse(results: pd.DataFrame, study_dir, variants: list[str], claims=(), seed: int = 0) -> dict:
    """{"cells", "comparisons", "claims"} of a study's final test results (results.csv) and per-item files."""
    final = final_rows(results[results.split == "test"])
    metrics = list(dict.fromkeys(final.metric))
    items = item_table(study_dir, final.run_id.unique(), metrics)
    rng = np.random.default_rng(seed)
    cells = pd.DataFrame([cell(final, items, v, m, rng) for m in metrics for v in variants if v in set(final.variant)])
    comps = pd.DataFrame([compare(final, items, a, b, m, rng) for m in metrics for i, a in enumerate(variants)
                          for b in variants[i + 1:] if {a, b} <= set(final.variant)])  # fmt: skip
    if len(comps):
        scored = comps.metric.map(lambda m: higher_is_better(m) is not None)  # not diagnostics (params, img/s)
        comps["p_holm"] = np.nan
        comps.loc[scored, "p_holm"] = holm(comps.p[scored].to_numpy())  # every metric of the table together
        direction = comps.metric.map(lambda m: higher_is_better(m) is not False)
        a_better = (comps["diff"] > 0) == direction
        decided = (comps.p_holm < ALPHA) & (comps.seeds >= 2)
        comps["better"] = np.where(decided, np.where(a_better, comps.a, comps.b), "")
    return {"cells": cells, "comparisons": comps, "claims": verdicts(claims, both_orders(comps))}


def both_orders(comps: pd.DataFrame) -> pd.DataFrame:
    """Comparisons listed as (a, b) and (b, a), so a claim may name its pairs in any order."""
    if comps.empty:
        return comps
    flipped = comps.rename(columns={"a": "b", "b": "a", "mean_a": "mean_b", "mean_b": "mean_a"}).assign(
        diff=-comps["diff"], low=-comps["high"], high=-comps["low"], effect_dz=-comps["effect_dz"])  # fmt: skip
    return pd.concat([comps, flipped], ignore_index=True)
