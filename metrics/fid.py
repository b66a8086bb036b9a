"""FID (Heusel et al. 2017, arXiv:1706.08500) and KID (Binkowski et al. 2018, arXiv:1801.01401) via
torchmetrics and torch-fidelity's Inception-v3 port, ONLY from a local weights file that the user names.

Nothing is downloaded: without `--inception-weights PATH` the metric raises `MetricUnavailable` and the
evaluator skips it. The file must be a plain state dict (checked with torch.load(weights_only=True)
before torch-fidelity loads it). Images in [-1, 1] are quantised to uint8 (the extractor's input) and
resized to 299 px by the extractor (antialiased bilinear). KID uses subsets of min(1000, N) images.
Protocol caveat: FID on a few hundred images is strongly biased upwards; compare only equal N.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from metrics.protocol import MetricUnavailable, check_images


def load_inception(path: str | Path | None) -> nn.Module:
    """torch-fidelity's 2048-d Inception-v3 feature extractor with weights read from `path`."""
    if path is None:
        raise MetricUnavailable("FID/KID need a local Inception weights file (--inception-weights PATH)")
    path = Path(path)
    if not path.is_file():
        raise MetricUnavailable(f"{path}: Inception weights file not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling fault means "not a plain state dict"
        raise ValueError(f"{path}: not a state dict loadable with weights_only=True ({e})") from None
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ValueError(f"{path}: expected a state dict of tensors")
    try:
        from torchmetrics.image.fid import NoTrainInceptionV3
    except (ImportError, ModuleNotFoundError) as e:
        raise MetricUnavailable(f"FID/KID need torch-fidelity: pip install 'ganbench[fid]' ({e})") from None
    try:
        return NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"],
                                  feature_extractor_weights_path=str(path))  # fmt: skip
    except RuntimeError as e:
        raise ValueError(f"{path}: weights do not fit torch-fidelity's Inception-v3 ({e})") from None


class InceptionDistances:
    """Streaming FID and KID over (fake, real) batches; merge() adds the other shard's features. FID's state is
    sums (exact merge); KID draws random subsets of the features, so its value depends on the RNG state
    (the evaluator seeds it): merge_exact is False. The real features can come from a cache."""

    merge_exact = False

    def __init__(self, inception: nn.Module):
        from torchmetrics.image.fid import FrechetInceptionDistance
        from torchmetrics.image.kid import KernelInceptionDistance

        self.fid = FrechetInceptionDistance(feature=inception)
        self.kid = KernelInceptionDistance(feature=inception, subset_size=1000)
        self.n, self.frozen_real = 0, False

    def reset(self) -> None:
        self.fid.reset()
        self.kid.reset()
        self.n, self.frozen_real = 0, False

    def update(self, fake: Tensor, real: Tensor) -> None:
        check_images(fake, "fake")
        real_u8, fake_u8 = (((x.float() + 1) * 127.5).round().byte() for x in (real, fake))  # the extractor's input
        for m in (self.fid, self.kid):
            if not self.frozen_real:
                check_images(real, "real")
                m.update(real_u8, real=True)
            m.update(fake_u8, real=False)
        self.n += fake.shape[0]

    def real_state(self) -> dict:
        f = self.fid
        return {"sum": f.real_features_sum, "cov_sum": f.real_features_cov_sum, "n": f.real_features_num_samples,
                "kid": torch.cat(self.kid.real_features) if self.kid.real_features else torch.zeros(0)}  # fmt: skip

    def set_real_state(self, state: dict) -> None:
        f = self.fid
        f.real_features_sum, f.real_features_cov_sum, f.real_features_num_samples = state["sum"], state["cov_sum"], \
            state["n"]  # fmt: skip
        self.kid.real_features = [state["kid"]]
        self.frozen_real = True

    def merge(self, other: InceptionDistances) -> None:
        self.fid.merge_state(other.fid)
        self.kid.merge_state(other.kid)
        self.n += other.n

    def compute(self) -> dict[str, float]:
        if self.n < 2:
            raise ValueError(f"fid: needs at least 2 images per set, got {self.n}")
        self.kid.subset_size = min(1000, self.n)
        kid_mean, _ = self.kid.compute()
        return {"fid": float(self.fid.compute()), "kid": float(kid_mean)}
