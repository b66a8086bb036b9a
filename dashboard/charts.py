"""Altair chart specs for the dashboard (no Streamlit import): bars with error bars, training curves,
throughput bars. Each function takes the tidy frames of dashboard/data.py and returns an alt.Chart."""

from __future__ import annotations

import altair as alt
import pandas as pd


def by_variant(bars: pd.DataFrame, metric: str, higher_is_better: bool | None) -> alt.Chart:
    """Mean per variant with ± std error bars (over seeds)."""
    title = (
        f"{metric} ({'higher' if higher_is_better else 'lower'} is better)" if higher_is_better is not None else metric
    )
    base = alt.Chart(bars).encode(x=alt.X("variant:N", sort=None, title=None))
    bar = base.mark_bar().encode(y=alt.Y("mean:Q", title=metric), tooltip=["variant", "mean", "std", "count"])
    err = base.mark_errorbar(ticks=True).encode(y=alt.Y("low:Q", title=metric), y2="high:Q")
    return (bar + err).properties(title=title, height=260)


def curves(df: pd.DataFrame) -> alt.Chart:
    """Loss and gradient-norm curves: one panel per series, one line per run."""
    return (
        alt.Chart(df)
        .mark_line()
        .encode(x="step:Q", y=alt.Y("value:Q", title=None), color="run_id:N", tooltip=["run_id", "step", "value"])
        .properties(width=320, height=180)
        .facet(facet=alt.Facet("series:N", title=None), columns=3)
        .resolve_scale(y="independent")
    )


def throughput(df: pd.DataFrame) -> alt.Chart:
    """images/s per benchmark, grouped by benchmark group."""
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            y=alt.Y("run_id:N", sort="-x", title=None),
            x=alt.X("value:Q", title="images / s"),
            color="variant:N",
            tooltip=["run_id", "variant", "value"],
        )  # fmt: skip
        .properties(height=alt.Step(14))
    )
