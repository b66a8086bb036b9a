"""Compare page: two runs side by side, metric deltas and samples."""

import streamlit as st

from dashboard import data, state

st.title("Compare")
st.caption(
    "Two runs side by side: each metric, the difference (B - A), which run is better by the metric's "
    "direction, and their outputs on the same test images."
)
loaded = state.loaded()
if loaded.runs.empty:
    state.empty_state("No runs yet. Run `make run`.")
    st.stop()
ids = [f"{s}/{r}" for s, r in zip(loaded.runs.study, loaded.runs.run_id)]
a = state.pick("Run A", ids, "a", sidebar=False)
b = state.pick("Run B", ids, "b", sidebar=False, default=ids[min(1, len(ids) - 1)])
(sa, ra), (sb, rb) = a.split("/", 1), b.split("/", 1)
st.dataframe(data.compare(loaded.results, sa, ra, sb, rb), hide_index=True, width="stretch")
fa, fb = data.sample_files(state.runs_dir(), sa, ra), data.sample_files(state.runs_dir(), sb, rb)
for index in sorted(set(fa) & set(fb))[:4]:
    cols = st.columns(4)
    for col, (name, path) in zip(
        cols,
        [
            ("input", fa[index].get("input")),
            ("truth", fa[index].get("truth")),
            (f"A: {ra}", fa[index].get("output")),
            (f"B: {rb}", fb[index].get("output")),
        ],
    ):
        if path is not None and path.exists():
            col.image(path.read_bytes(), caption=f"{name} #{index}", width="stretch")
        else:
            col.warning(f"{name}: image missing")
