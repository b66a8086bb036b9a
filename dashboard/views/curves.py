"""Curves page: losses, gradient norms and (for runs evaluated during training) metrics, over training images,
several runs overlaid with a legend, smoothing, and a log scale for gradient norms."""

import streamlit as st

from dashboard import charts, data, state

st.title("Curves")
st.caption("Training losses (d/real, d/fake, g/gan, g/l1, ...), gradient norms and learning rates from each run's "
           "losses.csv, and metric curves from metrics.jsonl where a run was evaluated more than once; pick runs "
           "to overlay and smooth with an exponential moving average.")  # fmt: skip
loaded = state.loaded()
studies = sorted(loaded.runs.study.unique()) if not loaded.runs.empty else []
study = state.pick_study(studies)
in_study = loaded.runs[loaded.runs.study == study]
options = in_study.run_id.tolist()
mode = st.radio("Show", ["runs", "variant"], horizontal=True, key="curve_mode",
                format_func=lambda v: {"runs": "chosen runs, every series",
                                       "variant": "one variant, its seeds overlaid: the four panels"}[v])  # fmt: skip
if mode == "variant":
    variant = st.selectbox("Variant", list(dict.fromkeys(in_study.variant)), key="curve_variant")
    chosen = in_study[in_study.variant == variant].run_id.tolist()
else:
    chosen_q = [r for r in st.query_params.get_all("runs") if r in options] or options[:2]
    chosen = st.multiselect("Runs", options, default=chosen_q, key="curve_runs")
    st.query_params["runs"] = chosen
cols = st.columns(3)
alpha = cols[0].slider("Smoothing", 0.0, 0.99, 0.6, 0.01, key="curve_smooth")
x = cols[1].radio("x axis", ["images", "step"], horizontal=True, key="curve_x",
                  format_func=lambda v: {"images": "training images", "step": "steps"}[v])  # fmt: skip
log = cols[2].toggle("Log scale for gradient norms", value=True, key="curve_log")
df, problems = data.curves(state.runs_dir(), study, chosen)
for p in problems:
    st.warning(p, icon="⚠️")
if df.empty:
    state.empty_state("Pick at least one run with a losses.csv.")
    st.stop()
if x == "images" and df["images"].isna().all():
    x = "step"  # logs written before progress was counted in images
smoothed = data.smooth(data.four_panels(df) if mode == "variant" else df, alpha)


marks = data.phase_marks(df)  # resolution changes of a growing recipe (Progressive GAN)


def grid(frame, log_series=()):
    series = [s for s in dict.fromkeys(frame.series) if not s.startswith("phase/")]
    for row in range(0, len(series), 3):
        for col, name in zip(st.columns(3), series[row : row + 3]):
            chart = charts.curve(frame, name, x, log=name in log_series, phases=marks)
            col.altair_chart(chart, width="stretch", height=charts.curve_height(frame.run_id.nunique()))


grid(smoothed, [s for s in smoothed.series.unique() if s.endswith(("grad_norm", "grad norm"))] if log else [])
metric = data.metric_curves(state.runs_dir(), study, chosen)
if len(metric):
    st.subheader("Metrics over training")
    grid(metric)
