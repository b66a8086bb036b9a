"""Human evaluation page: MOS and fooled rate with confidence intervals, from the questionnaire import."""

import streamlit as st

from dashboard import data, state

st.title("Human evaluation")
st.caption("Ratings and real-vs-fake (2AFC) judgements imported with `python -m metrics.questionnaire import`: "
           "mean opinion score and fooled rate with 95% intervals, and how many raters were kept.")  # fmt: skip
loaded = state.loaded()
rows = data.human_rows(loaded.results)
if rows.empty:
    state.empty_state("No human evaluation imported yet. Export a blinded questionnaire for a study, collect "
                      "answers (Google Forms, MTurk, Qualtrics or a plain CSV), then import them: the rows land "
                      "in the study's results.csv with split 'human' and appear here.")  # fmt: skip
    st.stop()
st.dataframe(rows, hide_index=True, width="stretch")
