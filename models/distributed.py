"""One run on several processes (torchrun): the helpers the training loop uses when torch.distributed is running.

Data parallel, as DistributedDataParallel does it, without wrapping the nets (recipes keep calling their own
modules, and gradient penalties' double backward works): every rank draws the same full batch from the same
seeded order and keeps its contiguous slice; after each backward the gradients are averaged over ranks
(all_reduce), so with equal slices the step equals one process's step on the full batch; batch norm becomes
SyncBatchNorm; logged values are averaged too. Rank 0 alone writes logs, checkpoints, samples and metrics
(evaluation runs on rank 0 over the whole test split; the other ranks wait for it at the next step).
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import Tensor, nn


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) without torch.distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_from_env() -> tuple[int, int]:
    """Join the process group torchrun describes (WORLD_SIZE > 1): nccl on CUDA, gloo on the CPU."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return world()


def finish() -> None:
    """Leave the process group once this rank's part is done (rank 0 then scores alone). A rank that simply
    exited left gloo's threads to the interpreter's shutdown, which now and then aborted it (SIGABRT,
    "terminate called without an active exception"), and torchrun then killed rank 0 mid-evaluation."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def shard(batch: dict[str, Tensor], rank: int, size: int) -> dict[str, Tensor]:
    """This rank's contiguous slice of every tensor of a batch (the batch must split evenly)."""
    if size == 1:
        return batch
    n = next(iter(batch.values())).shape[0]
    if n % size:
        raise ValueError(f"a batch of {n} does not split over {size} processes; use a multiple of {size}")
    k = n // size
    return {key: v[rank * k : (rank + 1) * k] for key, v in batch.items()}


def average_gradients(params) -> None:
    size = world()[1]
    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= size


def average_values(values: dict[str, float]) -> dict[str, float]:
    if world()[1] == 1 or not values:
        return values
    t = torch.tensor(list(values.values()), dtype=torch.float64)
    dist.all_reduce(t)
    return dict(zip(values, (t / world()[1]).tolist()))


def sync_batchnorm(nets: dict[str, nn.Module]) -> None:
    """Batch norm statistics over all ranks' slices (in place in `nets`)."""
    for name, net in nets.items():
        nets[name] = nn.SyncBatchNorm.convert_sync_batchnorm(net)
