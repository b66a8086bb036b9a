"""Calibration of the study statistics (studies/results/stats.py) by simulation against a known truth, in the
crossed design our studies have: every run scores the same test items.

Model of one per-item value: y[v, s, i] = mu[v] + seed[v, s] + item[i] + vxi[v, i] + e[v, s, i], with the sizes
measured on the quick ablation_patchgan per-item SSIM (item sd 0.053; variant x item and residual together 0.017,
split here as 0.005 and 0.016) and two seed effects: seed-dominated (seed sd 0.02) and item-dominated (seed sd
0.001, 200 items). The truth of a cell is mu[v] and of a comparison mu[A] - mu[B] (the population of test items
and training runs, not the items at hand).
Reported per setting and seed count: coverage of the 95% cell and comparison intervals, the false-positive rate
(p < 0.05 under no difference; claim "A > B" holding under no difference), and the power at a true difference
beside a paired t-test's over seeds (which treats the test items as fixed).

`python -m bench.stats_calibration [--sims 1000]` prints the table; tests/test_stats.py runs a smaller version.
`--sequential` calibrates the design of `--until-decided` (studies/results/sequential.py) instead, with the looks
the runner takes (3, 5, 8, 12 seeds under --max-seeds 12) and its futility stops: the false-verdict rate under no
difference, and under a true difference the power and average seed count beside the fixed designs' power at each
seed count (tests/test_sequential.py).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from studies.results import sequential, stats
from studies.results.per_item import Items
from studies.runner.rounds import futile
from studies.spec import Claim


@dataclass(frozen=True)
class Setting:
    name: str
    seed_sd: float
    delta: float  # the true difference of the power runs
    item_sd: float = 0.053
    vxi_sd: float = 0.005
    residual_sd: float = 0.016
    items: int = 200


SETTINGS = (Setting("seed-dominated", 0.02, 0.04), Setting("item-dominated", 0.001, 0.004))


def simulate(rng, setting: Setting, means: dict[str, float], seeds: int) -> tuple[pd.DataFrame, dict]:
    """(final results rows, {(run_id, "ssim"): Items}) of one simulated study."""
    n = setting.items
    item = rng.normal(0, setting.item_sd, n)
    final, items = [], {}
    for v, mu in means.items():
        vxi = rng.normal(0, setting.vxi_sd, n)
        for s in range(seeds):
            x = mu + rng.normal(0, setting.seed_sd) + item + vxi + rng.normal(0, setting.residual_sd, n)
            run = f"{v}-s{s}"
            final.append({"run_id": run, "variant": v, "seed": s, "metric": "ssim", "value": x.mean()})
            items[(run, "ssim")] = Items(np.arange(n), x[:, None], "mean")
    return pd.DataFrame(final), items


def calibrate(setting: Setting, seeds: int, sims: int, seed: int = 0, module=stats) -> dict[str, float]:
    """Coverage, false-positive rates and power of `module` (cell, compare, verdicts) in one setting."""
    rng = np.random.default_rng([seed, seeds, int(setting.seed_sd * 1e6)])
    cover_cell = cover_diff = false_pos = false_claim = hits = t_hits = 0
    for _ in range(sims):
        final, items = simulate(rng, setting, {"A": 0.5, "B": 0.5}, seeds)
        c = module.cell(final, items, "A", "ssim", rng)
        cover_cell += c["low"] <= 0.5 <= c["high"]
        row = module.compare(final, items, "A", "B", "ssim", rng)
        cover_diff += row["low"] <= 0.0 <= row["high"]
        false_pos += row["p"] < module.ALPHA
        table = module.both_orders(pd.DataFrame([row]))
        false_claim += module.verdicts([Claim("A > B", "ssim")], table).verdict.iloc[0] == "holds"
        final, items = simulate(rng, setting, {"A": 0.5 + setting.delta, "B": 0.5}, seeds)
        hits += module.compare(final, items, "A", "B", "ssim", rng)["p"] < module.ALPHA
        a, b = (final[final.variant == v].sort_values("seed").value.to_numpy() for v in "AB")
        t_hits += sps.ttest_rel(a, b).pvalue < module.ALPHA
    return {"setting": setting.name, "seeds": seeds, "cell_coverage": cover_cell / sims,
            "diff_coverage": cover_diff / sims, "false_positive": false_pos / sims,
            "false_claim": false_claim / sims, "power": hits / sims, "power_paired_t": t_hits / sims}  # fmt: skip


def sequential_study(rng, setting: Setting, delta: float, max_seeds: int, fixed_at=(), stops=True,
                     module=stats) -> dict:  # fmt: skip
    """One simulated `--until-decided` study of the claim "A > B": its verdict, the seeds it ran, and the fixed
    designs' p at the seed counts `fixed_at` (on the same simulated runs). `stops=False` leaves out the futility
    stops: they can only end a study without a verdict, so the false verdicts without them bound those with them."""
    final, items = simulate(rng, setting, {"A": 0.5 + delta, "B": 0.5}, max_seeds)
    claim, rows = Claim("A > B", "ssim"), {}

    def at(s):  # the crossed test on the first s seeds
        if s not in rows:
            rows[s] = module.compare(final[final.seed < s], items, "A", "B", "ssim", rng)
        return rows[s]

    looks, count = [], 3
    while True:
        row = at(count)
        pair = {k: row[k] for k in ("metric", "a", "b", "diff", "low", "high", "p", "seeds")}
        looks.append({"round": len(looks) + 1, "pairs": [pair]})
        verdict = sequential.claim_state(claim, sequential.decide(looks, [claim], max_seeds))[0]
        if verdict != "undecided" or count >= max_seeds:
            break
        if stops and futile(module.verdicts([claim], module.both_orders(pd.DataFrame([row]))).iloc[0], max_seeds):
            break
        count = sequential.next_seeds(count, max_seeds)
    return {"verdict": verdict, "seeds": count, "looks": len(looks), "fixed_p": {s: at(s)["p"] for s in fixed_at}}


def calibrate_sequential(setting: Setting, delta: float, sims: int, max_seeds: int = 12, fixed_at=(), stops=True,
                         seed: int = 0) -> dict:  # fmt: skip
    """False verdicts (delta 0: any verdict is false) or power, the average seeds and looks, and the fixed designs'
    power at the seed counts `fixed_at` (fixed_power[S]) in the same simulated studies."""
    rng = np.random.default_rng([seed, max_seeds, int(delta * 1e6), int(setting.seed_sd * 1e6)])
    out = [sequential_study(rng, setting, delta, max_seeds, fixed_at, stops) for _ in range(sims)]
    decided = float(np.mean([o["verdict"] != "undecided" for o in out]))
    holds = float(np.mean([o["verdict"] == "holds" for o in out]))
    return {
        "setting": setting.name,
        "delta": delta,
        "max_seeds": max_seeds,
        "sims": sims,
        "stops": stops,
        "false_verdict": decided if not delta else np.nan,
        "power": holds if delta else np.nan,
        "mean_seeds": float(np.mean([o["seeds"] for o in out])),
        "max_looks": max(o["looks"] for o in out),
        "fixed_power": {s: float(np.mean([o["fixed_p"][s] < stats.ALPHA for o in out])) for s in fixed_at},
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.stats_calibration", description=__doc__.split("\n\n")[0])
    p.add_argument("--sims", type=int, default=1000)
    p.add_argument("--seeds", default="2,3,5,10")
    p.add_argument("--boot", type=int, default=stats.BOOT, help="bootstrap draws per interval")
    p.add_argument("--sequential", action="store_true", help="calibrate the --until-decided design instead")
    args = p.parse_args(argv)
    stats.BOOT = args.boot
    if args.sequential:
        rows = [calibrate_sequential(setting, 0.0, args.sims, 18) for setting in SETTINGS]
        rows += [calibrate_sequential(SETTINGS[0], 0.03, args.sims, 12, range(3, 13))]
        for r in rows:
            fixed = r.pop("fixed_power")
            print(r | ({"fixed_power": {s: round(v, 3) for s, v in fixed.items()}} if fixed else {}))
        return 0
    rows = [calibrate(s, k, args.sims) for s in SETTINGS for k in map(int, args.seeds.split(","))]
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
