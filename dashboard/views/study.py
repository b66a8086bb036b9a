"""Study page: the question, the verdicts on the published claims, the paper-style table with 95% intervals
beside the published rows, a zoomed dot plot with intervals, the comparison matrix, and config diffs."""

import streamlit as st

from dashboard import charts, data, state, verdicts
from metrics import higher_is_better

st.title("Study")
st.caption(
    "One study's question and its paper-style table: our variants (mean over seeds [95% interval over seeds "
    "and test items]), the real-photo ceiling, and the published values, which come from another dataset and "
    "are shown only for orientation."
)
loaded = state.loaded()
studies = sorted(loaded.results.study.unique()) if not loaded.results.empty else []
study = state.pick_study(studies, "No study has written results yet. Run `make run`.")
info = loaded.studies.get(study, {})
st.subheader(info.get("question", study))
stats, problems = verdicts.load_stats(state.runs_dir(), study)
for p in problems:
    st.info(p, icon="ℹ️")
old = data.stale_by_variant(loaded.runs)
old = {r.variant: r.stale for r in old[old.study == study].itertuples() if r.stale}
if old:
    which = "; ".join(f"{v}: {m}" for v, m in old.items())
    st.warning(f"{len(old)} variant(s) were scored under an older metric protocol ({which}). "
               f"`python -m studies.run {study} --rescore` recomputes them from the checkpoints.",
               icon="⚠️")  # fmt: skip

claims = stats["claims"]
if len(claims):
    st.markdown("**Published claims** (better by each metric's direction; Holm-corrected)")
    badge = {"holds": ":green-badge[holds]", "contradicted": ":red-badge[contradicted]",
             "undecided": ":gray-badge[undecided]", "not run": ":gray-badge[not run]"}  # fmt: skip
    for c in claims.itertuples():
        need = f" — {c.plan}" if isinstance(getattr(c, "plan", ""), str) and getattr(c, "plan", "") else ""
        looks = getattr(c, "looks", "")
        if isinstance(looks, str) and looks:  # a study run --until-decided
            stopped = getattr(c, "stopped", "")
            need = f" — looks at {looks} seeds" + (f"; stopped: {stopped}" if isinstance(stopped, str) and stopped
                                                   else need)  # fmt: skip
        st.markdown(f"{badge.get(c.verdict, c.verdict)} **{c.claim}** on `{c.metric}` ({c.source}){need}  \n"
                    f"<small>{c.evidence}</small>", unsafe_allow_html=True)  # fmt: skip
    rounds = verdicts.history(stats["looks"])
    if len(rounds):
        st.markdown(
            "**The claims over the rounds** (`--until-decided`: estimate and 95% interval of each claimed "
            "pair at each look; a pair is decided when its p reaches that look's sequential level)"
        )
        st.altair_chart(charts.claim_history(rounds), width="content")


def shade(row):
    colour = {"ours": "", "ceiling (real photos)": "background-color: #e8f0fe"}.get(
        row.kind,
        "background-color: #fff3cd" if row.kind.startswith("ours") else "background-color: #f3f3f3; font-style: italic",
    )
    return [colour] * len(row)


table = data.study_table(loaded.results, study, info, old, verdicts.cell_text(stats["cells"]))
config = {"variant": st.column_config.TextColumn("variant", pinned=True, width="large"),
          "kind": st.column_config.TextColumn("kind", width="medium")}  # fmt: skip
st.dataframe(table.style.apply(shade, axis=1), hide_index=True, width="stretch", column_config=config)
final = data.final_rows(loaded.results[loaded.results.study == study])
metrics = data.order_metrics(final.metric.unique())
metric = state.pick("Metric", metrics, "metric", default="fcn_pixel_acc")
if metric:
    ceiling = loaded.results[(loaded.results.study == study) & (loaded.results.split == "ceiling") &
                             (loaded.results.metric == metric)].value  # fmt: skip
    order = info.get("variants")
    pts = verdicts.points(final, stats["cells"], metric, info)
    top = float(ceiling.iloc[0]) if len(ceiling) else None
    st.altair_chart(charts.by_variant(pts, metric, higher_is_better(metric), top, order), width="stretch")
    note = verdicts.precision_note(stats["cells"], metric)
    if note:
        st.caption(note)
    grid = verdicts.matrix(stats["comparisons"], metric)
    if len(grid):
        st.markdown(f"**Comparisons on `{metric}`**: row minus column, paired by seed and test item; "
                    "\\* p < .05, \\*\\* < .01, \\*\\*\\* < .001 (Holm-corrected over every comparison of the "
                    "study, all metrics together; one seed: no test, no stars)")  # fmt: skip
        st.altair_chart(charts.comparison_matrix(grid, metric, order), width="stretch")
st.subheader("Each run's config differences from the study's base")
diffs = data.config_diffs(loaded.runs, study, info)
if diffs.empty:
    state.empty_state("No differences recorded (study.json or runs.csv missing).")
else:
    st.dataframe(diffs, hide_index=True, width="stretch")
