"""The machinery of the parity check (bench/parity.py): a reference checkout imported beside ganbench, the
reference's own loop body and definitions taken from its script, its downloads and CUDA calls kept off, weight
transplant by name or order, and the comparison (largest relative difference per quantity).

Tolerance: relative 1e-9. float64 code that computes the same thing in another order differs by ~1e-15; Adam
turns rounding noise in a zero gradient (a conv bias before an affine-free norm) into steps of ~1e-10.
"""

from __future__ import annotations

import ast
import importlib
import os
import random
import sys
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import torch

FAMILIES = ("pix2pix", "cyclegan", "pix2pixhd", "spade", "dcgan")
ENV = {"pix2pix": ("GANBENCH_PEER_PIX2PIX", "GANBENCH_PEER"), "cyclegan": ("GANBENCH_PEER_PIX2PIX", "GANBENCH_PEER"),
       "pix2pixhd": ("GANBENCH_PEER_PIX2PIXHD",), "spade": ("GANBENCH_PEER_SPADE",),
       "dcgan": ("GANBENCH_PEER_DCGAN",)}  # fmt: skip
TOL = 1e-9  # relative; float64 code that computes the same thing in another order differs by ~1e-15
PERTURB = 1e-5  # --perturb: one loss weight x (1 + PERTURB)


def checkout(family: str) -> str:
    """The checkout folder named by the family's environment variable ("" if none is set)."""
    return next((os.environ[v] for v in ENV[family] if os.environ.get(v)), "")


class Peer:
    """A reference checkout, importable only inside `with peer:`. Its top-level names (`models`, `util`, `data`,
    `options`, ...) shadow ganbench's there and are put away on exit, so both live in one process; modules it
    imported stay cached across `with` blocks."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root}: no such checkout")
        self.names = {p.stem for p in self.root.iterdir() if p.suffix == ".py" or (p.is_dir() and any(p.glob("*.py")))}
        self.cached: dict[str, object] = {}
        self.saved: dict[str, object] = {}

    def _take(self) -> dict[str, object]:
        return {k: sys.modules.pop(k) for k in list(sys.modules) if k.split(".")[0] in self.names}

    def __enter__(self) -> Peer:
        self.saved = self._take()
        sys.modules.update(self.cached)
        sys.path.insert(0, str(self.root))
        return self

    def __exit__(self, *exc) -> None:
        sys.path.remove(str(self.root))
        self.cached = self._take()
        sys.modules.update(self.saved)

    def module(self, name: str):
        with self:
            return importlib.import_module(name)

    @property
    def commit(self) -> str:
        f = self.root / ".peer_commit"
        return f.read_text().strip() if f.is_file() else "unknown"


def loop_body(path: Path, first: str, last: str):
    """The statements of a script's training loop from the one whose source starts with `first` through the one
    that starts with `last`, compiled: the reference's own step, run without the rest of the script."""
    src = path.read_text()
    tree = ast.parse(src)
    for node in ast.walk(tree):
        if isinstance(node, ast.For):
            heads = [ast.get_source_segment(src, s).strip() for s in node.body]
            i = next((k for k, h in enumerate(heads) if h.startswith(first)), None)
            j = next((k for k, h in enumerate(heads) if h.startswith(last) and i is not None and k >= i), None)
            if i is not None and j is not None:
                return compile(ast.Module(node.body[i : j + 1], type_ignores=[]), str(path), "exec")
    raise LookupError(f"{path}: no loop with statements {first!r} ... {last!r}")


def definitions(path: Path, names: tuple[str, ...], namespace: dict) -> dict:
    """Run only the top-level `def`, `class` and `name = ...` statements of a script that define `names`, in
    `namespace`, in the script's order."""
    tree = ast.parse(path.read_text())

    def defines(n: ast.stmt) -> set[str]:
        if isinstance(n, ast.FunctionDef | ast.ClassDef):
            return {n.name}
        if isinstance(n, ast.Assign):
            return {t.id for t in n.targets if isinstance(t, ast.Name)}
        return set()

    nodes = [n for n in tree.body if defines(n) & set(names)]
    missing = set(names) - {name for n in nodes for name in defines(n)}
    if missing:
        raise LookupError(f"{path}: no {sorted(missing)}")
    exec(compile(ast.Module(nodes, type_ignores=[]), str(path), "exec"), namespace)  # noqa: S102 - the checkout
    return namespace


@contextmanager
def offline(vgg_features: torch.nn.Module | None = None):
    """The references on a CPU without network: torchvision's vgg19(pretrained=True) gives `vgg_features` (the
    same weights ganbench reads from a file), and `.cuda()` leaves a module where it is."""
    import torchvision

    saved = torchvision.models.vgg19, torch.nn.Module.cuda
    torchvision.models.vgg19 = lambda *a, **k: SimpleNamespace(features=vgg_features)
    torch.nn.Module.cuda = lambda self, *a, **k: self
    try:
        yield
    finally:
        torchvision.models.vgg19, torch.nn.Module.cuda = saved


class Comparison:
    """Largest relative difference per quantity, max|ours - theirs| / max|theirs| over all its tensors."""

    def __init__(self, tol: float = TOL):
        self.tol, self.rows = tol, {}

    def add(self, name: str, ours, theirs) -> None:
        ours, theirs = _flat(ours), _flat(theirs)
        if len(ours) != len(theirs) or any(a.shape != b.shape for a, b in zip(ours, theirs)):
            self.rows[name] = float("inf")
            return
        num = max((float((a.double() - b.double()).abs().max()) for a, b in zip(ours, theirs) if a.numel()), default=0)
        den = max((float(b.double().abs().max()) for b in theirs if b.numel()), default=0)
        rel = num / den if den else (0.0 if num == 0 else float("inf"))
        self.rows[name] = max(self.rows.get(name, 0.0), rel)

    def states(self, name: str, ours: torch.nn.Module, theirs: torch.nn.Module, pairs) -> None:
        """Parameters and floating-point buffers (running statistics, spectral-norm vectors) of a transplanted net
        (`pairs` from `transplant`). Integer buffers are left out: batch norm's num_batches_tracked, which
        nothing reads while a momentum is set, and which SPADE's SynchronizedBatchNorm2d does not count."""
        o, t = ours.state_dict(), theirs.state_dict()
        params = {k for k, _ in ours.named_parameters()}
        floats = {k for k, v in o.items() if v.is_floating_point()}
        for kind, keep in (("params", lambda k: k in params), ("buffers", lambda k: k in floats - params)):
            sel = [(ok, tk) for ok, tk in pairs if keep(ok)]
            if sel:
                self.add(f"{kind} {name}", [o[ok] for ok, _ in sel], [t[tk] for _, tk in sel])

    @property
    def passed(self) -> bool:
        return all(v <= self.tol for v in self.rows.values())


def _flat(x) -> list[torch.Tensor]:
    if isinstance(x, list | tuple):
        return [t for v in x for t in _flat(v)]
    return [torch.as_tensor(x).detach().reshape(-1)]


def transplant(ours: torch.nn.Module, theirs: torch.nn.Module, key=None) -> list[tuple[str, str]]:
    """Copy `theirs`'s parameters and buffers into `ours`: by name where the names agree, by `key(our_name) ->
    their_name` where given, else in module order; every shape must agree. Returns the (ours, theirs) pairs."""
    o, t = ours.state_dict(), theirs.state_dict()
    if key is not None:
        pairs = [(k, key(k)) for k in o]
    elif set(o) == set(t):
        pairs = [(k, k) for k in o]
    else:
        if len(o) != len(t):
            raise ValueError(f"{type(ours).__name__}: {len(o)} tensors, the reference's {len(t)}")
        pairs = list(zip(o, t))
    bad = [(a, b) for a, b in pairs if b not in t or o[a].shape != t[b].shape]
    if bad:
        raise ValueError(f"{type(ours).__name__}: no matching reference tensor for {bad[:3]}")
    ours.load_state_dict({a: t[b].clone() for a, b in pairs})
    return pairs


def seed(k: int) -> None:
    """The same draws on both sides: Python's `random` (CycleGAN's pool) and torch (dropout, VAE noise, z)."""
    random.seed(1000 + k)
    torch.manual_seed(1000 + k)
