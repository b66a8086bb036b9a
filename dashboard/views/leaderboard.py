"""Leaderboard page: every variant of every study, mean ± std over seeds, best per column highlighted."""

import streamlit as st

from dashboard import data, state

st.title("Leaderboard")
st.caption("Every variant of every study and profile on its test split: mean over seeds (std beside it); "
           "↑/↓ give each metric's direction and the best value per column is highlighted.")  # fmt: skip
loaded = state.loaded()
table = data.leaderboard(loaded.results, loaded.runs)
if table.empty:
    state.empty_state(
        "No results yet. Run `make run` (or `python -m studies.run ablation_patchgan`) to fill this page."
    )
    st.stop()
cols = st.columns(4)
studies = cols[0].multiselect("Study", sorted(table.study.unique()), key="lb_study")
never_mixed = "smoke, quick and paper runs are separate rows, never averaged together"
profiles = cols[1].multiselect(
    "Profile", sorted(table.profile.astype(str).unique()), key="lb_profile", help=never_mixed
)
datasets = cols[2].multiselect("Dataset", sorted(table.dataset.dropna().astype(str).unique()), key="lb_data")
families = cols[3].multiselect("Model family", sorted(table.recipe.dropna().astype(str).unique()), key="lb_recipe")
view = table
for col, chosen in (("study", studies), ("profile", profiles), ("dataset", datasets), ("recipe", families)):
    if chosen:
        view = view[view[col].astype(str).isin(chosen)]
view = view.reset_index(drop=True)
metrics = [c for c in view.columns if c not in data.LEADERBOARD_META and not c.endswith(" std")]
if view["stale"].astype(bool).any():
    st.warning("Some rows were scored under an older metric protocol (column `stale`); "
               "`python -m studies.run STUDY --rescore` recomputes them from the checkpoints.", icon="⚠️")  # fmt: skip
best = data.best_rows(view, metrics)
labels = {m: data.metric_label(m) for m in metrics}


def highlight(col):
    return ["background-color: #c8f7c5; font-weight: bold" if best.get(col.name) == i else "" for i in col.index]


styled = view.style.apply(highlight, subset=metrics).format(precision=3, na_rep="—")
st.dataframe(styled, column_config={m: st.column_config.NumberColumn(labels[m]) for m in metrics},
             hide_index=True, width="stretch")  # fmt: skip
st.download_button("Download this view (CSV)", view.to_csv(index=False), "ganbench_leaderboard.csv", "text/csv")
