"""The training data stream of the one loop: endless shuffled batches, each a function of its position.

Epoch e is a permutation seeded by (seed, e), as a DataLoader with a seeded sampler (PyTorch's reproducibility
notes); each batch's augmentation is seeded by its (seed, epoch, offset), so DataLoader workers (train.workers)
change nothing and resume is exact (StyleGAN2-ADA's training_loop keeps the data position likewise). Built for
ganbench; no reference code to follow.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, default_collate


class BatchMaker:
    """Builds the batch of one stream position. Its items' random augmentation (crops, flips, an unpaired B) draws
    from torch's generator seeded by (seed, epoch, offset) inside a forked RNG state, so a batch is a pure function
    of its position: the same in the training process and in any DataLoader worker, and the training RNG (dropout,
    noise) is never touched by the data."""

    def __init__(self, data: Dataset, seed: int):
        self.data, self.seed = data, seed

    def __call__(self, plan: tuple[int, int, tuple[int, ...]]) -> dict:
        epoch, offset, idx = plan
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(np.random.SeedSequence([self.seed, epoch, offset]).generate_state(1)[0]))
            return default_collate([self.data[j] for j in idx])


class _Plans(torch.utils.data.Sampler):
    """Endless (epoch, offset, indices) of `batch`-sized batches from a stream position (the workers' work list)."""

    def __init__(self, stream: DataStream, epoch: int, offset: int, batch: int):
        self.stream, self.start, self.batch = stream, (epoch, offset), batch

    def __iter__(self):
        epoch, offset = self.start
        while True:
            plan = self.stream.plan(epoch, offset, self.batch)
            yield plan
            epoch, offset = plan[0], plan[1] + self.batch


class _Batches(Dataset):
    def __init__(self, make: BatchMaker):
        self.make = make

    def __getitem__(self, plan):
        return plan, self.make(plan)


class DataStream:
    """Endless shuffled batches of any size: epoch e is randperm seeded by (seed, e); a batch that would
    run past the end of an epoch starts the next one (drop_last). Its position is checkpointed, and each batch
    is a function of its position (BatchMaker), so resume is exact and `workers` never changes a result.

    workers > 0: batches are built ahead in that many DataLoader worker processes (rendering synthetic scenes,
    decoding files, augmenting), 4 per worker in flight, in pinned memory when `pin_memory`; a new batch size
    (a growing recipe's next phase) restarts them at the position reached."""

    def __init__(self, data: Dataset, seed: int, workers: int = 0, pin_memory: bool = False):
        self.data, self.seed, self.epoch, self.offset, self._order = data, seed, 0, 0, None
        self.make, self.workers, self.pin_memory, self._loader = BatchMaker(data, seed), workers, pin_memory, None

    def _perm(self, epoch: int) -> Tensor:
        if self._order is None or self._order[0] != epoch:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._order = (epoch, torch.randperm(len(self.data), generator=gen))
        return self._order[1]

    def plan(self, epoch: int, offset: int, batch_size: int) -> tuple[int, int, tuple[int, ...]]:
        """(epoch, offset, indices) of the batch of `batch_size` at that position (the next epoch if it would
        run past the end)."""
        if offset + batch_size > len(self.data):
            epoch, offset = epoch + 1, 0
        return epoch, offset, tuple(int(j) for j in self._perm(epoch)[offset : offset + batch_size])

    def next(self, batch_size: int) -> dict:
        if batch_size > len(self.data):
            raise ValueError(f"the training split has {len(self.data)} items, fewer than batch_size={batch_size}")
        if self.workers == 0:
            plan = self.plan(self.epoch, self.offset, batch_size)
            batch = self.make(plan)
        else:
            if self._loader is None or self._loader[0] != batch_size:
                self.close()
                loader = torch.utils.data.DataLoader(
                    _Batches(self.make), batch_size=None, sampler=_Plans(self, self.epoch, self.offset, batch_size),
                    num_workers=self.workers, pin_memory=self.pin_memory, prefetch_factor=4)  # fmt: skip
                self._loader = (batch_size, iter(loader))
            plan, batch = next(self._loader[1])
        self.epoch, self.offset = plan[0], plan[1] + batch_size
        return batch

    def close(self) -> None:
        """Stop the workers (their batches ahead are dropped; the position is the one consumed)."""
        if self._loader is not None:
            shutdown = getattr(self._loader[1], "_shutdown_workers", None)
            if shutdown:
                shutdown()
            self._loader = None

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "offset": self.offset}

    def load_state_dict(self, state: dict) -> None:
        self.close()
        self.epoch, self.offset = int(state["epoch"]), int(state["offset"])
