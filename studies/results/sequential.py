"""Run a study until its claims are decided: a group-sequential design over the looks at the seed counts run.

`python -m studies.run NAME --until-decided --max-seeds 8` (studies/runner/rounds.py) trains the study's seeds,
looks at its claims, adds seeds in rounds to the variants that the undecided claims involve, and looks again.
Each look at a claimed pair is the crossed test of studies/results/stats.py at that pair's seed count S; its p
is compared with a nominal level that keeps the chance of any false verdict over all looks at 5%:
- alpha spending (Lan & DeMets 1983, Biometrika 70:659) with the O'Brien-Fleming-type spending function
  2 - 2 Phi(z_{1-alpha/4} / sqrt(t)) on each side (ldbounds' two-sided convention), at the information
  fractions t = S / max_seeds of the looks actually taken (t = 1 at the cap, where the whole alpha is spent).
  The boundaries are the two-sided ones of the canonical joint distribution (corr(Z_i, Z_j) = sqrt(t_i / t_j)),
  found by the recursive numerical integration of Armitage, McPherson & Rowe (1969) on a grid (no maintained
  Python library computes them; the R packages ldbounds and gsDesign do, and tests/test_sequential.py checks ours
  against their published values). When the item share dominates, later looks are more alike than
  sqrt(t_i / t_j) says: the design is then conservative.
- several claimed pairs: Holm within the group-sequential design (Maurer & Bretz 2013, Statistics in
  Biopharmaceutical Research 5:311): each open pair at level alpha / (open pairs), every look re-read at the new
  level whenever a pair is decided; a decided pair stays decided.
- the seed counts of the looks follow a fixed schedule (S -> ceil(1.5 S), capped), never the data, so the looks'
  timing cannot inflate the error; the data only decide which claims still get seeds. A claim is stopped without a
  verdict (a non-binding futility stop, which can only lower the false-verdict rate) when its plan says that even
  the favourable end of its interval needs more seeds than the cap, or that the test items limit it.
Calibration by simulation in the crossed model (tests/test_sequential.py, `python -m bench.stats_calibration
--sequential`): false verdicts under no difference, and the average seed count against a fixed design of equal power.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as sps

from metrics import higher_is_better

ALPHA, GROWTH, GRID = 0.05, 1.5, 1601
SPENDING = "Lan-DeMets O'Brien-Fleming-type alpha spending, Holm across pairs (Maurer & Bretz 2013)"


def spent(t: float, alpha: float) -> float:
    """Both sides' alpha spent by information fraction t: on each side the O'Brien-Fleming-type function at alpha / 2,
    2 - 2 Phi(z_{1-alpha/4} / sqrt(t)) (ldbounds' two-sided convention and gsDesign's sfLDOF)."""
    return 0.0 if t <= 0 else alpha if t >= 1 else float(4 * sps.norm.sf(sps.norm.isf(alpha / 4) / math.sqrt(t)))


@lru_cache(maxsize=4096)
def boundaries(fractions: tuple[float, ...], alpha: float = ALPHA) -> tuple[float, ...]:
    """Two-sided z boundaries c_k at information fractions t_1 < t_2 < ... (each <= 1) spending alpha(t); inf
    where a look spends nothing (an information fraction not above the previous one)."""
    out, density, grid, weights, prev_t, prev_spent = [], None, None, None, 0.0, 0.0
    for t in fractions:
        t = min(float(t), 1.0)
        target = spent(t, alpha) - prev_spent
        if t <= prev_t or target <= 0:
            out.append(math.inf)
            continue
        dt = t - prev_t
        if density is None:  # the first look: B(t) ~ N(0, t)
            c = float(sps.norm.isf(target / 2))
        else:  # P(|B(t)| >= c sqrt(t), no earlier crossing) = target, B(t) = B(t_prev) + N(0, dt)

            def excess(c, x=grid, f=density * weights, t=t, dt=dt, target=target):
                b, sd = c * math.sqrt(t), math.sqrt(dt)
                return float(f @ (sps.norm.cdf((-b - x) / sd) + sps.norm.sf((b - x) / sd))) - target

            c = optimize.brentq(excess, 0.0, 40.0, xtol=1e-10)  # the crossing probability falls as c grows
        out.append(c)
        b = c * math.sqrt(t)  # the density of B(t) on the continuation region |B(t)| < b
        new_grid = np.linspace(-b, b, GRID)
        if density is None:
            new_density = sps.norm.pdf(new_grid, scale=math.sqrt(t))
        else:
            kernel = np.exp(-0.5 * (new_grid[:, None] - grid[None, :]) ** 2 / dt) / math.sqrt(2 * math.pi * dt)
            new_density = kernel @ (density * weights)
        grid, density = new_grid, new_density
        weights = np.full(GRID, grid[1] - grid[0])
        weights[[0, -1]] /= 2  # trapezoid rule
        prev_t, prev_spent = t, spent(t, alpha)
    return tuple(out)


def nominal_levels(seeds: list[int], max_seeds: int, alpha: float = ALPHA) -> list[float]:
    """The p-value each look must reach: 2 (1 - Phi(c_k)) at the information fractions seeds / max_seeds."""
    return [float(2 * sps.norm.sf(c)) for c in boundaries(tuple(s / max_seeds for s in seeds), alpha)]


def next_seeds(seeds: int, max_seeds: int) -> int:
    """The next look's seed count: ceil(1.5 S), at least S + 1, at most the cap (3 -> 5 -> 8 -> 12 -> 18)."""
    return min(max(math.ceil(GROWTH * seeds), seeds + 1), max_seeds)


# --- the decision over the looks taken ----------------------------------------------------------


def pairs_of(claims) -> list[tuple[str, str, str]]:
    """(metric, a, b) of every consecutive pair the claims name, once each, in claim order."""
    return list(dict.fromkeys((c.metric, x, y) for c in claims for x, y in zip(c.variants, c.variants[1:])))


def history(looks: list[dict]) -> dict[tuple, list[dict]]:
    """{(metric, a, b): [look rows]}: each pair's looks in order, one per seed count (a repeated count is no new
    look: the same data)."""
    out: dict[tuple, list[dict]] = {}
    for look in looks:
        for row in look["pairs"]:
            key = (row["metric"], row["a"], row["b"])
            if not out.get(key) or out[key][-1]["seeds"] < row["seeds"]:
                out.setdefault(key, []).append(row | {"round": look["round"]})
    return out


def decide(looks: list[dict], claims, max_seeds: int, alpha: float = ALPHA) -> dict[tuple, dict]:
    """{(metric, a, b): {"decided": look index or None, "levels": nominal levels per look, "rows": its looks}},
    by Holm within the group-sequential design (module docstring)."""
    seen = history(looks)
    keys = pairs_of(claims)
    rows = {k: [r for r in seen.get(k, []) if r["seeds"] >= 2 and np.isfinite(r["p"])] for k in keys}
    decided: dict[tuple, int] = {}
    level_of: dict[tuple, float] = {}
    while True:
        level = alpha / max(len(keys) - len(decided), 1)
        new = {}
        for k in keys:
            if k in decided or not rows[k]:
                continue
            levels = nominal_levels([r["seeds"] for r in rows[k]], max_seeds, level)
            hit = next((j for j, (r, lv) in enumerate(zip(rows[k], levels)) if r["p"] <= lv), None)
            if hit is not None:
                new[k] = hit
                level_of[k] = level
        if not new:
            break
        decided.update(new)
    final = alpha / max(len(keys) - len(decided), 1)
    return {k: {"decided": decided.get(k), "rows": rows[k],
                "levels": nominal_levels([r["seeds"] for r in rows[k]], max_seeds, level_of.get(k, final))}
            for k in keys}  # fmt: skip


def claim_state(claim, pairs: dict[tuple, dict]) -> tuple[str, list[str]]:
    """(verdict, evidence per pair) of one claim from its pairs' decisions."""
    sign = 1 if higher_is_better(claim.metric) is not False else -1
    status, evidence = [], []
    for x, y in zip(claim.variants, claim.variants[1:]):
        p = pairs[(claim.metric, x, y)]
        if not p["rows"]:
            status.append("undecided")
            evidence.append(f"{x} vs {y}: no look with 2 or more seeds")
            continue
        j = p["decided"] if p["decided"] is not None else len(p["rows"]) - 1
        r, lv = p["rows"][j], p["levels"][j]
        if p["decided"] is None:
            status.append("undecided")
        else:
            status.append("holds" if np.sign(r["diff"]) * sign > 0 else "contradicted")
        op = "<=" if p["decided"] is not None else ">"
        evidence.append(f"{x} vs {y} at {r['seeds']} seeds: {r['diff']:+.4f} [{r['low']:+.4f}, {r['high']:+.4f}], "
                        f"p={r['p']:.3g} {op} {lv:.3g}")  # fmt: skip
    verdict = "contradicted" if "contradicted" in status else "holds" if set(status) == {"holds"} else "undecided"
    return verdict, evidence


def verdicts(state: dict, claims, fixed: pd.DataFrame) -> pd.DataFrame:
    """claims.csv of a sequential study: the fixed-sample table's plan columns, the verdicts of the design, and
    looks (seed counts), thresholds (each look's nominal level per pair), decided_at (seeds) and stopped."""
    pairs = decide(state["looks"], claims, state["max_seeds"], state.get("alpha", ALPHA))
    plan = {r.claim + "|" + r.metric: r for r in fixed.itertuples()} if len(fixed) else {}
    rows = []
    for claim in claims:
        verdict, evidence = claim_state(claim, pairs)
        mine = [pairs[(claim.metric, x, y)] for x, y in zip(claim.variants, claim.variants[1:])]
        seeds = sorted({r["seeds"] for p in mine for r in p["rows"]})
        at = [p["rows"][p["decided"]]["seeds"] for p in mine if p["decided"] is not None]
        fixed_row = plan.get(claim.order + "|" + claim.metric)
        undecided = verdict == "undecided"
        rows.append({"claim": claim.order, "metric": claim.metric, "source": claim.source, "verdict": verdict,
                     "evidence": "; ".join(evidence),
                     "seeds_needed": getattr(fixed_row, "seeds_needed", np.nan) if undecided else np.nan,
                     "seeds_low": getattr(fixed_row, "seeds_low", np.nan) if undecided else np.nan,
                     "seeds_high": getattr(fixed_row, "seeds_high", np.nan) if undecided else np.nan,
                     "plan": getattr(fixed_row, "plan", "") if undecided else "",
                     "looks": ", ".join(map(str, seeds)),
                     "thresholds": "; ".join(f"{x} vs {y}: " + ", ".join(f"{lv:.3g}" for lv in p["levels"])
                                             for (x, y), p in zip(zip(claim.variants, claim.variants[1:]), mine)),
                     "decided_at": (max(at) if verdict == "holds" else min(at)) if not undecided else np.nan,
                     "stopped": state.get("stopped", {}).get(f"{claim.order} ({claim.metric})", "")})  # fmt: skip
    return pd.DataFrame(rows)


def look_table(state: dict, claims) -> pd.DataFrame:
    """looks.csv: one row per pair and look (round, seeds, estimate, interval, p, the nominal level it had to
    reach, decided): the claims' history the dashboard draws."""
    pairs = decide(state["looks"], claims, state["max_seeds"], state.get("alpha", ALPHA))
    owner = {(c.metric, x, y): f"{c.order} ({c.metric})" for c in claims for x, y in zip(c.variants, c.variants[1:])}
    rows = [{"claim": owner[k], "metric": k[0], "a": k[1], "b": k[2], "round": r["round"], "seeds": r["seeds"],
             "diff": r["diff"], "low": r["low"], "high": r["high"], "p": r["p"], "threshold": lv,
             "decided": p["decided"] is not None and j >= p["decided"]}
            for k, p in pairs.items() for j, (r, lv) in enumerate(zip(p["rows"], p["levels"]))]  # fmt: skip
    columns = ["claim", "metric", "a", "b", "round", "seeds", "diff", "low", "high", "p", "threshold", "decided"]
    return pd.DataFrame(rows, columns=columns)
