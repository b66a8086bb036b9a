"""The architecture's import rules (../shared/DESIGN.md section 1), checked on the parsed imports of every module:
models/ and metrics/ are libraries and import nothing from studies/, dashboard/ or bench/; studies/ imports
nothing from dashboard/ or bench/; the study catalogue imports only the study language (studies/spec.py) and its
profiles; and no module imports itself through a circle. Imports inside functions count too (a lazy import is
still a dependency). Each rule is also shown to fail on a module that breaks it."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("models", "metrics", "studies", "dashboard", "bench")
LIBRARIES = ("models", "metrics")
CATALOGUE_MAY_IMPORT = {"studies.spec", "studies.catalogue", "studies.catalogue.profiles"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_sources() -> dict[str, str]:
    """{module name: source} of every module of the project's packages."""
    return {module_name(p): p.read_text() for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def imports(name: str, source: str, known: set[str]) -> set[str]:
    """The project modules `name` imports: `from a.b import c` is a.b.c where that is a module, else a.b."""
    package = name if name in known and any(k.startswith(name + ".") for k in known) else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x / from .a import b
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        out |= {t for t in targets if t.split(".")[0] in PACKAGES}
    return out


def graph(sources: dict[str, str]) -> dict[str, set[str]]:
    known = set(sources)
    return {name: imports(name, src, known) for name, src in sources.items()}


def violations(edges: dict[str, set[str]]) -> list[str]:
    """Every broken rule, one line each."""
    out = []
    for name, targets in sorted(edges.items()):
        top = name.split(".")[0]
        for t in sorted(targets):
            above = {"dashboard", "bench"} | ({"studies"} if top in LIBRARIES else set())
            if top in LIBRARIES + ("studies",) and t.split(".")[0] in above:
                out.append(f"{name} imports {t}: {top}/ may not import {t.split('.')[0]}/")
            if name.startswith("studies.catalogue.") and t not in CATALOGUE_MAY_IMPORT:
                out.append(f"{name} imports {t}: a study imports only studies.spec and its profiles")
    return out + [f"import circle: {' -> '.join(c)}" for c in circles(edges)]


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected group of modules (Tarjan), as a path that returns to its start."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in edges.get(v, ()):
                found.append(_path(sorted(group), edges))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def _path(group: list[str], edges: dict[str, set[str]]) -> list[str]:
    """A walk from the group's first module back to itself inside the group (breadth first)."""
    start, members = group[0], set(group)
    prev, queue = {start: None}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges[v] & members):
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return [*reversed(path), start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return group


def test_the_project_keeps_its_import_rules():
    edges = graph(project_sources())
    assert len(edges) > 80 and "studies.spec" in edges["studies.run"]  # the parse found the project
    assert "metrics.tables" in edges["metrics.questionnaire"] and "metrics.tables" in edges["studies.results.collect"]
    found = violations(edges)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("module, source, expected", [
    ("metrics.ssim", "from studies import spec\n", "metrics.ssim imports studies.spec: metrics/ may not import"),
    ("metrics.ssim", "def f():\n    from studies.results import stats\n", "metrics/ may not import studies/"),
    ("models.train", "import dashboard.data\n", "models/ may not import dashboard/"),
    ("studies.run", "from bench import report\n", "studies/ may not import bench/"),
    ("studies.catalogue.ablation_loss", "from studies.results.stats import ALPHA\n", "imports only studies.spec"),
    ("studies.spec", "from studies.run import main\n", "studies.spec -> studies.run"),
])  # fmt: skip
def test_each_rule_fails_on_a_module_that_breaks_it(module, source, expected):
    sources = project_sources()
    sources[module] = sources[module] + "\n" + source
    found = violations(graph(sources))
    assert any(expected in line for line in found), found


def test_relative_imports_resolve_inside_their_package():
    known = {"studies", "studies.runner", "studies.runner.build", "studies.runner.execute", "metrics"}
    assert imports("studies.runner.execute", "from . import build\nfrom .build import x\n", known) == {
        "studies.runner.build"
    }
    assert imports("studies.runner", "from .build import x\n", known) == {"studies.runner.build"}
