"""Optional dependencies: which ``pip install 'clip2point[EXTRA]'`` provides which module, and
the one check every command runs before it does any work or makes any folder.

Without it a missing extra surfaced as a raw ``ModuleNotFoundError`` deep inside a stage (after
``demo`` had spent minutes rendering, or after ``render --backend dask`` had made its output
folder); with it the user reads one sentence naming the extra, and nothing was written yet.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Iterable

from clip2point.errors import MissingExtraError

# extra -> the import names it provides (pyproject.toml's [project.optional-dependencies])
EXTRAS: dict[str, tuple[str, ...]] = {
    "render": ("pyrender", "networkx", "scipy"),
    "train": ("open_clip", "timm", "matplotlib"),
    "eval": ("open_clip", "timm", "matplotlib", "open3d"),
    "cluster": ("ray", "distributed"),
}


def is_installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it (ray or open3d take seconds).
    A ``None`` entry in ``sys.modules`` is Python's own marker for "blocked", honoured here."""
    if module in sys.modules:
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_modules(modules: Iterable[str]) -> list[str]:
    return [m for m in modules if not is_installed(m)]


def require(extra: str, purpose: str, modules: Iterable[str] | None = None) -> None:
    """Raise ``MissingExtraError`` unless every module of ``extra`` (or the given subset of it)
    is installed; ``purpose`` says who needs it, e.g. "clip2point zeroshot"."""
    require_all({extra: tuple(EXTRAS[extra] if modules is None else modules)}, purpose)


def require_all(needs: dict[str, Iterable[str]], purpose: str) -> None:
    """``require`` for several extras at once, naming every missing one in a single command."""
    missing = {extra: missing_modules(mods) for extra, mods in needs.items()}
    missing = {extra: mods for extra, mods in missing.items() if mods}
    if not missing:
        return
    modules = sorted({m for mods in missing.values() for m in mods})
    extras = ",".join(missing)
    raise MissingExtraError(
        f"{purpose} needs {', '.join(modules)}, which {'is' if len(modules) == 1 else 'are'} not installed: "
        f"run pip install 'clip2point[{extras}]' (in a checkout: pip install -e '.[{extras}]')")
