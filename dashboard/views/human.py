"""Human evaluation page: MOS and fooled rate with confidence intervals, from the questionnaire import."""

import streamlit as st

from dashboard import data, state

st.title("Human evaluation")
st.caption(
    "Ratings and real-vs-fake (2AFC) judgements imported with `python -m metrics.questionnaire import`: "
    "mean opinion score and fooled rate with 95% bootstrap intervals, and which raters were kept or excluded."
)
loaded = state.loaded()
rows = data.human_rows(loaded.results)
if rows.empty:
    state.empty_state(
        "No human evaluation imported yet. Export a blinded questionnaire for a study "
        "(`python -m metrics.questionnaire export --study ablation_patchgan --out pack`), collect answers "
        "(Google Forms, MTurk, Qualtrics or a plain CSV), then import them: the rows land in the study's "
        "results.csv with split 'human' and appear here."
    )
    st.stop()
st.subheader("Per variant")
st.dataframe(rows, hide_index=True, width="stretch")
details = data.human_details(state.runs_dir())
raters = details["raters"]
if not raters.empty:
    st.subheader("Raters")
    kept = raters.groupby(["study", "protocol"]).kept.agg(kept="sum", total="count").reset_index()
    st.dataframe(kept.assign(excluded=kept.total - kept.kept), hide_index=True)
    st.dataframe(raters[~raters.kept.astype(bool)][["study", "protocol", "rater", "reason"]], hide_index=True)
if not details["pairwise"].empty:
    st.subheader("Pairwise tests (Holm-corrected)")
    st.dataframe(details["pairwise"], hide_index=True, width="stretch")
