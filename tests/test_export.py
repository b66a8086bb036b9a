"""`--export-data`: a study's data in the reference repositories' layouts, read back exactly, with a manifest whose
hashes match the files; a refusal writes nothing."""

import hashlib
import json

import numpy as np
import pytest
import torch
from PIL import Image

from studies import run as runner
from studies.datasets import DataConfig, DatasetError, make_dataset
from studies.datasets.export import export
from studies.spec import RunSpec, override


def _spec(**data):
    spec = RunSpec()
    for k, v in {"data.size": 32, "data.n_train": 6, "data.n_val": 2, "data.n_test": 4, **data}.items():
        spec = override(spec, k, v)
    return spec


def test_export_reads_back_exactly_in_every_layout(tmp_path):
    spec = _spec()
    manifest = export("s", "smoke", spec, tmp_path / "out")
    out = tmp_path / "out"
    assert manifest["items"]["test"] == ["000008", "000009", "000010", "000011"] and manifest["size"] == 32
    for rel, digest in manifest["sha256"].items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest
    assert json.loads((out / "manifest.json").read_text())["sha256"] == manifest["sha256"]
    original = make_dataset(spec.data, "test")
    back = make_dataset(DataConfig(name=str(out / "aligned"), size=32), "test")  # pix2pix's aligned reader
    assert len(back) == len(original)
    for i in range(len(original)):
        assert torch.equal(back[i]["a"], original[i]["a"]) and torch.equal(back[i]["b"], original[i]["b"])
        name = f"{int(original[i]['index']):06d}.png"
        label = np.asarray(Image.open(out / "labels" / "test" / name))
        assert np.array_equal(label, original[i]["label"].numpy())
        assert (out / "cyclegan" / "testA" / name).exists() and (out / "cyclegan" / "testB" / name).exists()
        assert (out / "instances" / "test" / name).exists() and (out / "images" / "test" / name).exists()
    assert "--dataroot" in (out / "README.txt").read_text()


def test_export_refuses_before_writing(tmp_path, capsys):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(DatasetError, match="not an empty folder"):
        export("s", "smoke", _spec(), tmp_path / "full")
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep.txt"]
    code = runner.main(["ablation_patchgan", "--profile", "smoke", "--export-data", str(tmp_path / "full")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "full: exists and is not an empty folder" in err
    for d in ("trainA", "trainB", "testA", "testB"):
        (tmp_path / "cg" / d).mkdir(parents=True)
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "cg" / d / f"{d[-1]}.png")  # A and B differ
    with pytest.raises(DatasetError, match="unpaired data"):
        export("s", "smoke", _spec(**{"data.name": str(tmp_path / "cg")}), tmp_path / "new")
    assert not (tmp_path / "new").exists() and not list(tmp_path.glob(".new-*"))
