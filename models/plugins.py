"""Recipes from outside the package: the one resolver of a recipe name (`models.recipe_class`).

A recipe name is a key of models.RECIPES (the families shipped here), a name an installed package registers in
the entry-point group `ganbench.recipes` (pyproject: `[project.entry-points."ganbench.recipes"] mine =
"mypkg.module:MyRecipe"`, the Python packaging convention for plugins, importlib.metadata), or an import path
`mypkg.module:MyRecipe` (a module on sys.path; `--recipe-module mypkg.module` imports one and registers each
class in it that declares the contract). config.json keeps the name, so every later process (rescoring, the
dashboard, cluster jobs) resolves the same class. A class is checked for the contract's class-level declarations
(models/__init__.py Recipe) when it is registered; `python -m studies.check NAME` runs the behavioural checks.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import inspect

GROUP = "ganbench.recipes"
DECLARED = ("Config", "views", "metrics", "defaults", "smoke", "sample_rows", "test_images", "modality")
METHODS = ("forward", "losses", "translate")


class RecipeNotFound(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def missing(cls) -> list[str]:
    """The contract's class-level declarations and methods `cls` lacks (empty: it may be registered)."""
    out = [f"class attribute {a}" for a in DECLARED if not hasattr(cls, a)]
    out += [f"method {m}()" for m in METHODS if not callable(getattr(cls, m, None))]
    if hasattr(cls, "Config") and not dataclasses.is_dataclass(cls.Config):
        out.append("Config must be a (frozen) dataclass")
    return out


def register(recipes: dict, name: str, cls) -> type:
    problems = missing(cls)
    if problems:
        raise RecipeNotFound(f"recipe {name!r} ({getattr(cls, '__module__', '?')}.{getattr(cls, '__name__', cls)}) "
                             f"does not meet the recipe contract: it lacks {', '.join(problems)} (models/__init__.py "
                             "Recipe)")  # fmt: skip
    recipes[name] = cls
    return cls


def entry_points(recipes: dict) -> None:
    """Register the recipes of installed packages (group ganbench.recipes); a broken one is named, not fatal."""
    for ep in importlib.metadata.entry_points(group=GROUP):
        if ep.name in recipes:
            continue
        try:
            register(recipes, ep.name, ep.load())
        except Exception as e:  # noqa: BLE001 - someone else's package must not stop ours
            print(f"[recipes] entry point {ep.name} = {ep.value} not loaded: {type(e).__name__}: {e}")


def _import(module: str):
    importlib.invalidate_caches()  # a module written since this process started is found too
    return importlib.import_module(module)


def resolve(recipes: dict, name: str) -> type:
    """The class of recipe `name`: shipped, an entry point, or `module:Class`; RecipeNotFound says which exist."""
    if name in recipes:
        return recipes[name]
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            cls = getattr(_import(module), attr)
        except (ImportError, AttributeError) as e:
            raise RecipeNotFound(f"recipe {name!r}: cannot import it ({type(e).__name__}: {e}); the module must be "
                                 "importable here (on sys.path, or an installed package)") from None  # fmt: skip
        return register(recipes, name, cls)
    entry_points(recipes)
    if name in recipes:
        return recipes[name]
    raise RecipeNotFound(f"unknown recipe {name!r}; known: {', '.join(sorted(recipes))}, an entry point of group "
                         f"{GROUP!r}, or an import path mypkg.module:MyRecipe")  # fmt: skip


def register_module(recipes: dict, module: str) -> list[str]:
    """--recipe-module: import `module` and register each class defined in it that declares the contract, as
    `module:Class`; the names registered (none: RecipeNotFound naming what the closest class lacks)."""
    try:
        mod = _import(module)
    except ImportError as e:
        raise RecipeNotFound(f"--recipe-module {module}: cannot import it ({e})") from None
    classes = [c for _, c in inspect.getmembers(mod, inspect.isclass) if c.__module__ == mod.__name__]
    names = [register(recipes, f"{module}:{c.__name__}", c) and f"{module}:{c.__name__}" for c in classes
             if not missing(c)]  # fmt: skip
    if not names:
        best = min(classes, key=lambda c: len(missing(c)), default=None)
        why = f"; closest: {best.__name__} lacks {', '.join(missing(best))}" if best else ""
        raise RecipeNotFound(f"--recipe-module {module}: no class in it meets the recipe contract{why}")
    return names
