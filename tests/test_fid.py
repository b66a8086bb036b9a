"""FID/KID: unavailable without a local weights file; the loading path works with a file the test writes."""

import pytest
import torch

from metrics import METRICS, EvalContext, MetricUnavailable
from metrics.fid import InceptionDistances, load_inception


def _random_inception_weights(path, monkeypatch):
    """A state dict with the real keys and random values, made without any download."""
    import torch_fidelity.feature_extractor_inceptionv3 as fe

    with monkeypatch.context() as m:
        m.setattr(fe, "load_state_dict_from_url", lambda *a, **k: {})
        m.setattr(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd, *a, **k: None)
        net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    gen = torch.Generator().manual_seed(0)
    state = {}
    for k, v in net.state_dict().items():  # He-initialised convs, identity batch norms: features vary
        if v.ndim == 4 or (v.ndim == 2 and "weight" in k):
            state[k] = torch.randn(v.shape, generator=gen) * (2 / v[0].numel()) ** 0.5
        elif k.endswith(("running_var", ".weight")):
            state[k] = torch.ones_like(v)
        else:
            state[k] = torch.zeros_like(v)
    torch.save(state, path)


def test_unavailable_without_weights(tmp_path):
    with pytest.raises(MetricUnavailable, match="inception-weights"):
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
def test_fid_kid_from_local_file(tmp_path, monkeypatch, gen):
    path = tmp_path / "inception.pth"
    _random_inception_weights(path, monkeypatch)
    acc = METRICS["fid"].make(EvalContext(inception_weights=path))
    assert isinstance(acc, InceptionDistances)
    real = torch.rand(4, 3, 32, 32, generator=gen) * 2 - 1
    acc.update(real, real)
    same = acc.compute()
    acc.reset()
    acc.update(-torch.ones(4, 3, 32, 32), real)
    different = acc.compute()
    assert abs(same["fid"]) < 1e-2 and different["fid"] > same["fid"]
