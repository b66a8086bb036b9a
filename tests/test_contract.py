"""The recipe contract (models/__init__.py Recipe), checked for every entry of RECIPES by studies/check.py (the
checks `python -m studies.check NAME` runs on an outside recipe): adding a family to RECIPES makes it run these
tests, each on the recipe's own `smoke` settings at 32 px on the CPU. A check that cannot fail would be no check:
each is shown failing on a recipe broken in its way."""

import pytest
import torch

from models import RECIPES
from studies import check


@pytest.fixture(params=sorted(RECIPES))
def name(request):
    return request.param


@pytest.mark.parametrize("title", list(check.CHECKS))
def test_contract(name, title):
    check.CHECKS[title](name)


class NaNLoss(RECIPES["pix2pix"]):
    def losses(self, group, batch, out, t):
        return {k: v * torch.nan for k, v in super().losses(group, batch, out, t).items()}


class Unclamped(RECIPES["pix2pix"]):
    def translate(self, batch, t):
        return {k: v * 3 for k, v in super().translate(batch, t).items()}


class ForgetsItsPool(RECIPES["cyclegan"]):
    def state_dict(self):
        return {}


@pytest.mark.parametrize("cls,title,message", [
    (NaNLoss, "one training step", "non-finite values after one step"),
    (Unclamped, "evaluation", "must lie in [-1, 1]"),
    (ForgetsItsPool, "checkpoint and resume", "differs after a killed run resumed"),
])  # fmt: skip
def test_each_check_fails_on_a_recipe_broken_its_way(monkeypatch, cls, title, message):
    monkeypatch.setitem(RECIPES, "broken", cls)
    with pytest.raises(check.ContractFailure, match=message.replace("[", r"\[").replace("]", r"\]")):
        check.CHECKS[title]("broken")
