"""Shared fixtures: tiny generated tensors, CPU only, two threads (the CI machine has two cores)."""

import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


@pytest.fixture(autouse=True)
def _skip_gpu(request):
    if request.node.get_closest_marker("gpu") and not torch.cuda.is_available():
        pytest.skip("needs CUDA")
