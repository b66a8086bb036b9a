"""ganbench dashboard (Streamlit): `streamlit run dashboard/app.py -- --runs runs`.

Only draws: the pages under dashboard/views/ read tidy tables through dashboard/data.py (pure pandas)
and charts from dashboard/charts.py. The runs folder comes from `--runs` (or GANBENCH_RUNS); the
chosen study, metric and runs live in the URL's query parameters, so a view can be shared.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `streamlit run` does not add the repo root

PAGES = [
    ("views/leaderboard.py", "Leaderboard", ":material/leaderboard:"),
    ("views/study.py", "Study", ":material/table_chart:"),
    ("views/samples.py", "Samples", ":material/image:"),
    ("views/curves.py", "Curves", ":material/show_chart:"),
    ("views/human.py", "Human evaluation", ":material/groups:"),
    ("views/throughput.py", "Throughput", ":material/speed:"),
    ("views/compare.py", "Compare", ":material/compare:"),
    ("views/playground.py", "Playground", ":material/draw:"),
]


def runs_dir() -> Path:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--runs", default=os.environ.get("GANBENCH_RUNS", "runs"))
    args, _ = parser.parse_known_args(sys.argv[1:])
    return Path(args.runs)


st.set_page_config(page_title="ganbench", layout="wide")
st.session_state["runs_dir"] = str(runs_dir())
here = Path(__file__).parent
nav = st.navigation([st.Page(str(here / path), title=title, icon=icon) for path, title, icon in PAGES])
st.sidebar.caption(f"runs folder: `{st.session_state['runs_dir']}`")
nav.run()
