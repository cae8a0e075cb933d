"""What an OBJ's material libraries promise versus what trimesh loaded: missing libraries,
missing or undecodable ``map_Kd`` textures. trimesh drops all of these silently; ShapeNet has
many (materials pointing at images it does not ship), so the loader reports them as warnings
and the object renders untextured instead of failing."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import trimesh


def material_libraries(lines: Sequence[str]) -> list[str]:
    """The ``mtllib`` names an OBJ declares, as written."""
    return [name for line in lines if line.startswith("mtllib") for name in line.split()[1:]]


def has_material_library(obj_path: Path, lines: Sequence[str]) -> bool:
    """Whether an OBJ names a material library that exists. Without one, trimesh invents a
    placeholder material for files with UVs, which must not be rendered as if it were real."""
    return any((obj_path.parent / name).is_file() for name in material_libraries(lines))


def texture_warnings(obj_path: Path, lines: Sequence[str], parts: Sequence[trimesh.Trimesh]) -> list[str]:
    """One message per missing library, missing texture, or texture trimesh could not decode."""
    loaded = {_material_name(p): _has_image(p) for p in parts}
    messages = []
    for name in material_libraries(lines):
        library = obj_path.parent / name
        if not library.is_file():
            messages.append(f"material library {name} not found; rendering untextured")
            continue
        for material, texture in _texture_maps(library):
            if not (library.parent / texture).is_file():
                messages.append(f"texture {texture} of material {material} not found; rendering it untextured")
            elif loaded.get(material) is False:
                messages.append(f"texture {texture} of material {material} could not be decoded; rendering it untextured")
    return messages


def _texture_maps(library: Path) -> list[tuple[str, str]]:
    """(material, map_Kd path as written) pairs of one .mtl; the path is the last token, after
    any options such as ``-s 1 1 1``."""
    pairs, material = [], "?"
    for line in library.read_text(encoding="utf-8", errors="replace").splitlines():
        tokens = line.split()
        if len(tokens) >= 2 and tokens[0] == "newmtl":
            material = tokens[1]
        elif len(tokens) >= 2 and tokens[0] == "map_Kd":
            pairs.append((material, tokens[-1]))
    return pairs


def _material_name(part: trimesh.Trimesh) -> str | None:
    material = getattr(part.visual, "material", None)
    return getattr(material, "name", None)


def _has_image(part: trimesh.Trimesh) -> bool:
    material = getattr(part.visual, "material", None)
    return getattr(material, "image", None) is not None
