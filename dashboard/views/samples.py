"""Samples page: for one test index, the input, the truth and every variant's output side by side (PNG)."""

import streamlit as st

from dashboard import data, state

st.title("Samples")
st.caption("For one test image: the input labels, the real photo, and each run's final output, "
           "shown from the PNG files the runs wrote (never recompressed).")  # fmt: skip
loaded = state.loaded()
studies = sorted(loaded.runs.study.unique()) if not loaded.runs.empty else []
study = state.pick_study(studies)
run_ids = loaded.runs[loaded.runs.study == study].run_id.tolist()
files = {r: data.sample_files(state.runs_dir(), study, r) for r in run_ids}
indices = sorted({i for f in files.values() for i in f})
if not indices:
    state.empty_state(f"No test samples under {state.runs_dir() / study}/*/samples/test/ yet.")
    st.stop()
index = state.pick("Test index", indices, "index", sidebar=True)
index = int(index)
first = next(f[index] for f in files.values() if index in f)
tiles = [("input", first.get("input")), ("truth", first.get("truth"))]
tiles += [(r, files[r].get(index, {}).get("output")) for r in run_ids]
for row in range(0, len(tiles), 6):
    cols = st.columns(6)
    for col, (name, path) in zip(cols, tiles[row : row + 6]):
        if path is not None and path.exists():
            col.image(path.read_bytes(), caption=name, width="stretch")
        else:
            col.warning(f"{name}: image missing ({path or 'not written'})")
