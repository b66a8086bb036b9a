"""FID/KID: unavailable without a local weights file; the loading path works with a file the test writes."""

import pytest
import torch

from bench.pretrained_files import make as make_files
from metrics import METRICS, EvalContext, MetricUnavailable
from metrics.fid import InceptionDistances, load_inception


def test_unavailable_without_weights(tmp_path):
    with pytest.raises(MetricUnavailable, match="fid needs --weights inception=PATH"):
        METRICS["fid"].make(EvalContext())
    with pytest.raises(MetricUnavailable, match="not found"):
        load_inception(tmp_path / "missing.pth")


def test_bad_weights_file(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="bad.pth: not a state dict"):
        load_inception(bad)
    torch.save({"conv.weight": torch.zeros(2)}, tmp_path / "wrong.pth")
    with pytest.raises(ValueError, match="wrong.pth: weights do not fit"):
        load_inception(tmp_path / "wrong.pth")


@pytest.mark.slow
def test_fid_kid_from_local_file(tmp_path, gen):
    path = make_files(tmp_path, ("inception",))["inception"]  # random values in torch-fidelity's format
    acc = METRICS["fid"].make(EvalContext(inception_weights=path))
    assert isinstance(acc, InceptionDistances)
    real = torch.rand(4, 3, 32, 32, generator=gen) * 2 - 1
    acc.update(real, real)
    same = acc.compute()
    acc.reset()
    acc.update(-torch.ones(4, 3, 32, 32), real)
    different = acc.compute()
    assert abs(same["fid"]) < 1e-2 and different["fid"] > same["fid"]
