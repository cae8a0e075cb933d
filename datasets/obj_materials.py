"""What an OBJ's ``mtllib`` records promise. Textures and libraries themselves are read (or
refused, or found missing) by :class:`clip2point.datasets.asset_guard.ConfinedResolver`, which
records every loss; this module only answers whether a real material library was loaded."""

from __future__ import annotations

from typing import Iterable, Sequence


def material_libraries(lines: Sequence[str]) -> list[str]:
    """The ``mtllib`` names an OBJ declares, as written."""
    return [name for line in lines if line.startswith("mtllib") for name in line.split()[1:]]


def has_material_library(lines: Sequence[str], served: Iterable[str]) -> bool:
    """Whether a library the OBJ names was actually read (``served``: the names the resolver
    returned). Without one, trimesh invents a placeholder material for files with UVs, which
    must not be rendered as if it were real; a refused library counts as absent."""
    read = set(served)
    return any(name in read for name in material_libraries(lines))
