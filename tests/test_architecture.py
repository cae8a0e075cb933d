"""Which import arrows may never exist (ARCHITECTURE.md, "Layers").

Every module's imports are read with ``ast`` (top-level and inside functions alike: a lazy import
is still a dependency), so the rules hold without importing anything. The stages import
downwards only::

    clip2point core (errors, atomic_io, validation, provenance, extras)
        ▲
    datasets ◄── render ◄── inspection
        ▲          ▲
        └──── train ◄── eval          entry points (clip2point.cli, clip2point.demo, __main__)

Entry points (the CLI dispatcher, the whole-pipeline demo and ``__main__`` modules) wire stages
together and may import any of them; nothing imports an entry point.
"""

from __future__ import annotations

import ast
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Collection

import pytest

ROOT = Path(__file__).resolve().parents[1]

STAGES = ("datasets", "render", "inspection", "train", "eval")
# stage -> stages it must never import (the arrows that may never exist)
FORBIDDEN: dict[str, set[str]] = {
    "core": set(STAGES),
    "datasets": {"render", "inspection", "train", "eval"},
    "render": {"inspection", "train", "eval"},
    "inspection": {"train", "eval"},
    "train": {"inspection", "eval"},
    "eval": {"inspection"},
}
ENTRY_POINTS = {"clip2point.cli", "clip2point.demo"}
# execution frameworks -> the only modules that may import them (STYLE: only the job runner knows
# joblib/Ray/Dask, only the trainer torch.distributed, only the GL modules pyrender/OpenGL)
FRAMEWORK_OWNERS: dict[str, set[str]] = {
    "joblib": {"clip2point.parallel", "clip2point.render.backends"},
    "ray": {"clip2point.render.backends"},
    "distributed": {"clip2point.render.backends"},
    "torch.distributed": {"clip2point.train.distributed"},
    "pyrender": {"clip2point.render.gl"},
    "OpenGL": {"clip2point.render.rgb.gl", "clip2point.render.worker"},
}
MAX_LINES = 400


def package_dirs() -> dict[str, Path]:
    """``clip2point.X`` -> folder, read from pyproject's package-dir (the one source of truth)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return {name: ROOT / folder for name, folder in config["package-dir"].items()}


def discover_modules() -> dict[str, Path]:
    """Every installed module name -> its file."""
    modules: dict[str, Path] = {}
    for package, folder in package_dirs().items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join([package, *parts])] = path
    return modules


def imported_names(name: str, source: str, is_package: bool, modules: Collection[str] = ()) -> set[str]:
    """Every dotted name ``source`` (module ``name``) imports, relative imports resolved. For
    ``from A import b``: ``A.b`` when that is one of ``modules`` (a submodule: the dependency is on
    it, not on A's ``__init__``), else ``A``; both when ``modules`` is not given."""
    base = name.split(".") if is_package else name.split(".")[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parent = base[: len(base) - node.level + 1] if node.level else []
            module = ".".join(parent + ([node.module] if node.module else []))
            for alias in node.names:
                child = f"{module}.{alias.name}"
                if not modules:
                    names.update((module, child))
                else:
                    names.add(child if child in modules else module)
    return names


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports (names that are not modules are dropped)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = imported_names(name, path.read_text(), path.name == "__init__.py", modules)
        graph[name] = {target for target in found if target in modules and target != name}
    return graph


def stage_of(module: str) -> str | None:
    """``datasets``/``render``/... for a stage module, ``core`` for the core package, None for an
    entry point (which may import anything)."""
    if module in ENTRY_POINTS or module.endswith(".__main__"):
        return None
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else "core"


def forbidden_imports(graph: dict[str, set[str]]) -> list[str]:
    """One line per arrow that breaks FORBIDDEN or points at an entry point."""
    bad = []
    for source, targets in sorted(graph.items()):
        stage = stage_of(source)
        if stage is None:
            continue
        for target in sorted(targets):
            target_stage = stage_of(target)
            if target_stage is None or target_stage in FORBIDDEN[stage]:
                bad.append(f"{source} -> {target}")
    return bad


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(discover_modules())


def test_every_stage_folder_is_mapped_and_found(graph):
    assert set(package_dirs()) == {"clip2point", *(f"clip2point.{s}" for s in STAGES)}
    assert {"clip2point.datasets.shards", "clip2point.render.depth", "clip2point.inspection.summary",
            "clip2point.train.trainer", "clip2point.eval.zeroshot"} <= set(graph)


def test_every_package_is_listed_for_the_wheel():
    """pyproject's ``packages`` names every folder with an ``__init__.py`` (a sub-package left out
    would work in an editable install and be missing from the wheel)."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {name for name, path in discover_modules().items() if path.name == "__init__.py"}
    assert found == listed


def test_no_forbidden_import(graph):
    assert forbidden_imports(graph) == []


def framework_strays(imports: dict[str, set[str]]) -> list[str]:
    """``module imports framework`` for each framework import outside FRAMEWORK_OWNERS."""
    strays = []
    for name, names in sorted(imports.items()):
        for imported in sorted(names):
            for framework, owners in FRAMEWORK_OWNERS.items():
                if (imported == framework or imported.startswith(framework + ".")) and name not in owners:
                    strays.append(f"{name} imports {imported}")
    return strays


def test_execution_frameworks_have_one_owner():
    """joblib, Ray, Dask, torch.distributed and GL are each imported only by their owners."""
    imports = {name: imported_names(name, path.read_text(), path.name == "__init__.py")
               for name, path in discover_modules().items()}
    assert framework_strays(imports) == []


def test_no_import_cycle(graph):
    assert import_cycles(graph) == []


def test_checker_catches_planted_violations():
    """The rules bite: a lazy upward import, a relative one and a two-module cycle are found."""
    sources = {
        "clip2point.datasets.a": "def f():\n    from clip2point.train.trainer import Trainer\n",
        "clip2point.render.b": "from ..eval import zeroshot\n",
        "clip2point.render.c": "from clip2point.render import d\n",
        "clip2point.render.d": "import clip2point.render.c\n",
        "clip2point.train.trainer": "",
        "clip2point.eval.zeroshot": "",
    }
    graph = {name: {t for t in imported_names(name, src, False, sources) if t in sources and t != name}
             for name, src in sources.items()}
    assert forbidden_imports(graph) == ["clip2point.datasets.a -> clip2point.train.trainer",
                                        "clip2point.render.b -> clip2point.eval.zeroshot"]
    assert import_cycles(graph) == [["clip2point.render.c", "clip2point.render.d"]]
    lazy_pool = "def f():\n    from joblib import Parallel\n"
    assert framework_strays({"clip2point.datasets.a": imported_names("clip2point.datasets.a", lazy_pool, False),
                             "clip2point.parallel": imported_names("clip2point.parallel", lazy_pool, False)}) == [
        "clip2point.datasets.a imports joblib", "clip2point.datasets.a imports joblib.Parallel"]


def test_a_package_importing_its_own_submodule_is_not_a_cycle():
    """``from pkg import sub`` inside pkg's other modules depends on ``sub``, not on pkg's __init__."""
    sources = {"clip2point.datasets.synthetic": "from clip2point.datasets.synthetic import shapes\n",
               "clip2point.datasets.synthetic.shapes": "from clip2point.datasets.synthetic import objects as o\n",
               "clip2point.datasets.synthetic.objects": ""}
    graph = {name: {t for t in imported_names(name, src, name == "clip2point.datasets.synthetic", sources)
                    if t in sources and t != name} for name, src in sources.items()}
    assert graph["clip2point.datasets.synthetic.shapes"] == {"clip2point.datasets.synthetic.objects"}
    assert import_cycles(graph) == []


def test_module_sizes():
    """Modules stay under 400 lines (all of them are; split a module by concept, not by line)."""
    sizes = {name: len(path.read_text().splitlines()) for name, path in discover_modules().items()}
    assert sorted(f"{name} ({n} lines)" for name, n in sizes.items() if n > MAX_LINES) == []


def test_graph_counts_are_reported(graph):
    """Arrows between stages by count, so a reviewer sees the shape (and a rename that silently
    empties the graph fails here)."""
    arrows: dict[tuple[str, str], int] = defaultdict(int)
    for source, targets in graph.items():
        for target in targets:
            a, b = stage_of(source) or "entry", stage_of(target) or "entry"
            if a != b:
                arrows[a, b] += 1
    assert arrows["render", "datasets"] > 0 and arrows["inspection", "render"] > 0
    assert all(b != "entry" for _, b in arrows)
