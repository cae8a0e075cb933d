"""What an OBJ's ``mtllib`` records promise. Textures and libraries themselves are read (or
refused, or found missing) by :class:`clip2point.datasets.asset_guard.ConfinedResolver`, which
records every loss; this module only answers whether a real material library was loaded."""

from __future__ import annotations

import re
from typing import Iterable

_MTLLIB = re.compile(r"\nmtllib[^\n]*")  # a literal start: found by a fast scan, unlike "^"


def material_libraries(text: str) -> list[str]:
    """The ``mtllib`` names an OBJ declares, as written (``text``: each of its lines after a
    "\n", as ``mesh_io`` reads it; one regular expression, not a Python loop over every line)."""
    return [name for line in _MTLLIB.findall(text) for name in line.split()[1:]]


def has_material_library(text: str, served: Iterable[str]) -> bool:
    """Whether a library the OBJ names was actually read (``served``: the names the resolver
    returned). Without one, trimesh invents a placeholder material for files with UVs, which
    must not be rendered as if it were real; a refused library counts as absent."""
    read = set(served)
    return any(name in read for name in material_libraries(text))
