"""A recipe and a study from outside the package (models/plugins.py): a class in a temporary package, named by
its import path, by `--recipe-module` or by an installed entry point (group ganbench.recipes), trains and is
scored in a study file that lives outside studies/catalogue/; `python -m studies.check` passes it and names what a
class lacks; a wrong name is one line."""

import sys
import textwrap

import pandas as pd
import pytest

from models import RECIPES
from studies import check
from studies import run as runner

RECIPE = '''
from models.pix2pix import Pix2Pix


class MyRecipe(Pix2Pix):
    """pix2pix with a lighter L1 term: an outside family that reuses ganbench's pieces."""

    defaults = {**Pix2Pix.defaults, "model.lambda_l1": 10.0}


class NotARecipe:
    Config = None
'''

STUDY = """
from studies.catalogue.profiles import pix2pix_profiles
from studies.spec import Claim, RunSpec, Study

STUDY = Study(name="my_study", question="Is my recipe better than pix2pix?", base=RunSpec(),
              variants={"pix2pix": {"recipe": "pix2pix"}, "mine": {"recipe": "RECIPE_NAME"}},
              profiles=pix2pix_profiles(), claims=(Claim("mine > pix2pix", "ssim"),))
"""


@pytest.fixture
def package(tmp_path, monkeypatch):
    (tmp_path / "myganpkg").mkdir()
    (tmp_path / "myganpkg" / "__init__.py").write_text("")
    (tmp_path / "myganpkg" / "recipe.py").write_text(RECIPE)
    dist = tmp_path / "myganpkg-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: myganpkg\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[ganbench.recipes]\nmine = myganpkg.recipe:MyRecipe\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    forget()
    yield tmp_path
    forget()


def forget():
    """Each test's package is a new one: no registration or module of another test's survives."""
    for name in [k for k in RECIPES if "myganpkg" in k or k == "mine"]:
        del RECIPES[name]
    for name in [m for m in sys.modules if m.split(".")[0] == "myganpkg"]:
        del sys.modules[name]


@pytest.mark.parametrize("name", ["myganpkg.recipe:MyRecipe", "mine"])
def test_an_outside_recipe_trains_and_is_scored_in_a_study_file(package, tmp_path, capsys, name):
    study = tmp_path / "my_study.py"
    study.write_text(STUDY.replace("RECIPE_NAME", name))
    args = [str(study), "--profile", "smoke", "--out", str(tmp_path / "runs"), "--no-progress"]
    assert runner.main(args) == 0
    res = pd.read_csv(tmp_path / "runs" / "my_study" / "results.csv")
    assert {"fcn_pixel_acc", "ssim"} <= set(res[res.variant == "mine"].metric)
    runs = pd.read_csv(tmp_path / "runs" / "my_study" / "runs.csv").set_index("variant")
    assert runs.loc["mine", "recipe"] == name and runs.loc["mine", "model.lambda_l1"] == 10.0
    assert runner.main(args) == 0 and "[mine-s0] done already, skipped" in capsys.readouterr().out


def test_recipe_module_registers_the_contract_classes_and_names_what_others_lack(package, tmp_path, capsys):
    study = tmp_path / "my_study.py"
    study.write_text(STUDY.replace("RECIPE_NAME", "myganpkg.recipe:MyRecipe"))
    assert runner.main([str(study), "--recipe-module", "myganpkg.recipe", "--dry-run"]) == 0
    assert "myganpkg.recipe:MyRecipe registered from myganpkg.recipe" in capsys.readouterr().out
    (tmp_path / "myganpkg" / "empty.py").write_text("class Half:\n    Config = None\n    views = ()\n")
    assert runner.main([str(study), "--recipe-module", "myganpkg.empty", "--dry-run"]) == 2
    assert "no class in it meets the recipe contract; closest: Half lacks class attribute metrics" in \
        capsys.readouterr().err  # fmt: skip


@pytest.mark.parametrize("argv,message", [
    (["missing_study.py"], "missing_study.py: no such study file"),
    (["ablation_patchgan", "--set", "recipe=nopkg.mod:Nope"], "recipe 'nopkg.mod:Nope': cannot import it"),
    (["ablation_patchgan", "--set", "recipe=nothing"], "unknown recipe 'nothing'"),
])  # fmt: skip
def test_wrong_names_are_one_line(capsys, argv, message):
    assert runner.main([*argv, "--dry-run"]) == 2
    assert message in capsys.readouterr().err


def test_studies_check_passes_an_outside_recipe_and_fails_a_broken_one(package, capsys):
    assert check.main(["myganpkg.recipe:MyRecipe"]) == 0
    assert "6 of 6 checks pass" in capsys.readouterr().out
    (package / "myganpkg" / "bad.py").write_text(textwrap.dedent('''
        from models.pix2pix import Pix2Pix

        class Wild(Pix2Pix):
            def translate(self, batch, t):
                return {k: v * 3 for k, v in super().translate(batch, t).items()}
    '''))  # fmt: skip
    with pytest.raises(check.ContractFailure, match=r"translate\(\) outputs \['fake_b'\] must lie in \[-1, 1\]"):
        check.evaluation("myganpkg.bad:Wild")  # (the CLI prints it as "FAIL  evaluation: ...")
    assert check.main(["myganpkg.recipe:NotARecipe"]) == 2
    assert "does not meet the recipe contract: it lacks class attribute views" in capsys.readouterr().err


def test_studies_check_prints_each_failure_in_the_recipes_terms(monkeypatch, capsys):
    def fails(name):
        raise check.ContractFailure("translate() outputs ['fake_b'] must lie in [-1, 1] and carry no gradient")

    def crashes(name):
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr(check, "CHECKS", {"evaluation": fails, "one training step": crashes, "declarations": len})
    assert check.main(["pix2pix"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  evaluation: translate() outputs ['fake_b'] must lie in [-1, 1]" in out
    assert "FAIL  one training step: RuntimeError: shape mismatch (at " in out and "PASS  declarations" in out
    assert "1 of 3 checks pass" in out
