"""Holm's step-down adjustment of p-values (Holm 1979, "A simple sequentially rejective multiple test procedure"),
the one every table of ganbench uses: the studies' comparisons and claims (studies/results/stats.py) and the
human-evaluation pairs (metrics/questionnaire.py). Agrees with statsmodels' multipletests(method="holm").
"""

from __future__ import annotations

import numpy as np


def holm(p) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1); NaN stays NaN and is not counted.

    Example:
        >>> holm([0.01, 0.04, float("nan"), 0.03]).round(2).tolist()
        [0.03, 0.06, nan, 0.06]
    """
    p = np.asarray(p, dtype=float)
    out, ok = np.full_like(p, np.nan), np.isfinite(p)
    q = p[ok]
    order, running, adj = np.argsort(q), 0.0, np.empty_like(q)
    for rank, i in enumerate(order):
        running = max(running, (len(q) - rank) * q[i])
        adj[i] = min(1.0, running)
    out[ok] = adj
    return out
