"""Serialise an ``Assembly`` as ShapeNetCore v2 files: ``model_normalized.obj`` + ``.mtl``,
textures under ``../images/``, and the ``model_normalized.json`` summary.

Floats are written with a fixed ``%.6f`` format, a negative zero as ``0.000000`` (its sign is
noise from the last bit of a sum, not geometry), and materials/textures are numbered in first-use
order, so the same assembly always gives the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from clip2point.datasets.synthetic.assembly import Assembly
from clip2point.datasets.synthetic.materials import Material, Texture, save_texture

OBJ_NAME = "model_normalized.obj"
MTL_NAME = "model_normalized.mtl"


def _rows(fmt: str, values: np.ndarray) -> str:
    return "".join(fmt % tuple(row) for row in values).replace("-0.000000", "0.000000")


def _rounded(value: float) -> float:
    """A JSON number at the OBJ's precision; ``+ 0.0`` turns a negative zero into zero."""
    return round(float(value), 6) + 0.0


def _material_names(assembly: Assembly) -> dict[Material, str]:
    names: dict[Material, str] = {}
    for part in assembly.parts:
        if part.material not in names:
            names[part.material] = f"material_{len(names)}_{part.material.name}"
    return names


def _texture_files(materials: dict[Material, str]) -> dict[Texture, str]:
    files: dict[Texture, str] = {}
    for material in materials:
        tex = material.texture
        if tex is not None and tex not in files:
            files[tex] = f"texture{len(files)}.png"
    return files


def obj_text(assembly: Assembly, materials: dict[Material, str], header: str) -> str:
    """The OBJ body: one ``o``/``usemtl`` group per part, ``f v/vt`` on textured parts."""
    lines = [f"# {header}\n", f"mtllib {MTL_NAME}\n"]
    v_base, vt_base = 1, 1
    for k, part in enumerate(assembly.parts):
        verts, faces = part.mesh.vertices, part.mesh.faces
        lines.append(f"o mesh{k}\n")
        lines.append(_rows("v %.6f %.6f %.6f\n", verts))
        if part.uv is not None:
            lines.append(_rows("vt %.6f %.6f\n", part.uv))
        lines.append(f"usemtl {materials[part.material]}\n")
        if part.uv is not None:
            fv, ft = faces + v_base, faces + vt_base
            lines.append(_rows("f %d/%d %d/%d %d/%d\n", np.stack([fv, ft], axis=-1).reshape(-1, 6)))
            vt_base += len(part.uv)
        else:
            lines.append(_rows("f %d %d %d\n", faces + v_base))
        v_base += len(verts)
    return "".join(lines)


def mtl_text(materials: dict[Material, str], textures: dict[Texture, str]) -> str:
    """ShapeNet-style MTL: Ka/Kd/Ks/Ns/d per material, ``map_Kd ../images/textureN.*``."""
    out = []
    for material, name in materials.items():
        kd = " ".join(f"{c:.6f}" for c in material.kd)
        out.append(
            f"newmtl {name}\n\tKa 0.100000 0.100000 0.100000\n\tKd {kd}\n"
            f"\tKs 0.200000 0.200000 0.200000\n\tNs 10.000000\n\td 1.000000\n\tillum 2\n"
        )
        if material.texture is not None:
            out.append(f"\tmap_Kd ../images/{textures[material.texture]}\n")
        out.append("\n")
    return "".join(out)


def summary_json(assembly: Assembly, model_id: str) -> str:
    """The ``model_normalized.json`` ShapeNet ships beside each OBJ (bounds, centroid, count)."""
    verts = np.concatenate([p.mesh.vertices for p in assembly.parts])
    info = {
        "id": model_id,
        "numVertices": int(len(verts)),
        "min": [_rounded(v) for v in verts.min(axis=0)],
        "max": [_rounded(v) for v in verts.max(axis=0)],
        "centroid": [_rounded(v) for v in verts.mean(axis=0)],
    }
    return json.dumps(info, sort_keys=True) + "\n"


def write_model(assembly: Assembly, model_dir: Path, model_id: str, header: str) -> list[Path]:
    """Write one model folder (``models/`` and, when textured, ``images/``); returns the files."""
    materials = _material_names(assembly)
    textures = _texture_files(materials)
    models = model_dir / "models"
    models.mkdir(parents=True, exist_ok=True)
    written = [models / OBJ_NAME, models / MTL_NAME, models / "model_normalized.json"]
    written[0].write_text(obj_text(assembly, materials, header), encoding="ascii")
    written[1].write_text(mtl_text(materials, textures), encoding="ascii")
    written[2].write_text(summary_json(assembly, model_id), encoding="ascii")
    if textures:
        (model_dir / "images").mkdir(exist_ok=True)
    for tex, file_name in textures.items():
        path = model_dir / "images" / file_name
        save_texture(tex, path)
        written.append(path)
    return written
