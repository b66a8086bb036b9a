"""Study page: the question, the paper-style table beside the published rows, bars with error bars, config diffs."""

import streamlit as st

from dashboard import charts, data, state
from metrics import higher_is_better

st.title("Study")
st.caption(
    "One study's question and its paper-style table: our variants (mean ± std over seeds), the real-photo "
    "ceiling, and the published values, which come from another dataset and are shown only for orientation."
)
loaded = state.loaded()
studies = sorted(loaded.results.study.unique()) if not loaded.results.empty else []
study = state.pick_study(studies, "No study has written results yet. Run `make run`.")
info = loaded.studies.get(study, {})
st.subheader(info.get("question", study))
old = data.stale_by_variant(loaded.runs)
old = {r.variant: r.stale for r in old[old.study == study].itertuples() if r.stale}
if old:
    which = "; ".join(f"{v}: {m}" for v, m in old.items())
    st.warning(f"{len(old)} variant(s) were scored under an older metric protocol ({which}). "
               f"`python -m studies.run {study} --rescore` recomputes them from the checkpoints.",
               icon="⚠️")  # fmt: skip
table = data.study_table(loaded.results, study, info, old)


def shade(row):
    colour = {"ours": "", "ceiling (real photos)": "background-color: #e8f0fe"}.get(
        row.kind,
        "background-color: #fff3cd" if row.kind.startswith("ours") else "background-color: #f3f3f3; font-style: italic",
    )
    return [colour] * len(row)


st.dataframe(table.style.apply(shade, axis=1), hide_index=True, width="stretch")
metrics = sorted(loaded.results[(loaded.results.study == study) & (loaded.results.split == "test")].metric.unique())
metric = state.pick("Metric", metrics, "metric", default="fcn_pixel_acc")
if metric:
    st.altair_chart(
        charts.by_variant(data.bar_data(loaded.results, study, metric), metric, higher_is_better(metric)),
        width="stretch",
    )
st.subheader("Each run's config differences from the study's base")
diffs = data.config_diffs(loaded.runs, study, info)
if diffs.empty:
    state.empty_state("No differences recorded (study.json or runs.csv missing).")
else:
    st.dataframe(diffs, hide_index=True, width="stretch")
