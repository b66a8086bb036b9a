"""`--until-decided`: train a study in rounds of seeds until its claims are decided (studies/results/sequential.py
holds the design and its references).

Round 1 trains the study's seeds (at least 3) for every variant a claim names; after each round the claims are
looked at under the group-sequential design, and the next round (the fixed schedule S -> ceil(1.5 S)) adds seeds
only to the variants of the pairs still undecided in the open claims. It stops when every claim is decided or
stopped (its plan says more seeds up to the cap cannot decide it, or the test items limit it), at --max-seeds, or
when the next round would pass --budget (timed on this study's own rounds). The state (each look's pairs, the
stops, the time spent) is runs/<study>/sequential.json, written atomically after each round: a killed run resumes
at its last completed round, the half-trained runs of the next one from their checkpoints. The training itself is
the runner's (local or --executor jobs), handed in as a function, so this module knows nothing of the command line.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from metrics.tables import write_csv_atomic, write_json_atomic
from studies.results import sequential as Q
from studies.results.stats import MAX_SEEDS as PLAN_LIMIT
from studies.results.stats import both_orders
from studies.spec import ConfigError

STATE, MAX_SEEDS = "sequential.json", 12  # the state file; the default seed cap


def parse_budget(text: str | None) -> float:
    """Seconds of a budget like 2h, 90m, 45min or 600s; inf without one."""
    if text is None:
        return float("inf")
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(h|m|min|s)\s*", text)
    if not m:
        raise ConfigError(f"--budget expects a duration such as 2h, 90m or 600s, got {text!r}")
    return float(m[1]) * {"h": 3600, "m": 60, "min": 60, "s": 1}[m[2]]


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min" if seconds < 7200 else \
        f"{seconds / 3600:.1f} h"  # fmt: skip


def claim_key(claim) -> str:
    return f"{claim.order} ({claim.metric})"


def start_seeds(seeds: tuple[int, ...]) -> list[int]:
    """The study's seeds, extended by the next integers to at least 3."""
    out = list(dict.fromkeys(seeds))
    while len(out) < 3:
        out.append(max(out, default=-1) + 1)
    return out


def seed_list(start: list[int], count: int) -> tuple[int, ...]:
    """The first `count` seeds: the starting ones, then the next integers not yet used."""
    out = list(start[:count])
    nxt = max(start) + 1
    while len(out) < count:
        out.append(nxt)
        nxt += 1
    return tuple(out)


def load_state(study_dir: Path) -> dict | None:
    path = study_dir / STATE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: not a readable sequential state ({e}); move it away to start anew") from e


def new_state(study, max_seeds: int, start: list[int]) -> dict:
    return {"design": Q.SPENDING, "alpha": Q.ALPHA, "max_seeds": max_seeds, "start_seeds": start,
            "claims": [claim_key(c) for c in study.claims], "looks": [], "stopped": {}, "elapsed_s": 0.0}  # fmt: skip


def check_state(state: dict, study, max_seeds: int, path: Path) -> None:
    """A resumed design must be the same design: its thresholds depend on the cap and the claims."""
    if state.get("max_seeds") != max_seeds:
        raise ConfigError(f"{path}: these rounds were planned with --max-seeds {state.get('max_seeds')}, not "
                          f"{max_seeds}; the looks' thresholds depend on it. Pass --max-seeds {state.get('max_seeds')} "
                          "to resume, or move the file away to start anew")  # fmt: skip
    if state.get("claims") != [claim_key(c) for c in study.claims]:
        raise ConfigError(f"{path}: the study's claims changed since these rounds began; move the file away to start "
                          "anew")  # fmt: skip


def open_claims(state: dict, claims) -> list:
    """Claims neither decided nor stopped."""
    pairs = Q.decide(state["looks"], claims, state["max_seeds"], state["alpha"])
    return [c for c in claims if Q.claim_state(c, pairs)[0] == "undecided" and claim_key(c) not in state["stopped"]]


def needed(state: dict, study) -> list[str]:
    """The variants of the pairs still undecided in the open claims: the next round's seeds go there alone (a
    claim "A > B > C" whose B-C pair is decided adds seeds to A and B only)."""
    pairs = Q.decide(state["looks"], study.claims, state["max_seeds"], state["alpha"])
    want = {v for c in open_claims(state, study.claims) for x, y in zip(c.variants, c.variants[1:])
            if pairs[(c.metric, x, y)]["decided"] is None for v in (x, y)}  # fmt: skip
    return [v for v in study.variants if v in want]


def futile(row, max_seeds: int) -> str:
    """Why more seeds up to the cap cannot decide an undecided claim ('' when they might): its plan (stats.py) at
    the favourable end of its interval (seeds_low) needs more than the cap. No plan numbers (fewer than 2 seeds, a
    difference against the claim): go on."""
    low = row.seeds_low
    if not isinstance(low, float) or np.isnan(low) or low <= max_seeds:
        return ""
    plan = row.plan if isinstance(row.plan, str) else ""
    if np.isinf(low):
        why = "the item share alone is too large: more test items, not more seeds" if "item share" in plan else \
            f"it would need more than {PLAN_LIMIT:,} seeds"  # fmt: skip
        return f"more seeds cannot decide it even at the favourable end of its interval: {why}"
    return f"even the favourable end of its interval needs about {int(low)} seeds, more than --max-seeds {max_seeds}"


def until_decided(
    study,
    study_dir: Path,
    start: tuple[int, ...],
    max_seeds: int | None,
    budget: float,
    select: Callable[[tuple[int, ...], list[str]], list],
    train: Callable[[list], dict],
    tables: Callable[[list], dict],
) -> tuple[list, dict, dict]:
    """The rounds; returns (runs of the last round, statuses of every run trained here, the last analysis).
    `select(seeds, variants)` the runs, `train(runs)` their statuses, `tables(runs)` the analysis written."""
    require_claims(study)
    path = study_dir / STATE
    state = load_state(study_dir)
    if state is not None:
        max_seeds = max_seeds or state.get("max_seeds")
        check_state(state, study, max_seeds, path)
        first = list(state["start_seeds"])
    else:
        first, max_seeds = start_seeds(start), max_seeds or MAX_SEEDS
        if max_seeds < len(first):
            raise ConfigError(f"--max-seeds {max_seeds} is below the {len(first)} seeds of the first round")
        state = new_state(study, max_seeds, first)
    claimed = list(dict.fromkeys(v for c in study.claims for v in c.variants))
    variants = [v for v in study.variants if v in claimed]
    if state["looks"]:
        last = state["looks"][-1]
        count = Q.next_seeds(max(last["seeds"].values()), max_seeds)
        variants = needed(state, study)
        print(f"resuming the rounds after round {last['round']} ({len(state['looks'])} look(s) taken, "
              f"{duration(state['elapsed_s'])} spent)")  # fmt: skip
    else:
        count = len(first)
    statuses, analysis, runs = {}, {}, []
    while True:
        if state["looks"]:
            reason = stop_reason(state, study.claims, max_seeds, budget)
            if reason:
                print(f"\nstopped after {len(state['looks'])} round(s): {reason}")
                break
        seeds = seed_list(first, count)
        runs = select(seeds, variants)
        fresh = [r for r in runs if not (study_dir / r[0] / "done").exists()]
        k = len(state["looks"]) + 1
        print(f"\n== round {k}: {count} seeds of {', '.join(variants)} ({len(fresh)} run(s) to train) ==")
        t0 = time.perf_counter()
        statuses |= train(runs)
        analysis = tables(runs)  # fixed-sample analysis of every run, before this look is recorded
        wall = time.perf_counter() - t0
        state["looks"].append(look(k, count, variants, state, analysis["comparisons"], study.claims))
        state["elapsed_s"] += wall
        state["per_run_s"] = wall / len(fresh) if fresh else state.get("per_run_s")
        for row in analysis["claims"].itertuples():  # the fixed plan of each claim still open after this look
            key = f"{row.claim} ({row.metric})"
            if key not in state["stopped"] and any(claim_key(c) == key for c in open_claims(state, study.claims)):
                why = futile(row, max_seeds)
                if why:
                    state["stopped"][key] = why
        write_json_atomic(state, path)
        analysis = apply(state, study.claims, analysis, study_dir)  # claims.csv and looks.csv with this look
        print_round(state, study.claims, count)
        nxt = Q.next_seeds(count, max_seeds)
        variants = needed(state, study)
        state["next_runs"] = len(variants) * (nxt - count)
        write_json_atomic(state, path)
        count = nxt
    return runs, statuses, analysis


def apply(state: dict, claims, analysis: dict, study_dir: Path) -> dict:
    """The analysis with the sequential verdicts as its claims; claims.csv and looks.csv rewritten (atomically)."""
    claims_table = Q.verdicts(state, claims, analysis["claims"])
    looks = Q.look_table(state, claims)
    write_csv_atomic(claims_table, study_dir / "claims.csv")
    write_csv_atomic(looks, study_dir / "looks.csv")
    return analysis | {"claims": claims_table, "looks": looks, "sequential": state}


def require_claims(study) -> None:
    if not study.claims:
        raise ConfigError(f"study {study.name} has no claims: --until-decided runs until its claims are decided")


def describe(study, start: tuple[int, ...], max_seeds: int | None) -> str:
    """The plan of the rounds, for --dry-run: the looks' seed counts and the p each pair must reach at each."""
    require_claims(study)
    first, max_seeds = start_seeds(start), max_seeds or MAX_SEEDS
    counts = [len(first)]
    while counts[-1] < max_seeds:
        counts.append(Q.next_seeds(counts[-1], max_seeds))
    pairs = len(Q.pairs_of(study.claims))
    variants = [v for v in study.variants if any(v in c.variants for c in study.claims)]
    levels = Q.nominal_levels(counts, max_seeds, Q.ALPHA / pairs)
    return (f"{study.name} --until-decided: round 1 trains seeds {', '.join(map(str, first))} of "
            f"{', '.join(variants)}; then looks at {', '.join(map(str, counts[1:]))} seeds at most (--max-seeds "
            f"{max_seeds}), each round adding seeds only to the variants of the claims still open.\n"
            f"{Q.SPENDING}: while all {pairs} claimed pairs are open, a pair is decided at a look when its p is at "
            f"most " + ", ".join(f"{lv:.3g} ({c} seeds)" for lv, c in zip(levels, counts))
            + "; the levels rise as pairs are decided.")  # fmt: skip


def look(k: int, count: int, variants: list[str], state: dict, comps: pd.DataFrame, claims) -> dict:
    """One look: the comparison rows (claim orientation) of the open claims' pairs whose variants ran `count` seeds."""
    found = {(r.metric, r.a, r.b): r for r in both_orders(comps).itertuples()} if len(comps) else {}
    rows = []
    for c in open_claims(state, claims):
        for x, y in zip(c.variants, c.variants[1:]):
            r = found.get((c.metric, x, y))
            if r is not None and x in variants and y in variants:
                rows.append({"metric": c.metric, "a": x, "b": y, "seeds": int(r.seeds), "diff": float(r.diff),
                             "low": float(r.low), "high": float(r.high), "p": float(r.p)})  # fmt: skip
    seeds = dict(state["looks"][-1]["seeds"]) if state["looks"] else {}
    return {"round": k, "seeds": seeds | {v: count for v in variants}, "pairs": rows}


def stop_reason(state: dict, claims, max_seeds: int, budget: float) -> str:
    """Why the rounds end now ('' to go on)."""
    if not open_claims(state, claims):
        stopped = len(state["stopped"])
        return "every claim is decided" if not stopped else f"every claim is decided or stopped ({stopped} stopped)"
    count = max(state["looks"][-1]["seeds"].values())
    if count >= max_seeds:
        return f"the seed cap is reached (--max-seeds {max_seeds})"
    per_run, todo = state.get("per_run_s"), state.get("next_runs", 0)
    spent = state["elapsed_s"]
    if spent >= budget:
        return f"the time budget is spent ({duration(spent)} of {duration(budget)})"
    if per_run and spent + per_run * todo > budget:
        return (f"the next round ({todo} runs, ~{duration(per_run * todo)}) would pass the time budget "
                f"({duration(spent)} of {duration(budget)} spent)")  # fmt: skip
    return ""


def print_round(state: dict, claims, count: int) -> None:
    """One line per claim: its state after this look."""
    pairs = Q.decide(state["looks"], claims, state["max_seeds"], state["alpha"])
    print(f"after round {state['looks'][-1]['round']} ({count} seeds; sequential thresholds, {Q.SPENDING}):")
    for c in claims:
        verdict, evidence = Q.claim_state(c, pairs)
        stopped = state["stopped"].get(claim_key(c))
        label = "STOPPED" if stopped and verdict == "undecided" else verdict.upper()
        tail = f" -- {stopped}" if stopped and verdict == "undecided" else ""
        print(f"  {label:<12} {claim_key(c)}: {'; '.join(evidence)}{tail}")
