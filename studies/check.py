"""The recipe contract, checked on a recipe by name: `python -m studies.check mypkg.module:MyRecipe` (or a shipped
recipe, or an entry point's name). tests/test_contract.py runs the same checks on every shipped recipe.

Each check builds the recipe from its own `defaults` and `smoke` settings on the embedded data at 32 px on the CPU
(what a study's smoke profile does) and says what fails in the recipe's terms: its declarations (models/__init__.py
Recipe), one training step with finite losses named "<group>/<term>" for every group, the fast path (bf16
autocast, channels-last, fused Adam) stepping, each phase moving only its own group's nets, a checkpoint that
round-trips and a killed run that resumes to the very same weights and losses, and `translate` giving every
input its metrics read, in [-1, 1] without gradients.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import tempfile
import traceback
from pathlib import Path

import torch

from metrics import METRICS
from models import checkpoint as ckpt
from models import recipe_class
from models.contract import Progress
from models.train import DataStream, Engine, NonFiniteLoss, train
from studies.runner.build import build_recipe, datasets
from studies.runner.evaluation import SAMPLE_WRITERS, check_inputs
from studies.spec import RunSpec, override

SETTINGS = {"data.n_train": 8, "data.n_val": 2, "data.n_test": 4, "train.images": 8, "train.batch_size": 2,
            "train.log_every": 1, "train.ckpt_every": 0, "train.device": "cpu", "eval.batch_size": 4}  # fmt: skip


class ContractFailure(AssertionError):
    """What a recipe does against the contract, in its own terms."""


def expect(ok: bool, message: str) -> None:
    if not ok:
        raise ContractFailure(message)


def spec_of(name: str, **extra) -> RunSpec:
    cls, spec = recipe_class(name), RunSpec(recipe=name)
    for k, v in {**cls.defaults, **cls.smoke, **SETTINGS, **extra}.items():
        spec = override(spec, k, v)
    return spec


def build(spec: RunSpec):
    train_set, test_set = datasets(spec)
    return build_recipe(spec, train_set), train_set, test_set


def _pair(train_set):
    return torch.utils.data.default_collate([train_set[0], train_set[1]])


def declarations(name: str) -> None:
    cls = recipe_class(name)
    expect(dataclasses.is_dataclass(cls.Config), "Config is not a dataclass")
    expect(len(cls.views) == 2, f"views must be (train view, eval view), got {cls.views!r}")
    expect(bool(cls.metrics) and all(m in METRICS for m in cls.metrics),
           f"metrics {cls.metrics!r}: each must be a key of metrics.METRICS")  # fmt: skip
    expect(cls.modality in SAMPLE_WRITERS, f"modality {cls.modality!r} is not one of {', '.join(SAMPLE_WRITERS)}")
    recipe, _, _ = build(spec_of(name))  # the defaults and smoke settings are valid dotted overrides
    grouped = [n for names in recipe.groups.values() for n in names]
    nets = list(recipe.nets)
    expect(sorted(grouped) == sorted(nets), f"groups {recipe.groups} must name every net once: {nets}")
    expect(set(recipe.ema.values()) <= set(recipe.nets), f"ema {recipe.ema} averages a net that is not in nets")


def one_step(name: str) -> None:
    spec = spec_of(name)
    recipe, train_set, _ = build(spec)
    items = _pair(train_set)
    try:
        values = Engine.build(recipe, spec.train).step(recipe, lambda bs: items, Progress(0, 0, 8))
    except NonFiniteLoss as e:
        raise ContractFailure(f"non-finite values after one step: {e}") from None
    terms = [k for k in values if not k.endswith("grad_norm")]
    expect(bool(terms), "one step logged no loss term")
    bad = [k for k, v in values.items() if not torch.isfinite(torch.tensor(v))]
    expect(not bad, f"non-finite values after one step: {bad}")
    expect({k.split("/")[0] for k in terms} == set(recipe.groups),
           f"losses() must give terms for every group {sorted(recipe.groups)}; logged {terms}")  # fmt: skip


def fast_path(name: str) -> None:
    """bf16 autocast (the CUDA default; it runs on the CPU too) mixes dtypes: the recipe must take it."""
    for switches in ({"train.amp": True}, {"train.amp": True, "train.channels_last": True, "train.fused_adam": True}):
        spec = spec_of(name, **switches)
        recipe, train_set, _ = build(spec)
        items = _pair(train_set)
        values = Engine.build(recipe, spec.train).step(recipe, lambda bs, items=items: items, Progress(0, 0, 8))
        expect(bool(values) and all(torch.isfinite(torch.tensor(v)) for v in values.values()),
               f"the fast path {switches} gives no or non-finite losses: {values}")  # fmt: skip


def _state(recipe):
    return {k: {n: t.clone() for n, t in net.state_dict().items()} for k, net in recipe.nets.items()}


def phases(name: str) -> None:
    for group in build(spec_of(name))[0].groups:
        spec = spec_of(name, **{"train.phases": (group,)})
        recipe, train_set, _ = build(spec)
        before, items = _state(recipe), _pair(train_set)
        Engine.build(recipe, spec.train).step(recipe, lambda bs, items=items: items, Progress(0, 0, 8))
        after = _state(recipe)
        for g, names in recipe.groups.items():
            for n in names:
                same = all(torch.equal(before[n][k], after[n][k]) for k in before[n] if before[n][k].is_floating_point()
                           and "running" not in k and not k.endswith(("_u", "_v")))  # fmt: skip
                # (batch-norm statistics and spectral norm's power-iteration vectors (weight_u, weight_v; ._u, ._v
                # under the parametrization) follow every training forward,
                # as in the references; the weights must not)
                expect(same == (g != group), f"phase {group!r}: net {n} {'moved' if not same else 'stood still'}")


def resume(name: str, tmp: Path | None = None) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(tmp or scratch)
        spec = spec_of(name, **{"train.ckpt_every": 4})
        straight, train_set, _ = build(spec)
        train(straight, spec.train, train_set, tmp / "a", progress=False)
        saved = ckpt.load(tmp / "a" / "checkpoint.pt")
        fresh, _, _ = build(spec)
        t = Engine.build(fresh, spec.train).load_state_dict(fresh, saved, DataStream(train_set, 0), tmp / "a")
        expect(t == Progress(4, 8, 8), f"the checkpoint restores progress {t}, not step 4 of 8 images")
        for k in straight.nets:
            for (n, a), b in zip(straight.nets[k].state_dict().items(), fresh.nets[k].state_dict().values()):
                expect(torch.equal(a, b), f"{k}.{n} differs after loading the checkpoint")
        doomed, _, _ = build(spec)
        forward = doomed.forward

        def killed(batch, t):
            if t.step == 3:  # after the checkpoint at 4 images
                raise KeyboardInterrupt
            return forward(batch, t)

        doomed.forward = killed
        with contextlib.suppress(KeyboardInterrupt):
            train(doomed, spec.train, train_set, tmp / "b", progress=False)
        resumed, _, _ = build(spec)
        train(resumed, spec.train, train_set, tmp / "b", progress=False)
        for k in straight.nets:
            for (n, a), b in zip(straight.nets[k].state_dict().items(), resumed.nets[k].state_dict().values()):
                expect(torch.equal(a, b), f"{k}.{n} differs after a killed run resumed (non-net state missing from "
                       "state_dict()? an RNG drawn outside the loop?)")  # fmt: skip
        same = (tmp / "a" / "losses.csv").read_text() == (tmp / "b" / "losses.csv").read_text()
        expect(same, "losses.csv of the resumed run differs from the straight run's")


def evaluation(name: str) -> None:
    spec = spec_of(name)
    recipe, _, test_set = build(spec)
    check_inputs(recipe, test_set, {m: METRICS[m] for m in spec.metrics}, Progress(0, 0, 8))
    out = recipe.translate(_pair(test_set), Progress(0, 0, 8))
    made = [k for k, v in out.items() if v.is_floating_point()]  # images, surfaces, points: all in [-1, 1]
    expect(bool(made), "translate() returned no floating-point output")
    wild = [k for k in made if out[k].min() < -1 or out[k].max() > 1 or out[k].requires_grad]
    expect(not wild, f"translate() outputs {wild} must lie in [-1, 1] and carry no gradient")
    for key in (*recipe.sample_rows, *recipe.test_images.values()):
        expect(key in out or key in test_set[0], f"{key!r} (sample_rows / test_images) is neither a batch key nor "
               "a translate() output")  # fmt: skip


CHECKS = {"declarations": declarations, "one training step": one_step, "fast path": fast_path,
          "phases": phases, "checkpoint and resume": resume, "evaluation": evaluation}  # fmt: skip


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m studies.check", description=__doc__.split("\n\n")[0])
    p.add_argument("recipe", help="mypkg.module:MyRecipe, an entry point's name, or a shipped recipe")
    args = p.parse_args(argv)
    try:
        cls = recipe_class(args.recipe)
    except KeyError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"checking {args.recipe} ({cls.__module__}.{cls.__name__}) on its smoke settings at 32 px, CPU")
    failed = 0
    for title, check in CHECKS.items():
        try:
            check(args.recipe)
            print(f"  PASS  {title}")
        except ContractFailure as e:
            failed += 1
            print(f"  FAIL  {title}: {e}")
        except Exception as e:  # noqa: BLE001 - a crash in the recipe is a failed check, with where it happened
            failed += 1
            where = traceback.extract_tb(e.__traceback__)[-1]
            print(f"  FAIL  {title}: {type(e).__name__}: {e} (at {where.filename}:{where.lineno})")
    print(f"{len(CHECKS) - failed} of {len(CHECKS)} checks pass")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
