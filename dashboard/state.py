"""Streamlit glue shared by the pages: the cached loader, problem banners, query-parameter pickers."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import data


@st.cache_data(ttl=30, show_spinner=False)
def _load(runs_dir: str, stamp: float) -> data.Loaded:
    return data.load(Path(runs_dir))


def _stamp(runs_dir: Path) -> float:
    """Latest modification time of the tables, so the cache refreshes when a study writes."""
    files = list(runs_dir.glob("*/*.csv")) + list(runs_dir.glob("*/study.json")) if runs_dir.is_dir() else []
    return max((f.stat().st_mtime for f in files), default=0.0)


def runs_dir() -> Path:
    return Path(st.session_state.get("runs_dir", "runs"))


def loaded() -> data.Loaded:
    d = runs_dir()
    out = _load(str(d), _stamp(d))
    for problem in out.problems:
        st.warning(problem, icon="⚠️")
    return out


def pick(label: str, options: list, key: str, sidebar: bool = True, default=None):
    """A selectbox whose value lives in the URL (?key=value), so the view is shareable."""
    if not options:
        return None
    current = st.query_params.get(key, default if default in options else options[0])
    index = options.index(current) if current in options else 0
    where = st.sidebar if sidebar else st
    value = where.selectbox(label, options, index=index, key=f"pick_{key}")
    st.query_params[key] = value
    return value


def empty_state(message: str) -> None:
    st.info(message, icon="ℹ️")


def pick_study(studies: list[str], empty_message: str = "No runs yet. Run `make run`.") -> str:
    """The study chosen in the sidebar (kept in the URL); stops the page with an explanation when there is none."""
    study = pick("Study", studies, "study")
    if study is None:
        empty_state(empty_message)
        st.stop()
    return study
