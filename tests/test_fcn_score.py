"""FCN-score: hand-computed confusion matrices, the reference conventions, streaming, segmenter cache."""

import numpy as np
import pytest
import torch
from torch import nn

from metrics.fcn_score import FCNScore, confusion, scores_from_confusion, segmenter_key, train_segmenter


class ChannelSegmenter(nn.Module):
    """Fake segmenter: class = round of channel 0 mapped from [-1, 1] to [0, n-1]."""

    def __init__(self, n):
        super().__init__()
        self.n = n
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        cls = ((x[:, 0] + 1) / 2 * (self.n - 1)).round().long().clamp(0, self.n - 1)
        return nn.functional.one_hot(cls, self.n).permute(0, 3, 1, 2).float() + self.dummy


def _encode(label, n):
    img = (label.float() / (n - 1) * 2 - 1)[:, None].repeat(1, 3, 1, 1)
    return img.clamp(-1, 1)


def test_confusion_by_hand():
    target = torch.tensor([[[0, 0, 1, 2], [2, 2, 255, 1]]])
    pred = torch.tensor([[[0, 1, 1, 2], [0, 2, 0, 1]]])
    expected = torch.tensor([[1, 1, 0], [0, 2, 0], [1, 0, 2]])  # rows = truth
    assert torch.equal(confusion(pred, target, 3), expected)


def test_scores_by_hand_and_absent_conventions():
    conf = np.array([[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]])  # class 3 absent
    s = scores_from_confusion(conf)
    assert s["fcn_pixel_acc"] == pytest.approx(5 / 7)
    acc = [1 / 2, 2 / 2, 2 / 3, 0.0]  # reference: absent class counts as 0
    iou = [1 / 3, 2 / 3, 2 / 3, 0.0]
    assert s["fcn_class_acc"] == pytest.approx(np.mean(acc))
    assert s["fcn_class_iou"] == pytest.approx(np.mean(iou))
    skip = scores_from_confusion(conf, absent="skip")
    assert skip["fcn_class_acc"] == pytest.approx(np.mean(acc[:3]))
    assert skip["fcn_class_iou"] == pytest.approx(np.mean(iou[:3]))
    assert np.isnan(skip["per_class_iou"][3])
    with pytest.raises(ValueError, match="absent"):
        scores_from_confusion(conf, absent="nan")


def test_reference_get_scores_formula():
    # pix2pix scripts/eval_cityscapes/util.py get_scores, written out independently
    rng = np.random.default_rng(0)
    hist = rng.integers(0, 50, (5, 5)).astype(float)
    ref_acc = np.diag(hist).sum() / (hist.sum() + 1e-12)
    ref_cl = np.nanmean(np.diag(hist) / (hist.sum(1) + 1e-12))
    ref_iu = np.nanmean(np.diag(hist) / (hist.sum(1) + hist.sum(0) - np.diag(hist) + 1e-12))
    s = scores_from_confusion(hist)
    assert (s["fcn_pixel_acc"], s["fcn_class_acc"], s["fcn_class_iou"]) == pytest.approx((ref_acc, ref_cl, ref_iu))


@pytest.mark.parametrize("chunks", [1, 2, 4])
def test_accumulator_streaming_and_resize(chunks, gen):
    n = 4
    label = torch.randint(0, n, (8, 16, 16), generator=gen)
    label[:, 0] = 255
    fake = _encode(label.clamp(0, n - 1), n)
    fake_noisy = fake.clone()
    fake_noisy[:, :, 4:8] = -1.0  # class 0 there
    once = FCNScore(ChannelSegmenter(n), n)
    once.update(fake_noisy, label)
    acc = FCNScore(ChannelSegmenter(n), n)
    for f, l in zip(fake_noisy.chunk(chunks), label.chunk(chunks)):
        acc.update(f, l)
    assert acc.compute() == once.compute()
    perfect = FCNScore(ChannelSegmenter(n), n)
    perfect.update(fake, label)
    assert perfect.compute()["fcn_pixel_acc"] == pytest.approx(1.0)
    big = torch.nn.functional.interpolate(fake, scale_factor=2, mode="nearest")  # resized back to the label
    resized = FCNScore(ChannelSegmenter(n), n)
    resized.update(big, label)
    assert resized.compute()["fcn_pixel_acc"] > 0.95


def test_errors():
    with pytest.raises(ValueError, match="target: labels must be in"):
        confusion(torch.zeros(1, 2, 2, dtype=torch.long), torch.full((1, 2, 2), 7), 3)
    with pytest.raises(ValueError, match="pred: classes must be in"):
        confusion(torch.full((1, 2, 2), 5), torch.zeros(1, 2, 2, dtype=torch.long), 3)
    with pytest.raises(ValueError, match="differ in shape"):
        confusion(torch.zeros(1, 2, 2, dtype=torch.long), torch.zeros(1, 2, 3, dtype=torch.long), 3)
    with pytest.raises(TypeError, match="integer"):
        confusion(torch.zeros(1, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long), 3)
    acc = FCNScore(ChannelSegmenter(3), 3)
    with pytest.raises(ValueError, match="label: expected"):
        acc.update(torch.zeros(2, 3, 8, 8), torch.zeros(3, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="no labelled pixels"):
        acc.compute()


def test_train_segmenter_learns_and_caches(tmp_path):
    from studies.datasets import DataConfig, make_dataset

    ds = make_dataset(DataConfig(size=32, n_train=32, n_val=16, jitter=False), "train")
    net = train_segmenter(ds, 8, size=32, epochs=2, seed=0, cache_dir=tmp_path, batch_size=8, log=lambda m: None)
    files = list(tmp_path.glob("segmenter-*.pt"))
    assert len(files) == 1 and segmenter_key(ds.identity, 8, 32, 2, 0) in files[0].name
    again = train_segmenter(ds, 8, size=32, epochs=2, seed=0, cache_dir=tmp_path, log=lambda m: 1 / 0)  # no training
    for p, q in zip(net.state_dict().values(), again.state_dict().values()):
        assert torch.equal(p, q)
    acc = FCNScore(net, 8)
    batch = [ds[i] for i in range(16)]
    acc.update(torch.stack([b["b"] for b in batch]), torch.stack([b["label"] for b in batch]))
    assert acc.compute()["fcn_pixel_acc"] > 0.4  # two tiny epochs already beat the majority class
    assert segmenter_key(ds.identity, 8, 32, 3, 0) != segmenter_key(ds.identity, 8, 32, 2, 0)


def test_segmenter_does_not_depend_on_the_process_rng(tmp_path):
    """The same (data, seed) gives the same segmenter whatever ran before, and training leaves the RNG alone."""
    from studies.datasets import DataConfig, make_dataset

    ds = make_dataset(DataConfig(size=32, n_train=16, n_val=4, jitter=False), "train")
    torch.manual_seed(1)
    a = train_segmenter(ds, 8, size=32, epochs=1, seed=0, batch_size=8, log=lambda m: None)
    torch.manual_seed(2)
    state = torch.get_rng_state()
    b = train_segmenter(ds, 8, size=32, epochs=1, seed=0, batch_size=8, log=lambda m: None)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
