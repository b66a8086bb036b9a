"""Curves page: losses and gradient norms over steps, several runs overlaid, with smoothing."""

import streamlit as st

from dashboard import charts, data, state

st.title("Curves")
st.caption("Training losses (d/real, d/fake, g/gan, g/l1, ...) and gradient norms from each run's losses.csv; "
           "pick runs to overlay and smooth with an exponential moving average.")  # fmt: skip
loaded = state.loaded()
studies = sorted(loaded.runs.study.unique()) if not loaded.runs.empty else []
study = state.pick_study(studies)
options = loaded.runs[loaded.runs.study == study].run_id.tolist()
chosen_q = [r for r in st.query_params.get_all("runs") if r in options] or options[:2]
chosen = st.multiselect("Runs", options, default=chosen_q, key="curve_runs")
st.query_params["runs"] = chosen
alpha = st.slider("Smoothing", 0.0, 0.99, 0.6, 0.01, key="curve_smooth")
df, problems = data.curves(state.runs_dir(), study, chosen)
for p in problems:
    st.warning(p, icon="⚠️")
if df.empty:
    state.empty_state("Pick at least one run with a losses.csv.")
else:
    st.altair_chart(charts.curves(data.smooth(df, alpha)))
