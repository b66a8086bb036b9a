"""The recipe contract (models/__init__.py Recipe), checked for every entry of RECIPES: adding a family to
RECIPES makes it run these tests, each on the recipe's own `smoke` settings at 32 px on the CPU."""

import dataclasses

import pytest
import torch

from metrics import METRICS
from models import RECIPES
from models import checkpoint as ckpt
from models.contract import Progress
from models.train import Engine, train
from studies.runner.build import build_recipe, datasets
from studies.runner.evaluation import check_inputs
from studies.spec import RunSpec, override

SETTINGS = {"data.n_train": 8, "data.n_val": 2, "data.n_test": 4, "train.images": 8, "train.batch_size": 2,
            "train.log_every": 1, "train.ckpt_every": 0, "train.device": "cpu", "eval.batch_size": 4}  # fmt: skip


def _spec(name: str, **extra) -> RunSpec:
    cls, spec = RECIPES[name], RunSpec(recipe=name)
    for k, v in {**cls.defaults, **cls.smoke, **SETTINGS, **extra}.items():
        spec = override(spec, k, v)
    return spec


def _build(spec):
    train_set, test_set = datasets(spec)
    return build_recipe(spec, train_set), train_set, test_set


def _state(recipe):
    return {k: {n: t.clone() for n, t in net.state_dict().items()} for k, net in recipe.nets.items()}


@pytest.fixture(params=sorted(RECIPES))
def name(request):
    return request.param


def test_declarations(name):
    cls = RECIPES[name]
    assert dataclasses.is_dataclass(cls.Config) and len(cls.views) == 2 and cls.metrics
    from studies.runner.evaluation import SAMPLE_WRITERS

    assert all(m in METRICS for m in cls.metrics) and cls.modality in SAMPLE_WRITERS
    spec = _spec(name)  # the defaults and smoke settings are valid dotted overrides
    recipe, _, _ = _build(spec)
    grouped = [n for names in recipe.groups.values() for n in names]
    assert sorted(grouped) == sorted(recipe.nets) and set(recipe.ema.values()) <= set(recipe.nets)


def test_one_step_gives_finite_named_losses(name):
    spec = _spec(name)
    recipe, train_set, _ = _build(spec)
    eng = Engine.build(recipe, spec.train)
    batch = train_set[0], train_set[1]
    values = eng.step(recipe, lambda bs: torch.utils.data.default_collate(list(batch)), Progress(0, 0, 8))
    terms = [k for k in values if not k.endswith("grad_norm")]
    assert terms and all(torch.isfinite(torch.tensor(v)) for v in values.values())
    assert {k.split("/")[0] for k in terms} == set(recipe.groups)  # every group stepped, "<group>/<term>" keys


@pytest.mark.parametrize("switches", [{"train.amp": True}, {"train.amp": True, "train.channels_last": True,
                                                               "train.fused_adam": True}])  # fmt: skip
def test_the_fast_path_steps_every_family(name, switches):
    """bf16 autocast (the CUDA default; it runs on the CPU too) mixes dtypes: every family must take it."""
    spec = _spec(name, **switches)
    recipe, train_set, _ = _build(spec)
    eng = Engine.build(recipe, spec.train)
    items = torch.utils.data.default_collate([train_set[0], train_set[1]])
    values = eng.step(recipe, lambda bs: items, Progress(0, 0, 8))
    assert values and all(torch.isfinite(torch.tensor(v)) for v in values.values())


def test_each_phase_moves_only_its_own_group(name):
    for group in _build(_spec(name))[0].groups:
        spec = _spec(name, **{"train.phases": (group,)})
        recipe, train_set, _ = _build(spec)
        before = _state(recipe)
        eng = Engine.build(recipe, spec.train)
        items = torch.utils.data.default_collate([train_set[0], train_set[1]])
        eng.step(recipe, lambda bs, items=items: items, Progress(0, 0, 8))
        after = _state(recipe)
        for g, names in recipe.groups.items():
            for n in names:
                same = all(torch.equal(before[n][k], after[n][k]) for k in before[n] if before[n][k].is_floating_point()
                           and "running" not in k and not k.endswith(("._u", "._v")))  # fmt: skip
                # (batch-norm statistics and spectral norm's power-iteration vectors follow every training forward,
                # as in the references; the weights must not)
                assert same == (g != group), f"phase {group!r}: net {n} {'moved' if same is False else 'stood still'}"


def test_checkpoint_round_trips_and_resume_is_exact(name, tmp_path):
    spec = _spec(name, **{"train.ckpt_every": 4})
    straight, train_set, _ = _build(spec)
    train(straight, spec.train, train_set, tmp_path / "a", progress=False)
    saved = ckpt.load(tmp_path / "a" / "checkpoint.pt")
    fresh, _, _ = _build(spec)
    eng = Engine.build(fresh, spec.train)
    from models.train import DataStream

    t = eng.load_state_dict(fresh, saved, DataStream(train_set, 0), tmp_path / "a")
    assert t == Progress(4, 8, 8)
    assert all(torch.equal(a, b) for k in straight.nets for a, b in
               zip(straight.nets[k].state_dict().values(), fresh.nets[k].state_dict().values()))  # fmt: skip

    doomed, _, _ = _build(spec)
    forward = doomed.forward

    def killed(batch, t):
        if t.step == 3:  # after the checkpoint at 4 images
            raise KeyboardInterrupt
        return forward(batch, t)

    doomed.forward = killed
    with pytest.raises(KeyboardInterrupt):
        train(doomed, spec.train, train_set, tmp_path / "b", progress=False)
    resumed, _, _ = _build(spec)
    train(resumed, spec.train, train_set, tmp_path / "b", progress=False)
    for k in straight.nets:
        for (n, a), b in zip(straight.nets[k].state_dict().items(), resumed.nets[k].state_dict().values()):
            assert torch.equal(a, b), f"{k}.{n} differs after resume"
    assert (tmp_path / "a" / "losses.csv").read_text() == (tmp_path / "b" / "losses.csv").read_text()


def test_translate_provides_every_declared_metric_input(name):
    spec = _spec(name)
    recipe, _, test_set = _build(spec)
    check_inputs(recipe, test_set, {m: METRICS[m] for m in spec.metrics}, Progress(0, 0, 8))
    out = recipe.translate(torch.utils.data.default_collate([test_set[0], test_set[1]]), Progress(0, 0, 8))
    made = [v for v in out.values() if v.is_floating_point()]  # images, surfaces, points: all in [-1, 1]
    assert made and all(v.min() >= -1 and v.max() <= 1 and not v.requires_grad for v in made)
    for key in (*recipe.sample_rows, *recipe.test_images.values()):
        assert key in out or key in test_set[0], f"{key} is neither a batch key nor a translate output"
