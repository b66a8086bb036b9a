"""Checkpoint files of the training loop: written atomically, read with `torch.load(weights_only=True)`.

A checkpoint holds plain data only (tensors, numbers, strings, lists, dicts): the nets, their EMA copies,
the optimizers, where the run stands (step, images), the data order (epoch, offset), every RNG state
and the recipe's own state (CycleGAN's image pool). RNG states are stored as tensors and lists, so no
checkpoint can run code when it is loaded (the pickle of `np.random.get_state()` could).
"""

from __future__ import annotations

import os
import pickle
import random
import tempfile
from pathlib import Path

import numpy as np
import torch

FORMAT = 2  # bump when the layout changes; older files are refused with a message


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, from another format, or does not fit the run; names the file."""


def rng_state() -> dict:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, mt, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss),
                  "cached_gaussian": float(cached)},
        "python": {"version": version, "state": torch.tensor(mt, dtype=torch.int64), "gauss_next": gauss_next},
    }  # fmt: skip
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))  # fmt: skip
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save(state: dict, path: Path) -> None:
    """torch.save to a temp file beside `path`, then os.replace: a crash never leaves half a checkpoint."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        torch.save({"format": FORMAT, **state}, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _numpy_arrays() -> list:
    """The globals a pickled numpy array needs: data reconstruction only, no code (format-1 RNG states)."""
    return [np._core.multiarray._reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32))]


def load(path: Path, map_location: str | torch.device = "cpu", legacy: bool = False) -> dict:
    """The checkpoint at `path`, loaded as weights only; CheckpointError names the file and the fault.

    `legacy=True` also reads format 1 (ganbench before contract v2, whose RNG states are numpy arrays), still
    without running code, for inference and rescoring only: {"format": 1, "nets", "progress": {"step"}}."""
    try:
        try:
            state = torch.load(path, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError:
            if not legacy:
                raise
            with torch.serialization.safe_globals(_numpy_arrays()):
                old = torch.load(path, map_location=map_location, weights_only=True)
            state = {"format": 1, "nets": old["nets"], "ema": {}, "progress": {"step": int(old["step"])}}
    except FileNotFoundError:
        raise CheckpointError(f"{path}: checkpoint not found") from None
    except Exception as e:  # noqa: BLE001 - unpickling faults come in many types; all mean "not ours"
        raise CheckpointError(f"{path}: not a ganbench checkpoint readable as weights only "
                              f"({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None  # fmt: skip
    if legacy and isinstance(state, dict) and state.get("format") == 1:
        return state
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format", "none") if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{path}: checkpoint format {found}, this ganbench reads format {FORMAT} "
                              "(start the run anew with --restart)")  # fmt: skip
    return state


def load_nets(nets: dict[str, torch.nn.Module], saved: dict, path: Path, what: str = "nets") -> None:
    """Load each net's state dict, naming the net and the first mismatching tensor when it does not fit."""
    missing = sorted(set(nets) - set(saved))
    if missing:
        raise CheckpointError(f"{path}: no {what} {missing} in the checkpoint (it has {sorted(saved)})")
    for name, net in nets.items():
        try:
            net.load_state_dict(saved[name])
        except RuntimeError as e:
            first = str(e).split("\n\t")[1] if "\n\t" in str(e) else str(e)
            raise CheckpointError(f"{path}: {what} {name!r} does not fit this config: {first.strip()[:300]}") from None
