"""The Playground: drawings made into inputs (palette snapping, block reduction, fill, uploads), finished runs
opened through the one loader, and the page's states in AppTest (no finished runs, a corrupt checkpoint, a
mismatched run, runs of another kind of input)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from dashboard import playground as P
from models.checkpoint import CheckpointError
from studies import run as runner
from studies.datasets.synthetic import COLORS
from tests.conftest import make_runs

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
FAST = ["--profile", "smoke", "--seeds", "0", "--no-progress", "--set", "train.images=8", "--set", "metrics=l1"]


def train_playground_runs(out: Path) -> Path:
    """Real smoke runs (a few training steps, scored by L1 only): the four ablation_patchgan variants and the
    two of sketch_translation."""
    for study in ("ablation_patchgan", "sketch_translation"):
        assert runner.main([study, *FAST, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_playground_runs(tmp_path_factory.mktemp("playground") / "runs")


@pytest.fixture
def runs(trained, tmp_path):
    """A private copy, for tests that break files."""
    return Path(shutil.copytree(trained, tmp_path / "runs"))


# --- drawing -> input --------------------------------------------------------------------------


def test_reduce_takes_the_majority_class_and_never_invents_one_at_antialiased_edges():
    size, k = 4, 4
    base = P.enlarge(P.blank("labels", size, COLORS[0]), k)
    base[:, :10] = COLORS[2]  # columns 0..9: blocks 0 and 1 all road, block 2 half road (8..9 of 8..11)
    base[:, 9] = (COLORS[2].astype(int) + COLORS[0]) // 2  # an antialiased edge: a blend of road and sky
    out = P.reduce(base, size, "labels", COLORS)
    assert out.shape == (4, 4, 3)
    assert (out[:, :2] == COLORS[2]).all() and (out[:, 3] == COLORS[0]).all()
    assert {tuple(c) for c in out.reshape(-1, 3)} <= {tuple(COLORS[0]), tuple(COLORS[2])}


def test_reduce_sketch_is_black_where_half_a_block_is_dark():
    display = np.full((8, 8, 3), 255, np.uint8)
    display[:2, :4] = 0  # block (0, 0): 8 of 16 pixels dark
    display[4:5, 4:] = 0  # block (1, 1): 4 of 16
    out = P.reduce(display, 2, "sketch")
    assert (out[0, 0] == 0).all() and (out[1, 1] == 255).all() and (out[0, 1] == 255).all()
    with pytest.raises(P.PlaygroundError, match="not a multiple of the runs' 3 px"):
        P.reduce(display, 3, "sketch")


def test_compose_puts_strokes_over_the_base():
    base = np.zeros((2, 2, 3), np.uint8)
    strokes = np.zeros((2, 2, 4), np.uint8)
    strokes[0, 0] = (200, 100, 50, 255)
    strokes[1, 1] = (200, 100, 50, 0)
    out = P.compose(base, strokes)
    assert out[0, 0].tolist() == [200, 100, 50] and out[1, 1].tolist() == [0, 0, 0]
    assert P.compose(base, None) is base


def test_flood_fill_paints_the_connected_region_only():
    img = P.blank("labels", 6, COLORS[0])
    img[:, 3] = COLORS[1]  # a wall splits the canvas
    out = P.flood_fill(img, 0, 0, COLORS[4])
    assert (out[:, :3] == COLORS[4]).all() and (out[:, 3] == COLORS[1]).all() and (out[:, 4:] == COLORS[0]).all()


def test_upload_is_snapped_to_the_palette_and_a_corrupt_file_is_named(tmp_path):
    rng = np.random.default_rng(0)
    noisy = np.clip(COLORS[rng.integers(0, 8, (40, 40))].astype(int) + rng.integers(-20, 21, (40, 40, 3)), 0, 255)
    path = tmp_path / "map.png"
    Image.fromarray(noisy.astype(np.uint8)).save(path)
    out = P.read_upload("map.png", path.read_bytes(), 16, "labels", COLORS)
    assert out.shape == (16, 16, 3) and {tuple(c) for c in out.reshape(-1, 3)} <= set(map(tuple, COLORS))
    sketch = P.read_upload("map.png", path.read_bytes(), 16, "sketch")
    assert set(np.unique(sketch)) <= {0, 255}
    with pytest.raises(P.PlaygroundError, match=r"broken\.png: not a readable image"):
        P.read_upload("broken.png", b"\x89PNG\r\n\x1a\nnot really", 16, "labels", COLORS)


# --- runs --------------------------------------------------------------------------------------


def test_a_run_translates_a_drawing_and_the_output_follows_it(trained):
    model = P.open_run(trained / "ablation_patchgan" / "70x70-s0")
    assert (model.drawing, model.size, model.channels, len(model.classes)) == ("labels", 32, 3, 8)
    assert model.output == "fake_b" and model.progress.images == 8
    test = P.test_input(model, 0)
    assert test.shape == (32, 32, 3) and {tuple(c) for c in test.reshape(-1, 3)} <= set(map(tuple, COLORS))
    sky = P.translate(model, P.blank("labels", 32, COLORS[0]))
    again = P.translate(model, P.blank("labels", 32, COLORS[0]))
    road = P.translate(model, P.blank("labels", 32, COLORS[2]))
    assert sky.shape == (32, 32, 3) and sky.dtype == np.uint8
    assert np.array_equal(sky, again) and not np.array_equal(sky, road)
    big = P.translate(model, P.enlarge(P.blank("labels", 32, COLORS[2]), 2))  # another canvas size is fitted
    assert np.array_equal(big, road)


def test_cyclegan_translates_an_input_alone(trained):
    model = P.open_run(trained / "sketch_translation" / "CycleGAN-s0")
    assert model.drawing == "sketch" and model.classes == () and model.output == "fake_b"
    sketch = P.blank("sketch", model.size)
    sketch[10:12] = 0
    out = P.translate(model, sketch)
    assert out.shape == (model.size, model.size, 3)
    batch = {"a": P.as_input(model, sketch)}
    assert set(model.recipe.translate(batch, model.progress)) == {"fake_b", "rec_a"}


def test_missing_corrupt_and_mismatched_checkpoints_raise_with_the_file_named(runs):
    study = runs / "ablation_patchgan"
    (study / "1x1-s0" / "checkpoint.pt").unlink()
    with pytest.raises(CheckpointError, match=r"1x1-s0/checkpoint\.pt: checkpoint not found"):
        P.open_run(study / "1x1-s0")
    (study / "16x16-s0" / "checkpoint.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match=r"16x16-s0/checkpoint\.pt: not a ganbench checkpoint"):
        P.open_run(study / "16x16-s0")
    config = json.loads((study / "70x70-s0" / "config.json").read_text())
    config["model"]["g"]["ngf"] = 4  # the config now describes other nets than the checkpoint holds
    (study / "70x70-s0" / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"70x70-s0/checkpoint\.pt: nets 'G' does not fit this config"):
        P.open_run(study / "70x70-s0")


# --- the page ----------------------------------------------------------------------------------


def _page(runs, monkeypatch, study=None):
    monkeypatch.setenv("GANBENCH_RUNS", str(runs))
    at = AppTest.from_file(APP, default_timeout=120)
    if study:
        at.query_params["study"] = study
    at.run()
    at.switch_page("views/playground.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _captions(at) -> list[str]:
    """The output tiles' captions (the first tile is the input the runs see)."""
    captions = [c for img in at.get("image") for c in img.captions]
    assert captions[0].startswith("what the runs see")
    return captions[1:]


def test_page_shows_every_run_answering(trained, monkeypatch):
    at = _page(trained, monkeypatch, "ablation_patchgan")
    assert at.title[0].value == "Playground" and not at.error and not at.warning
    assert at.multiselect(key="pg_runs_ablation_patchgan").value == ["1x1-s0", "16x16-s0", "70x70-s0", "286x286-s0"]
    assert _captions(at) == ["1x1-s0", "16x16-s0", "70x70-s0", "286x286-s0"]
    assert [r.value for r in at.radio] == ["Brush", "sky"]  # the tool, then the class (8 synthetic_scenes classes)
    assert at.radio(key="pg_class").options == ["sky", "building", "road", "sidewalk", "vegetation", "car", "pole",
                                                "person"]  # fmt: skip
    at.button(key="pg_test").click().run()  # start from test label map 0: baked behind a fresh canvas
    assert not at.exception and len(at.session_state["pg_history"]) == 1
    assert not np.array_equal(at.session_state["pg_base"], at.session_state["pg_history"][0])
    at.button(key="pg_undo").click().run()
    assert at.session_state["pg_history"] == [] and (at.session_state["pg_base"] == COLORS[0]).all()


def test_page_sketch_mode(trained, monkeypatch):
    at = _page(trained, monkeypatch, "sketch_translation")
    assert _captions(at) == ["pix2pix-s0", "CycleGAN-s0"] and not at.error
    assert at.radio(key="pg_tool").options == ["Pen", "Eraser", "Fill"]
    assert (at.session_state["pg_base"] == 255).all()  # black strokes on white


def test_page_without_finished_runs(tmp_path, monkeypatch):
    at = _page(tmp_path / "nothing", monkeypatch)
    assert "No finished runs yet" in at.info[0].value


def test_page_reports_broken_runs_and_the_rest_keeps_working(runs, monkeypatch):
    study = runs / "ablation_patchgan"
    (study / "1x1-s0" / "checkpoint.pt").write_bytes(b"garbage")
    config = json.loads((study / "16x16-s0" / "config.json").read_text())
    config["model"]["g"]["ngf"] = 4
    (study / "16x16-s0" / "config.json").write_text(json.dumps(config))
    at = _page(runs, monkeypatch, "ablation_patchgan")
    errors = [e.value for e in at.error]
    assert len(errors) == 2 and "1x1-s0/checkpoint.pt: not a ganbench checkpoint" in errors[0]
    assert "16x16-s0/checkpoint.pt: nets 'G' does not fit this config" in errors[1]
    assert _captions(at) == ["70x70-s0", "286x286-s0"]


def test_page_refuses_runs_of_another_kind_of_input(runs, monkeypatch):
    """A sketch run among label-map runs is named and left out; the others still answer."""
    study = runs / "ablation_patchgan"
    shutil.copytree(runs / "sketch_translation" / "pix2pix-s0", study / "sketchy-s0")
    table = pd.read_csv(study / "runs.csv")
    extra = table.iloc[:1].assign(run_id="sketchy-s0", variant="sketchy")
    pd.concat([table, extra]).to_csv(study / "runs.csv", index=False)
    at = _page(runs, monkeypatch, "ablation_patchgan")
    assert len(at.warning) == 1 and "sketchy-s0: trained on sketches" in at.warning[0].value
    assert "the canvas draws label maps of 8 classes" in at.warning[0].value
    assert _captions(at) == ["1x1-s0", "16x16-s0", "70x70-s0", "286x286-s0"]


def test_page_runs_without_checkpoints_are_messages(tmp_path, monkeypatch):
    """The dashboard fixture's runs have tables but no run files: each chosen run is a message, no traceback."""
    at = _page(make_runs(tmp_path / "runs"), monkeypatch, "ablation_patchgan")
    assert all("config.json: not found" in e.value for e in at.error) and len(at.error) == 2
    assert "None of the chosen runs can be opened" in at.info[0].value


def test_unconditional_runs_are_refused_by_name(tmp_path):
    out = tmp_path / "runs"
    assert runner.main(["toy_tricks", *FAST[:-2], "--only", "FC-GAN-s0", "--out", str(out)]) == 0
    with pytest.raises(P.PlaygroundError, match="FC-GAN-s0: an unconditional toy run"):
        P.open_run(out / "toy_tricks" / "FC-GAN-s0")


def test_torch_state_is_untouched_by_translating(trained):
    """Translating uses batch statistics (pix2pix's test mode); the run's running statistics stay as saved."""
    model = P.open_run(trained / "ablation_patchgan" / "70x70-s0")
    before = {k: v.clone() for k, v in model.recipe.nets["G"].state_dict().items()}
    P.translate(model, P.blank("labels", 32, COLORS[3]))
    after = model.recipe.nets["G"].state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_a_cityscapes_run_gets_its_19_class_palette(tmp_path, monkeypatch):
    """A run trained on a Cityscapes root (a tiny one made here) draws with Cityscapes' 19 train classes."""
    from studies.datasets.folders import CITYSCAPES_CLASSES, CITYSCAPES_COLORS

    root = tmp_path / "cityscapes"
    ids = np.array([[7, 26, 8, 23]] * 4, np.uint8).repeat(10, 0).repeat(10, 1)  # road, car, sidewalk, sky
    for split, city in (("train", "aachen"), ("val", "lindau")):
        for i in range(4):
            name = f"{city}_00000{i}_000019"
            photo = np.random.default_rng(i).integers(0, 256, (40, 40, 3), np.uint8)
            for sub, suffix, array in (("leftImg8bit", "leftImg8bit", photo), ("gtFine", "gtFine_labelIds", ids)):
                (root / sub / split / city).mkdir(parents=True, exist_ok=True)
                Image.fromarray(array).save(root / sub / split / city / f"{name}_{suffix}.png")
    out = tmp_path / "runs"
    argv = ["ablation_patchgan", *FAST, "--only", "70x70-s0", "--set", f"data.name={root}", "--out", str(out)]
    assert runner.main(argv) == 0
    model = P.open_run(out / "ablation_patchgan" / "70x70-s0")
    assert model.classes == tuple(CITYSCAPES_CLASSES) and len(model.classes) == 19
    assert model.colors.tolist() == np.asarray(CITYSCAPES_COLORS, np.uint8)[:19].tolist()
    at = _page(out, monkeypatch, "ablation_patchgan")
    assert not at.error and at.radio(key="pg_class").options == list(CITYSCAPES_CLASSES)
    assert _captions(at) == ["70x70-s0"]


def test_label_map_recipes_and_a_multimodal_run_translate_drawings(tmp_path, monkeypatch):
    """pix2pixHD and SPADE read the drawing's label map and instance map; SPADE + VAE gives one photo per latent,
    the same one each time, and the page shows several."""
    out = tmp_path / "runs"
    only = "pix2pixHD (global)-s0,SPADE + VAE-s0"
    assert runner.main(["labels2photo_generators", *FAST[:-2], "--only", only, "--out", str(out)]) == 0
    hd = P.open_run(out / "labels2photo_generators" / "pix2pixHD (global)-s0")
    drawing = P.blank("labels", hd.size, COLORS[0])
    drawing[40:, :] = COLORS[2]  # road below the sky
    drawing[44:52, 10:20] = COLORS[5]  # two cars: two instances of one class
    drawing[44:52, 30:40] = COLORS[5]
    batch = P.as_batch(hd, drawing)
    label, inst = batch["label"][0].numpy(), batch["instance"][0].numpy()
    assert set(np.unique(label)) == {0, 2, 5} and (label[45, 12], label[45, 32], label[0, 0]) == (5, 5, 0)
    assert inst[45, 12] != inst[45, 32] and len(np.unique(inst)) == 4  # sky, road, car, car
    assert not hd.multimodal and P.translate(hd, drawing).shape == (hd.size, hd.size, 3)
    vae = P.open_run(out / "labels2photo_generators" / "SPADE + VAE-s0")
    assert vae.multimodal
    torch.nn.init.normal_(vae.recipe.nets["G"].fc.weight, 0, 1.0)  # a smoke run barely uses z: make it matter
    state = torch.random.get_rng_state()
    first, again, other = P.translate(vae, drawing, 0), P.translate(vae, drawing, 0), P.translate(vae, drawing, 1)
    assert np.array_equal(first, again) and torch.equal(state, torch.random.get_rng_state())
    assert not np.array_equal(first, other)
    at = _page(out, monkeypatch, "labels2photo_generators")
    assert not at.error
    assert _captions(at) == ["pix2pixHD (global)-s0"] + [f"SPADE + VAE-s0 (z {z})" for z in (1, 2, 3)]
