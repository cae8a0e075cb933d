"""A ``LoadedMesh`` as one pyrender mesh: one primitive per textured part, and every part that
is only coloured (material colour, vertex or face colours, or nothing) merged into a single
primitive with per-vertex colours. ShapeNet objects often have dozens of untextured
materials, and pyrender pays a Python-side cost per primitive per view.

Two shadings (``SHADINGS``). ``faithful`` (SPEC §4, the reference's PyTorch3D look): parts
without a material are white, normals are the reference's (``rgb.atlas.merged_vertex_normals``)
and a textured part is drawn through its per-face 4×4 atlas with clamped UVs (one vertex per
face corner: ``texcoord_0`` carries the barycentric coordinates, ``texcoord_1`` the face's tile
origin; ``shaders/mesh.frag`` picks the cell). ``improved``: parts without a material are light
grey (visible on the white background), trimesh's per-part normals, and the full texture
sampled bilinearly with repeat-wrap, as most GL viewers show a ShapeNet model.

Materials are double-sided and opaque, colours floats in [0, 1], textures bounded in size.
pyrender is passed in (imported through ``gl.import_pyrender``), never imported here.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import trimesh
from PIL import Image

from clip2point.datasets.mesh_io import LoadedMesh
from clip2point.render.rgb.atlas import atlas_texture, face_atlas, merged_vertex_normals

SHADINGS = ("faithful", "improved")
DEFAULT_COLOR = (0.7, 0.7, 0.7, 1.0)  # improved: parts with no material light grey, visible on white
WHITE = (1.0, 1.0, 1.0, 1.0)  # faithful: the reference's atlas is white where there is no material


def build_pyrender_mesh(pyrender: ModuleType, loaded: LoadedMesh, *, max_texture_size: int = 1024,
                        shading: str = "faithful") -> Any:
    """One ``pyrender.Mesh`` holding every part of the normalised scene, for ``shading``."""
    if shading not in SHADINGS:
        raise ValueError(f"shading must be one of {SHADINGS}; got {shading!r}")
    faithful = shading == "faithful"
    parts = list(loaded.scene.geometry.values())
    normals = merged_vertex_normals(parts) if faithful else [np.asarray(p.vertex_normals) for p in parts]
    primitives, coloured = [], []
    for part, part_normals in zip(parts, normals):
        image = _texture_image(part)
        if image is None:
            coloured.append((part, part_normals))
        elif faithful:
            primitives.append(_atlas_primitive(pyrender, part, part_normals, image))
        else:
            primitives.append(_textured_primitive(pyrender, part, part_normals, image, max_texture_size))
    if coloured:
        primitives.append(_coloured_primitive(pyrender, coloured, faithful=faithful))
    return pyrender.Mesh(primitives=primitives)


def unit_color(value: Any) -> np.ndarray:
    """An RGB(A) colour as float RGBA in [0, 1]. trimesh keeps material colours as uint8
    0-255, which pyrender would clamp to white if passed through as floats."""
    color = np.asarray(value)
    if np.issubdtype(color.dtype, np.integer):
        color = color / 255.0
    color = np.clip(color.astype(np.float64), 0.0, 1.0)
    if color.shape == (3,):
        color = np.append(color, 1.0)
    if color.shape != (4,):
        raise ValueError(f"a material colour must have 3 or 4 components; got shape {color.shape}")
    color[3] = 1.0  # opaque: SPEC renders solid objects, and blending would need depth sorting
    return color


def _texture_image(part: trimesh.Trimesh) -> Image.Image | None:
    """The part's diffuse texture, if it has one and the UVs to map it."""
    visual = part.visual
    if visual is None or visual.kind != "texture" or visual.uv is None:
        return None
    material = visual.material
    if isinstance(material, trimesh.visual.material.PBRMaterial):
        return material.baseColorTexture
    return getattr(material, "image", None)


def _material_factor(material: Any, *, textured: bool, default: tuple[float, ...] = DEFAULT_COLOR) -> np.ndarray:
    """Diffuse colour of a material. A textured OBJ material shows its texture alone, as the
    reference's loader does (it ignores ``Kd`` when ``map_Kd`` loads); glTF multiplies factor
    and texture by its own specification. ``default`` colours parts with no material."""
    if isinstance(material, trimesh.visual.material.PBRMaterial):
        factor = material.baseColorFactor
        return unit_color(factor if factor is not None else WHITE)
    if isinstance(material, trimesh.visual.material.SimpleMaterial):
        return unit_color(WHITE if textured else material.diffuse)
    return unit_color(default)


def _textured_primitive(pyrender: ModuleType, part: trimesh.Trimesh, normals: np.ndarray, image: Image.Image,
                        max_size: int) -> Any:
    texture = pyrender.Texture(source=_texture_pixels(image, max_size), source_channels="RGB")
    return pyrender.Primitive(
        positions=np.asarray(part.vertices, dtype=np.float32),
        normals=np.asarray(normals, dtype=np.float32),
        texcoord_0=np.asarray(part.visual.uv, dtype=np.float32),
        indices=np.asarray(part.faces, dtype=np.uint32),
        material=_material(pyrender, _material_factor(part.visual.material, textured=True), texture),
        mode=pyrender.constants.GLTF.TRIANGLES,
    )


def _atlas_primitive(pyrender: ModuleType, part: trimesh.Trimesh, normals: np.ndarray, image: Image.Image) -> Any:
    """A textured part the reference's way: one vertex per face corner (barycentric coordinates
    in ``texcoord_0``, the face's atlas tile in ``texcoord_1``), the atlas as the texture."""
    faces = np.asarray(part.faces, dtype=np.int64)
    pixels, origins = atlas_texture(face_atlas(image, part.visual.uv, faces))
    corners = np.tile(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], dtype=np.float32), (len(faces), 1))
    texture = pyrender.Texture(source=pixels, source_channels="RGB")
    return pyrender.Primitive(
        positions=np.asarray(part.vertices, dtype=np.float32)[faces].reshape(-1, 3),
        normals=np.asarray(normals, dtype=np.float32)[faces].reshape(-1, 3),
        texcoord_0=corners,
        texcoord_1=np.repeat(origins, 3, axis=0),
        material=_material(pyrender, _material_factor(part.visual.material, textured=True), texture),
        mode=pyrender.constants.GLTF.TRIANGLES,
    )


def _coloured_primitive(pyrender: ModuleType, parts: list[tuple[trimesh.Trimesh, np.ndarray]], *, faithful: bool) -> Any:
    """All untextured parts (with their normals) as one primitive; each vertex carries its part's colour."""
    pieces = [_coloured_arrays(part, normals, faithful=faithful) for part, normals in parts]
    offsets = np.cumsum([0] + [len(p[0]) for p in pieces[:-1]])
    return pyrender.Primitive(
        positions=np.concatenate([p[0] for p in pieces]),
        normals=np.concatenate([p[1] for p in pieces]),
        color_0=np.concatenate([p[2] for p in pieces]),
        indices=np.concatenate([p[3] + off for p, off in zip(pieces, offsets)]).astype(np.uint32),
        material=_material(pyrender, unit_color(WHITE), None),
        mode=pyrender.constants.GLTF.TRIANGLES,
    )


def _coloured_arrays(part: trimesh.Trimesh, normals: np.ndarray, *,
                     faithful: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(positions, normals, RGBA colours, faces) of one part, float32 / int64. Faithful keeps
    smooth vertex normals on per-face colours too (the reference has no flat shading)."""
    kind = part.visual.kind if part.visual is not None else None
    if kind == "face":  # per-face colours need unshared vertices, three per face
        positions = part.vertices[part.faces].reshape(-1, 3)
        normals = normals[part.faces].reshape(-1, 3) if faithful else np.repeat(part.face_normals, 3, axis=0)
        colors = np.repeat(np.asarray(part.visual.face_colors) / 255.0, 3, axis=0)
        faces = np.arange(len(positions)).reshape(-1, 3)
    else:
        positions, faces = part.vertices, part.faces
        if kind == "vertex":
            colors = np.asarray(part.visual.vertex_colors) / 255.0
        else:
            material = part.visual.material if kind == "texture" else None
            default = WHITE if faithful else DEFAULT_COLOR
            colors = np.tile(_material_factor(material, textured=False, default=default), (len(positions), 1))
    colors[:, 3] = 1.0
    return (np.asarray(positions, np.float32), np.asarray(normals, np.float32),
            np.asarray(colors, np.float32), np.asarray(faces, np.int64))


def _material(pyrender: ModuleType, factor: np.ndarray, texture: Any) -> Any:
    return pyrender.MetallicRoughnessMaterial(
        baseColorFactor=factor,
        baseColorTexture=texture,
        doubleSided=True,  # SPEC §4: no back-face culling (the shading decides how back faces are lit)
        alphaMode="OPAQUE",
    )


def _texture_pixels(image: Image.Image, max_size: int) -> np.ndarray:
    """RGB uint8 pixels, downscaled so the long side is at most ``max_size``: a 224-pixel view
    never samples finer than that, and uploading 2048² textures dominates per-object time."""
    rgb = image.convert("RGB")
    if max(rgb.size) > max_size:
        rgb = rgb.copy()
        rgb.thumbnail((max_size, max_size), Image.BILINEAR)
    return np.asarray(rgb, dtype=np.uint8)
