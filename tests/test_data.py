"""Datasets: conventions of every loader, augmentation, and one clear error per fault."""

import pickle
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from studies.datasets import DataConfig, DatasetError, make_dataset
from studies.datasets import base as D
from studies.datasets import folders as F
from studies.datasets.synthetic import render_scene


def _save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _rgb(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _check_item(item, size, keys=("a", "b")):
    for k in keys:
        assert item[k].dtype == torch.float32 and item[k].shape == (3, size, size)
        assert item[k].min() >= -1 and item[k].max() <= 1
    if "label" in item:
        assert item["label"].dtype == torch.int64 and item["label"].shape == (size, size)


# --- synthetic_scenes --------------------------------------------------------------------------


def test_synthetic_paired_matches_generator():
    cfg = DataConfig(size=32, n_train=4, n_val=2, n_test=3)
    test = make_dataset(cfg, "test")
    assert len(test) == 3
    item = test[1]
    _check_item(item, 32)
    assert int(item["index"]) == 4 + 2 + 1  # test indices follow train and val
    label, photo = render_scene(0, 7, 32)
    assert torch.equal(item["label"], torch.from_numpy(label))
    assert np.array_equal(D.to_uint8(item["b"]), photo)  # lossless round trip through [-1, 1]


def test_synthetic_unpaired_and_unconditional():
    cfg = DataConfig(size=32, n_train=10)
    ds = make_dataset(cfg, "train", view="unpaired")
    assert len(ds) == 5
    _, photo_of_a = render_scene(0, 0, 32)
    assert not np.array_equal(D.to_uint8(ds[0]["b"]), photo_of_a)  # B is another scene's photo
    second_half = [render_scene(0, j, 32)[1] for j in range(5, 10)]
    torch.manual_seed(0)
    draws = [D.to_uint8(ds[0]["b"]) for _ in range(12)]
    assert all(any(np.array_equal(d, p) for p in second_half) for d in draws)  # B drawn from the other half...
    assert len({d.tobytes() for d in draws}) > 1  # ... at random, independently of A (the unaligned dataset)
    torch.manual_seed(0)
    assert np.array_equal(D.to_uint8(ds[0]["b"]), draws[0])  # the global RNG (checkpointed) decides
    photos = make_dataset(DataConfig(size=32, n_train=4), "train", view="unconditional")
    assert set(photos[0]) == {"b", "index"} and photos.n_classes == 0
    assert photos.facts().channels_a == 0 and ds.facts().view == "unpaired" and ds.facts().n_classes == 8


def test_jitter_is_shared_between_input_target_and_label():
    cfg = DataConfig(size=32, n_train=4)
    torch.manual_seed(0)
    item = make_dataset(cfg, "train", augment=True)[0]
    _check_item(item, 32)
    # the input is the colourised label: after a shared crop/flip the colours still agree with the label
    from studies.datasets.synthetic import colorize

    rgb = colorize(item["label"].numpy())
    agree = (np.abs(D.to_uint8(item["a"]).astype(int) - rgb).sum(-1) < 30).mean()
    assert agree > 0.8  # edges blur under the bilinear resize; a misaligned crop gives ~0.3
    flips = {bool(torch.equal(make_dataset(cfg, "train", augment=True)[0]["b"], item["b"])) for _ in range(6)}
    assert False in flips  # random


def test_jitter_applies_one_crop_and_flip_to_every_key():
    x = torch.rand(3, 32, 32) * 2 - 1
    label = (x[0] > 0).long()
    for seed in range(5):
        out = D.jitter({"a": x, "b": x.clone(), "label": label}, 32, torch.Generator().manual_seed(seed))
        assert torch.equal(out["a"], out["b"]) and out["label"].shape == (32, 32)


def test_synthetic_sketches_pair_a_drawing_with_its_photo():
    ds = make_dataset(DataConfig(name="synthetic_sketches", size=32, n_train=4, n_val=2, n_test=2), "train")
    item = ds[1]
    _check_item(item, 32)
    sketch = D.to_uint8(item["a"])
    assert set(np.unique(sketch)) <= {0, 255} and 0.03 < (sketch == 0).mean() < 0.6  # black strokes on white
    assert np.array_equal(D.to_uint8(item["b"]), render_scene(0, 1, 32)[1])  # the scene's own photo


def test_cyclegan_folders(tmp_path):
    for split in ("train", "test"):
        for d, n in (("A", 3), ("B", 5)):
            for i in range(n):
                _save(tmp_path / f"{split}{d}" / f"{i}.png", _rgb(40, 40, i))
    ds = make_dataset(DataConfig(name=str(tmp_path), size=32), "train", view="unpaired")
    assert isinstance(ds, F.UnpairedFolder) and len(ds) == 5  # max(|A|, |B|), as the reference
    _check_item(ds[4], 32)
    ds.validate()
    with pytest.raises(D.ViewUnavailable, match="gives the unpaired/unconditional view"):
        make_dataset(DataConfig(name=str(tmp_path)), "test", view="paired")
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(tmp_path / "trainB" / "3.png")  # one grayscale B
    with pytest.raises(DatasetError, match=r"trainB/3\.png: 1 channel\(s\), but 0\.png in the same domain has 3"):
        make_dataset(DataConfig(name=str(tmp_path)), "train", view="unpaired").validate()
    for p in (tmp_path / "trainB").iterdir():
        p.unlink()
    with pytest.raises(DatasetError, match="trainB folder holds no images"):
        make_dataset(DataConfig(name=str(tmp_path)), "train", view="unpaired")


def test_cyclegan_folders_with_shared_stems_are_paired_data(tmp_path):
    """A and B files of one stem (the CycleGAN paper's Cityscapes folders): the paired view gives A and B of the
    same stem; a split whose stems differ stays unpaired only."""
    for split in ("train", "test"):
        for i in range(4):
            _save(tmp_path / f"{split}A" / f"{i:03d}.png", _rgb(40, 40, i))
            _save(tmp_path / f"{split}B" / f"{i:03d}.png", _rgb(40, 40, 10 + i))
    ds = make_dataset(DataConfig(name=str(tmp_path), size=40), "test", view="paired")
    assert ds.pairing == "paired by file stem (4 items)" and len(ds) == 4
    for i in range(4):
        item = ds[i]
        assert np.array_equal(D.to_uint8(item["a"]), _rgb(40, 40, i)) and np.array_equal(
            D.to_uint8(item["b"]), _rgb(40, 40, 10 + i))  # fmt: skip
    (tmp_path / "testB" / "003.png").rename(tmp_path / "testB" / "004.png")
    ds = make_dataset(DataConfig(name=str(tmp_path), size=40), "test", view="unpaired")
    assert ds.pairing.startswith("unpaired") and "paired" not in ds.views
    with pytest.raises(D.ViewUnavailable):
        make_dataset(DataConfig(name=str(tmp_path), size=40), "test", view="paired")


def test_empty_split():
    with pytest.raises(DatasetError, match="split 'val' is empty"):
        make_dataset(DataConfig(n_val=0), "val")


# --- aligned folders ---------------------------------------------------------------------------


@pytest.fixture
def aligned(tmp_path):
    for split in ("train", "test"):
        for i in range(3):
            _save(tmp_path / split / f"{i}.png", _rgb(40, 80, i))
    return tmp_path


def test_aligned_folder(aligned):
    ds = make_dataset(DataConfig(name=str(aligned), size=32), "test")
    assert isinstance(ds, F.AlignedFolder) and len(ds) == 3
    _check_item(ds[0], 32)
    ab = DataConfig(name=str(aligned), size=32)
    ba = DataConfig(name=str(aligned), size=32, direction="BtoA")
    assert torch.equal(make_dataset(ab, "test")[0]["a"], make_dataset(ba, "test")[0]["b"])


def test_aligned_folder_without_test_is_tested_on_val(aligned):
    """pix2pix's cityscapes and maps downloads have train/ and val/ only."""
    (aligned / "test").rename(aligned / "val")
    assert [p.parent.name for p in make_dataset(DataConfig(name=str(aligned)), "test").files] == ["val"] * 3
    shutil.rmtree(aligned / "val")
    with pytest.raises(DatasetError, match="test.*not found"):
        make_dataset(DataConfig(name=str(aligned)), "test")


def test_aligned_errors(aligned, tmp_path):
    with pytest.raises(DatasetError, match="val.*not found"):
        make_dataset(DataConfig(name=str(aligned)), "val")
    (aligned / "val").mkdir()
    with pytest.raises(DatasetError, match="holds no images"):
        make_dataset(DataConfig(name=str(aligned)), "val")
    _save(aligned / "val" / "odd.png", _rgb(10, 21))
    with pytest.raises(DatasetError, match=r"odd\.png: width 21 is odd"):
        make_dataset(DataConfig(name=str(aligned)), "val")[0]
    (aligned / "val" / "odd.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match=r"odd\.png: not a readable image"):
        make_dataset(DataConfig(name=str(aligned)), "val")[0]
    with pytest.raises(DatasetError, match="nowhere: dataset folder not found"):
        make_dataset(DataConfig(name=str(tmp_path / "nowhere")), "train")
    (tmp_path / "junk").mkdir()
    with pytest.raises(DatasetError, match="unrecognised layout"):
        make_dataset(DataConfig(name=str(tmp_path / "junk")), "train")


def test_validate_finds_every_broken_file_without_decoding_all(aligned):
    make_dataset(DataConfig(name=str(aligned)), "train").validate()  # a good folder passes
    good = (aligned / "train" / "1.png").read_bytes()
    (aligned / "train" / "1.png").write_bytes(good[: len(good) * 2 // 3])  # a truncated download
    with pytest.raises(DatasetError, match=r"train/1\.png: not a readable image"):
        make_dataset(DataConfig(name=str(aligned)), "train").validate()
    broken = bytearray(good)
    broken[len(good) // 2] ^= 0xFF  # one flipped byte inside the image data: the chunk CRC fails
    (aligned / "train" / "1.png").write_bytes(bytes(broken))
    with pytest.raises(DatasetError, match=r"1\.png: not a readable image"):
        make_dataset(DataConfig(name=str(aligned)), "train").validate()
    _save(aligned / "train" / "1.png", _rgb(10, 21))
    with pytest.raises(DatasetError, match=r"1\.png: width 21 is odd"):
        make_dataset(DataConfig(name=str(aligned)), "train").validate()
    _save(aligned / "train" / "1.jpg", _rgb(10, 20))
    (aligned / "train" / "1.png").unlink()
    (aligned / "train" / "1.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(DatasetError, match=r"1\.jpg: not a readable image"):
        make_dataset(DataConfig(name=str(aligned)), "train").validate()


# --- Cityscapes --------------------------------------------------------------------------------


@pytest.fixture
def cityscapes(tmp_path):
    ids = np.array([[7, 26, 0, 23]] * 4, dtype=np.uint8).repeat(10, 0).repeat(10, 1)  # (40, 40)
    for name in ("aachen_000000_000019", "aachen_000001_000019"):
        _save(tmp_path / "leftImg8bit/val/aachen" / f"{name}_leftImg8bit.png", _rgb(40, 40))
        _save(tmp_path / "gtFine/val/aachen" / f"{name}_gtFine_labelIds.png", ids)
    return tmp_path


def test_cityscapes(cityscapes):
    ds = make_dataset(DataConfig(name=str(cityscapes), size=32), "val")
    assert isinstance(ds, F.Cityscapes) and ds.n_classes == 19 and len(ds) == 2
    item = ds[0]
    _check_item(item, 32)
    # labelIds road=7 -> 0, car=26 -> 13, unlabeled=0 -> 255, sky=23 -> 10; nearest resize keeps values
    assert set(item["label"].unique().tolist()) == {0, 13, 255, 10}
    assert (item["label"][:, :7] == 0).all()


def test_cityscapes_instance_maps_travel_with_the_labels(cityscapes):
    ds = make_dataset(DataConfig(name=str(cityscapes), size=32), "val")
    assert "instance" not in ds[0] and not ds.facts().instances  # no *_instanceIds.png: no instance channel
    inst = np.array([[7, 26001, 26002, 23]] * 4, dtype=np.uint16).repeat(10, 0).repeat(10, 1)
    for name in ("aachen_000000_000019", "aachen_000001_000019"):  # Cityscapes: 16-bit PNGs, class x 1000 + k
        Image.fromarray(inst).save(cityscapes / "gtFine/val/aachen" / f"{name}_gtFine_instanceIds.png")
    item = ds[0]
    assert ds.facts().instances and item["instance"].shape == item["label"].shape == (32, 32)
    assert set(item["instance"].unique().tolist()) == {7, 26001, 26002, 23}
    Image.fromarray(inst[:20]).save(cityscapes / "gtFine/val/aachen/aachen_000001_000019_gtFine_instanceIds.png")
    with pytest.raises(DatasetError, match=r"000001_000019_gtFine_instanceIds\.png: instance map of shape \(20, 40\)"):
        ds[1]


def test_cityscapes_errors(cityscapes):
    lbl = cityscapes / "gtFine/val/aachen/aachen_000001_000019_gtFine_labelIds.png"
    _save(lbl, np.zeros((20, 40), np.uint8))
    with pytest.raises(DatasetError, match=r"000001_000019_gtFine_labelIds\.png: label map of shape"):
        make_dataset(DataConfig(name=str(cityscapes)), "val")[1]
    lbl.unlink()
    with pytest.raises(DatasetError, match="label file not found"):
        make_dataset(DataConfig(name=str(cityscapes)), "val")[1]
    with pytest.raises(DatasetError, match="leftImg8bit/train folder not found"):
        make_dataset(DataConfig(name=str(cityscapes)), "train")


def test_cityscapes_is_tested_on_val_as_pix2pix_is(cityscapes):
    """gtFine/test holds placeholder labels, so the studies' test split reads val/, even when test/ exists."""
    for sub in ("leftImg8bit", "gtFine"):
        (cityscapes / sub / "test" / "berlin").mkdir(parents=True)
    _save(cityscapes / "leftImg8bit/test/berlin/berlin_000000_000019_leftImg8bit.png", _rgb(40, 40))
    test = make_dataset(DataConfig(name=str(cityscapes)), "test")
    assert [p.parent.parent.name for p in test.photos] == ["val", "val"]
    assert test.identity == make_dataset(DataConfig(name=str(cityscapes)), "val").identity


def test_cityscapes_validate(cityscapes):
    make_dataset(DataConfig(name=str(cityscapes)), "val").validate()
    lbl = cityscapes / "gtFine/val/aachen/aachen_000001_000019_gtFine_labelIds.png"
    _save(lbl, np.zeros((20, 40), np.uint8))
    with pytest.raises(DatasetError, match=r"labelIds\.png: label map of size \(40, 20\) does not match"):
        make_dataset(DataConfig(name=str(cityscapes)), "val").validate()
    lbl.unlink()
    with pytest.raises(DatasetError, match=r"000001_000019_gtFine_labelIds\.png: label file of .* not found"):
        make_dataset(DataConfig(name=str(cityscapes)), "val").validate()


# --- torchvision roots -------------------------------------------------------------------------


def test_cifar10_root(tmp_path, monkeypatch):
    import torchvision.datasets.cifar as cifar

    monkeypatch.setattr(cifar, "check_integrity", lambda *a, **k: True)  # our files have no official md5
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    batch = {"data": _rgb(5, 3 * 32 * 32 // 3).reshape(5, -1), "labels": [0, 1, 2, 3, 4]}
    for name in (
        "data_batch_1",
        "data_batch_2",
        "data_batch_3",
        "data_batch_4",
        "data_batch_5",
        "test_batch",
    ):
        (base / name).write_bytes(pickle.dumps(batch))
    (base / "batches.meta").write_bytes(pickle.dumps({"label_names": [str(i) for i in range(10)]}))
    with pytest.raises(DatasetError, match="gives the unconditional view"):
        make_dataset(DataConfig(name=str(tmp_path), size=32), "train", view="paired")
    ds = make_dataset(DataConfig(name=str(tmp_path), size=32), "train", view="unconditional")
    assert len(ds) == 25
    _check_item(ds[0], 32, keys=("b",))


def test_cifar10_missing(tmp_path):
    (tmp_path / "cifar-10-batches-py").mkdir()
    with pytest.raises(DatasetError, match="no cifar10 dataset found"):
        make_dataset(DataConfig(name=str(tmp_path)), "train", view="unconditional")


def test_celeba_root(tmp_path, monkeypatch):
    import torchvision.datasets.celeba as celeba

    monkeypatch.setattr(celeba, "check_integrity", lambda *a, **k: True)
    base = tmp_path / "celeba"
    names = [f"{i:06d}.jpg" for i in range(1, 7)]
    for n in names:
        _save(base / "img_align_celeba" / n, _rgb(48, 40))
    (base / "list_eval_partition.txt").write_text("".join(f"{n} {i % 3}\n" for i, n in enumerate(names)))
    (base / "identity_CelebA.txt").write_text("".join(f"{n} 1\n" for n in names))
    (base / "list_bbox_celeba.txt").write_text("6\nimage_id x_1 y_1 width height\n"
                                               + "".join(f"{n} 1 1 5 5\n" for n in names))  # fmt: skip
    marks = " ".join(f"p{i}" for i in range(10))
    (base / "list_landmarks_align_celeba.txt").write_text(
        f"6\n{marks}\n" + "".join(f"{n}" + " 1" * 10 + "\n" for n in names)
    )
    (base / "list_attr_celeba.txt").write_text("6\nSmiling Young\n" + "".join(f"{n} 1 -1\n" for n in names))
    ds = make_dataset(DataConfig(name=str(tmp_path), size=32), "val", view="unconditional")
    assert len(ds) == 2
    _check_item(ds[0], 32, keys=("b",))


def test_tensor_conversions():
    img = _rgb(5, 6)
    t = D.to_tensor(img)
    assert t.shape == (3, 5, 6) and t.min() >= -1 and t.max() <= 1
    assert np.array_equal(D.to_uint8(t), img)
    with pytest.raises(ValueError, match="expected uint8"):
        D.to_tensor(img.astype(np.float32))
