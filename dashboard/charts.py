"""Altair chart specs for the dashboard (no Streamlit import): the Study page's zoomed dot plot with intervals,
ceiling and published markers, its comparison matrix, training curves with a legend, throughput bars.
Each function takes the tidy frames of dashboard/data.py or dashboard/verdicts.py and returns an alt.Chart."""

from __future__ import annotations

import altair as alt
import pandas as pd

LABEL_LIMIT = 400  # px: variant names such as "Encoder-decoder (L1+cGAN)" are never cut


def by_variant(points: pd.DataFrame, metric: str, higher_is_better: bool | None, ceiling: float | None = None,
               order: list[str] | None = None) -> alt.LayerChart:  # fmt: skip
    """Ours as dots with 95% interval bars, published values as open diamonds (source in the tooltip), the
    real-data ceiling as a dashed line; the axis is zoomed to the data, so small differences show."""
    direction = {True: "higher is better", False: "lower is better"}.get(higher_is_better, "")
    values = pd.concat([points["low"], points["high"], pd.Series([ceiling] if ceiling is not None else [])])
    pad = max((values.max() - values.min()) * 0.08, 1e-3)
    scale = alt.Scale(domain=[float(values.min() - pad), float(values.max() + pad)], zero=False, nice=False)
    y = alt.Y("variant:N", sort=order, title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT))
    x_title = f"{metric} ({direction})" if direction else metric
    x = alt.X("mean:Q", title=x_title, scale=scale)
    tips = ["variant", "kind", alt.Tooltip("mean:Q", format=".4f"), alt.Tooltip("low:Q", format=".4f"),
            alt.Tooltip("high:Q", format=".4f"), "source"]  # fmt: skip
    base = alt.Chart(points).encode(y=y)
    ours = base.transform_filter(alt.datum.kind == "ours")
    layers = [ours.mark_rule(strokeWidth=2).encode(x=alt.X("low:Q", scale=scale, title=x_title), x2="high:Q"),
              ours.mark_circle(size=90).encode(x=x, tooltip=tips, color=alt.value("#1f77b4")),
              base.transform_filter(alt.datum.kind == "published").mark_point(shape="diamond", size=110, filled=False)
              .encode(x=x, tooltip=tips, color=alt.value("#d62728"))]  # fmt: skip
    if ceiling is not None:
        rule = pd.DataFrame({"ceiling": [ceiling], "label": ["ceiling: real photos"]})
        layers.append(alt.Chart(rule).mark_rule(strokeDash=[6, 4], color="#2ca02c").encode(
            x=alt.X("ceiling:Q", scale=scale), tooltip=["label", alt.Tooltip("ceiling:Q", format=".4f")]))  # fmt: skip
    return alt.layer(*layers).properties(height=alt.Step(34), title=f"{metric}: ours (dot, 95% interval), "
                                         "published (red diamond), real-photo ceiling (green dashes)")  # fmt: skip


def comparison_matrix(cells: pd.DataFrame, metric: str, order: list[str] | None = None) -> alt.LayerChart:
    """Row minus column for every pair; * p < .05, ** < .01, *** < .001 after Holm correction."""
    base = alt.Chart(cells).encode(
        x=alt.X("b:N", sort=order, title="minus", axis=alt.Axis(labelLimit=LABEL_LIMIT, labelAngle=-30)),
        y=alt.Y("a:N", sort=order, title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT)),
    )
    heat = base.mark_rect().encode(
        color=alt.Color("diff:Q", scale=alt.Scale(scheme="redblue", domainMid=0), title=f"Δ {metric}"),
        tooltip=["a", "b", alt.Tooltip("diff:Q", format="+.4f"), alt.Tooltip("p_holm:Q", format=".3g")],
    )
    return (heat + base.mark_text(fontSize=12).encode(text="label:N")).properties(height=alt.Step(40))


def claim_history(rows: pd.DataFrame) -> alt.FacetChart:
    """Each claimed pair's estimate (A - B) and 95% interval at every look of --until-decided, one panel per pair,
    a rule at 0; filled once the pair is decided (tooltip: p and the level that look required)."""
    tips = ["claim", "pair", "round", "seeds", alt.Tooltip("diff:Q", format="+.4f"),
            alt.Tooltip("low:Q", format="+.4f"), alt.Tooltip("high:Q", format="+.4f"), alt.Tooltip("p:Q", format=".3g"),
            alt.Tooltip("threshold:Q", format=".3g", title="level to reach"), "state"]  # fmt: skip
    x = alt.X("seeds:O", title="seeds at the look")
    base = alt.Chart(rows).encode(x=x)
    bars = base.mark_rule(strokeWidth=2).encode(y=alt.Y("low:Q", title="A - B"), y2="high:Q")
    colour = alt.Color("state:N", scale=alt.Scale(domain=["open", "decided"], range=["#7f7f7f", "#1f77b4"]))
    dots = base.mark_point(size=80, filled=True).encode(y="diff:Q", tooltip=tips, color=colour)
    zero = alt.Chart(rows).mark_rule(strokeDash=[4, 4], color="#999").encode(y=alt.datum(0))
    return alt.layer(bars, dots, zero).properties(width=220, height=160).facet(
        facet=alt.Facet("pair:N", title=None, header=alt.Header(labelLimit=LABEL_LIMIT)), columns=3)  # fmt: skip


CURVE_PLOT_PX = 200


def curve_height(n_runs: int) -> int:
    """Element height (px) for st.altair_chart of a curve with `n_runs` lines: the plot, its title and x axis, and
    the legend below (2 columns). Streamlit sizes a chart to its content only for step heights: a fixed-height
    spec would be squeezed to a few pixels, so the page passes this height."""
    return CURVE_PLOT_PX + 190 + 20 * ((n_runs + 1) // 2)  # title, x axis and legend title: ~190 px


def curve(df: pd.DataFrame, series: str, x: str = "images", log: bool = False,
          phases: pd.DataFrame | None = None) -> alt.Chart:  # fmt: skip
    """One series (a loss term, a gradient norm or a metric) over training, one line per run, with a legend;
    `phases` (x, label) marks where a growing recipe changed resolution (grey rules)."""
    title = {"images": "training images seen", "step": "iteration (step)"}[x]
    lines = (
        alt.Chart(df[df.series == series])
        .mark_line()
        .encode(
            x=alt.X(f"{x}:Q", title=title),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(type="log") if log else alt.Scale(zero=False)),
            color=alt.Color("run_id:N", title="run", legend=alt.Legend(orient="bottom", columns=2, labelLimit=300)),
            tooltip=["run_id", "step", "images", alt.Tooltip("value:Q", format=".4g")],
        )
        .properties(title=series, height=CURVE_PLOT_PX)
    )
    if phases is None or phases.empty:
        return lines
    rules = alt.Chart(phases).mark_rule(color="#999", strokeDash=[3, 3]).encode(x=f"{x}:Q", tooltip=["label"])
    return alt.layer(lines, rules).properties(title=series, height=CURVE_PLOT_PX)


def throughput(df: pd.DataFrame) -> alt.Chart:
    """images/s per benchmark, grouped by benchmark group."""
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            y=alt.Y("run_id:N", sort="-x", title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT)),
            x=alt.X("value:Q", title="images / s"),
            color="variant:N",
            tooltip=["run_id", "variant", "value"],
        )  # fmt: skip
        .properties(height=alt.Step(14))
    )
