"""Playground page: draw a label map or a sketch, and see each chosen finished run translate it, side by side.

The canvas is streamlit-drawable-canvas; what it returns is made into the runs' input by dashboard/playground.py.
Strokes live on the canvas (its toolbar undoes them too); a fill, a new start or an upload is baked into the
image behind the canvas, and Undo takes back the last stroke, then the last baked step.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image, ImageColor
from streamlit_drawable_canvas import st_canvas

from dashboard import playground as P
from dashboard import state

CANVAS_PX = 256  # about what the canvas shows: the runs' resolution times the largest integer that fits
LATENTS = 3  # outputs shown per drawing for a multimodal run, each from its own prior latent


@st.cache_resource(max_entries=32, show_spinner="Loading the run ...")
def _open(run_dir: str, stamp: tuple) -> P.Model | str:
    """The run ready to translate, or the message that says why it cannot be (cached per file version)."""
    try:
        return P.open_run(Path(run_dir))
    except Exception as e:  # noqa: BLE001 - a broken run is shown as a message; the rest of the page works
        return str(e) if isinstance(e, ValueError) else f"{run_dir}: cannot be opened ({type(e).__name__}: {e})"


def _stamp(run_dir: Path) -> tuple:
    files = (run_dir / "config.json", run_dir / "checkpoint.pt")
    return tuple((p.stat().st_mtime_ns if p.exists() else 0) for p in files)


@st.cache_data(max_entries=256, show_spinner=False)
def _translate(run_dir: str, stamp: tuple, drawing: bytes, size: int, latent: int = 0) -> np.ndarray | str:
    model = _open(run_dir, stamp)
    try:
        return P.translate(model, np.frombuffer(drawing, np.uint8).reshape(size, size, 3), latent)
    except Exception as e:  # noqa: BLE001 - e.g. a net that loads but does not run on this input
        return f"{Path(run_dir).name}: translating failed ({type(e).__name__}: {e})"


def _hex(colour) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in colour))


def _legend(classes, colors) -> str:
    chips = (f"<span style='display:inline-block;margin:0 10px 4px 0'><span style='display:inline-block;width:14px;"
             f"height:14px;background:{_hex(c)};border:1px solid #888;vertical-align:middle'></span> {n}</span>"
             for n, c in zip(classes, colors))  # fmt: skip
    return "".join(chips)


def _bake(image: np.ndarray) -> None:
    """Put `image` behind a fresh canvas, keeping the previous one for Undo."""
    s = st.session_state
    s.pg_history.append(s.pg_base)
    s.pg_base, s.pg_initial, s.pg_key = image, None, s.pg_key + 1


st.title("Playground")
st.caption("Draw an input and see what each trained model makes of it. Pick runs of one study in the sidebar; "
           "each answers every time a stroke ends.")  # fmt: skip
loaded = state.loaded()
finished = loaded.runs[loaded.runs.status == "done"] if not loaded.runs.empty else loaded.runs
study = state.pick_study(sorted(finished.study.unique()) if not finished.empty else [],
                         "No finished runs yet. Run `make run`, then draw here.")  # fmt: skip
table = finished[finished.study == study]
run_ids = table.run_id.tolist()
first_seed = table.drop_duplicates("variant").run_id.tolist() if "variant" in table else run_ids  # one per variant
chosen = st.sidebar.multiselect("Runs", run_ids, default=first_seed[:6], key=f"pg_runs_{study}")
if not chosen:
    state.empty_state("Choose one or more finished runs in the sidebar.")
    st.stop()

models: dict[str, P.Model] = {}
for run_id in chosen:
    run_dir = state.runs_dir() / study / run_id
    model = _open(str(run_dir), _stamp(run_dir))
    if isinstance(model, str):
        st.error(model, icon="🚫")
        continue
    lead = next(iter(models.values()), None)
    if lead is not None and model.canvas != lead.canvas:
        st.warning(f"{run_id}: trained on {model.describe_canvas()}; the canvas draws {lead.describe_canvas()} "
                   f"(for {lead.run_id}). Choose runs trained on one kind of input.", icon="⚠️")  # fmt: skip
        continue
    models[run_id] = model
if not models:
    state.empty_state("None of the chosen runs can be opened (see above).")
    st.stop()

lead = next(iter(models.values()))
size = max(m.size for m in models.values())
k = max(1, CANVAS_PX // size)
labels = lead.drawing == "labels"
s = st.session_state
signature = (study, lead.canvas, size)
if s.get("pg_signature") != signature:  # another kind of canvas: start anew
    background = lead.colors[0] if labels else None
    s.pg_signature, s.pg_base, s.pg_history = signature, P.blank(lead.drawing, size, background), []
    s.pg_initial, s.pg_key = None, s.get("pg_key", 0) + 1

left, right = st.columns([1, 1])
with left:
    c1, c2, c3 = st.columns([3, 2, 2])
    tools = ["Brush", "Eraser", "Fill", "Rectangle"] if lead.drawing != "sketch" else ["Pen", "Eraser", "Fill"]
    tool = c1.radio("Tool", tools, horizontal=True, key="pg_tool")
    brush = c2.slider(f"Brush (px of the {size} px input)", 1, max(2, size // 4), max(1, size // 32), key="pg_brush")
    colour, eraser = P.BLACK, P.WHITE
    if labels:
        eraser = lead.colors[lead.classes.index(c3.selectbox("Eraser paints", lead.classes, key="pg_eraser"))]
        st.markdown(_legend(lead.classes, lead.colors), unsafe_allow_html=True)
        name = st.radio("Class", lead.classes, horizontal=True, key="pg_class", label_visibility="collapsed")
        colour = lead.colors[lead.classes.index(name)]
    elif lead.drawing == "image":
        colour = np.array(ImageColor.getrgb(c3.color_picker("Colour", "#1f77b4", key="pg_colour")), np.uint8)
    paint = eraser if tool == "Eraser" else colour
    mode = {"Fill": "point", "Rectangle": "rect"}.get(tool, "freedraw")  # a fill's point is drawn clear: see below
    st.space("small")  # room for the canvas's own toolbar (undo, redo, clear), which floats above it
    result = st_canvas(fill_color=_hex(paint) if tool == "Rectangle" else "rgba(0,0,0,0)", stroke_width=brush * k,
                       stroke_color="rgba(0,0,0,0)" if tool == "Fill" else _hex(paint),
                       background_image=Image.fromarray(P.enlarge(s.pg_base, k)),
                       height=size * k, width=size * k, drawing_mode=mode, initial_drawing=s.pg_initial,
                       point_display_radius=2, return_image_data=True, key=f"pg_canvas_{s.pg_key}")  # fmt: skip
    objects = (result.json_data or {}).get("objects", [])
    shown = P.compose(P.enlarge(s.pg_base, k), result.image_data)
    drawing = P.reduce(shown, size, lead.drawing, lead.colors)
    points = [o for o in objects if o.get("type") == "Circle" and tool == "Fill"]
    if points:  # a click with the fill tool: flood-fill there, at the runs' resolution
        p = points[-1]
        x = (p["left"] + p.get("radius", 0) + p.get("strokeWidth", 0) / 2) / k
        y = p["top"] / k
        _bake(P.flood_fill(drawing, int(np.clip(y, 0, size - 1)), int(np.clip(x, 0, size - 1)), colour))
        st.rerun()
    b1, b2, b3, b4 = st.columns([1, 1, 1, 1.4], vertical_alignment="bottom")
    if b1.button("Undo", key="pg_undo", disabled=not objects and not s.pg_history):
        if objects:
            s.pg_initial, s.pg_key = {"objects": objects[:-1]}, s.pg_key + 1
        else:
            s.pg_base, s.pg_initial, s.pg_key = s.pg_history.pop(), None, s.pg_key + 1
        st.rerun()
    if b2.button("Blank", key="pg_blank"):
        _bake(P.blank(lead.drawing, size, eraser if labels else None))
        st.rerun()
    index = b3.number_input("Test input", 0, len(lead.test_set) - 1, 0, key="pg_index")
    if b4.button("Start from it", key="pg_test", help="Put the test split's input number `Test input` on the canvas"):
        _bake(P.fit(P.test_input(lead, int(index)), size, lead.drawing, lead.colors))
        st.rerun()
    upload = st.file_uploader("Start from a PNG" + (" (colours snapped to the palette)" if labels else ""),
                              type=["png", "jpg", "jpeg"], key=f"pg_upload_{s.pg_key}")  # fmt: skip
    if upload is not None:
        try:
            _bake(P.read_upload(upload.name, upload.getvalue(), size, lead.drawing, lead.colors))
            st.rerun()
        except P.PlaygroundError as e:
            st.error(str(e), icon="🚫")
    st.download_button("Download the drawing", P.png(drawing), f"{P.safe_name(study)}_drawing.png", "image/png",
                       key="pg_dl_drawing")  # fmt: skip

outputs: dict[str, np.ndarray] = {}
with right:
    tiles = [("input", drawing)]
    for r, model in models.items():  # a multimodal run (SPADE + VAE): LATENTS outputs, one per latent
        for z in range(LATENTS if model.multimodal else 1):
            name = f"{r} (z {z + 1})" if model.multimodal else r
            tiles.append((name, _translate(str(state.runs_dir() / study / r), _stamp(state.runs_dir() / study / r),
                                           drawing.tobytes(), size, z)))  # fmt: skip
    for i, (name, image) in enumerate(tiles):
        if i % 3 == 0:
            cols = st.columns(3)
        col = cols[i % 3]
        if isinstance(image, str):
            col.error(image, icon="🚫")
            continue
        caption = f"what the runs see ({size}x{size} px)" if name == "input" else name
        tile = P.enlarge(image, max(1, size * k // image.shape[0]))
        col.image(tile, caption=caption, width="stretch", output_format="PNG")  # JPEG would blur class colours
        if name != "input":
            outputs[name] = image
            col.download_button("PNG", P.png(image), f"{P.safe_name(name)}.png", "image/png", key=f"pg_dl_{name}")
    if outputs:
        st.download_button("Download the drawing and every output (zip)", P.zip_pngs({"drawing": drawing, **outputs}),
                           f"{P.safe_name(study)}_playground.zip", "application/zip", key="pg_dl_zip")  # fmt: skip
