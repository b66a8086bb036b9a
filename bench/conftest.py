"""pytest-benchmark fixtures: the devices to time on (CPU always, CUDA when present)."""

import pytest
import torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)


def sync(device: torch.device) -> None:
    """Wait for queued GPU work so that the timer measures it; no-op on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def record_rate(benchmark, images: int, key: str = "images_per_s", scale: float = 1.0) -> None:
    """images / mean seconds into extra_info; nothing to record under --benchmark-disable."""
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        benchmark.extra_info[key] = images / stats.stats.mean if key == "images_per_s" else stats.stats.mean * scale
