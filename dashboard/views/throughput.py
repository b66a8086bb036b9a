"""Throughput page: images/s per model and per metric, from the pytest-benchmark reports (`make bench`)."""

import streamlit as st

from dashboard import charts, data, state

st.title("Throughput")
st.caption("Images per second of each metric and model, measured by `make bench` (pytest-benchmark) on the "
           "machine that ran it; runs/bench/runs.csv says which device and how many threads.")  # fmt: skip
df, problems = data.load_bench(state.runs_dir())
for p in problems:
    st.warning(p, icon="⚠️")
if df.empty:
    state.empty_state("No benchmark report yet: run `make bench` (writes runs/bench/results.csv).")
    st.stop()
st.altair_chart(charts.throughput(df), width="stretch")
st.dataframe(df[["variant", "run_id", "value"]].rename(columns={"value": "images/s", "variant": "group"}),
             hide_index=True, width="stretch")  # fmt: skip
