"""A ``LoadedMesh`` as one pyrender mesh: one primitive per material part, materials
double-sided and opaque, colours as floats in [0, 1], textures bounded in size.

Kept apart from the renderer so the baseline benchmark and the renderer build identical
geometry. pyrender is passed in (imported through ``gl.import_pyrender``), never imported here.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import trimesh
from PIL import Image

from clip2point.render.mesh_io import LoadedMesh

DEFAULT_COLOR = (0.7, 0.7, 0.7, 1.0)  # parts with no material: light grey, visible on white


def build_pyrender_mesh(pyrender: ModuleType, loaded: LoadedMesh, *, max_texture_size: int = 1024) -> Any:
    """One ``pyrender.Mesh`` holding every part of the normalised scene."""
    primitives = [_primitive(pyrender, part, max_texture_size) for part in loaded.scene.geometry.values()]
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


def _primitive(pyrender: ModuleType, part: trimesh.Trimesh, max_texture_size: int) -> Any:
    visual = part.visual
    kind = visual.kind if visual is not None else None
    if kind == "face":
        return _face_colored_primitive(pyrender, part)
    texcoord, color_0, factor, image = None, None, DEFAULT_COLOR, None
    if kind == "texture":
        factor, image = _material_color_and_image(visual.material)
        if visual.uv is not None and image is not None:
            texcoord = np.asarray(visual.uv, dtype=np.float32)
        else:
            image = None
    elif kind == "vertex":
        color_0 = np.asarray(visual.vertex_colors, dtype=np.float32) / 255.0
        factor = (1.0, 1.0, 1.0, 1.0)
    return pyrender.Primitive(
        positions=np.asarray(part.vertices, dtype=np.float32),
        normals=np.asarray(part.vertex_normals, dtype=np.float32),
        texcoord_0=texcoord,
        color_0=color_0,
        indices=np.asarray(part.faces, dtype=np.uint32),
        material=_material(pyrender, factor, image, max_texture_size),
        mode=pyrender.constants.GLTF.TRIANGLES,
    )


def _face_colored_primitive(pyrender: ModuleType, part: trimesh.Trimesh) -> Any:
    """Per-face colours need unshared vertices: three per face, each with the face's colour."""
    positions = np.asarray(part.vertices, dtype=np.float32)[part.faces].reshape(-1, 3)
    normals = np.repeat(np.asarray(part.face_normals, dtype=np.float32), 3, axis=0)
    colors = np.repeat(np.asarray(part.visual.face_colors, dtype=np.float32) / 255.0, 3, axis=0)
    return pyrender.Primitive(
        positions=positions,
        normals=normals,
        color_0=colors,
        material=_material(pyrender, (1.0, 1.0, 1.0, 1.0), None, 0),
        mode=pyrender.constants.GLTF.TRIANGLES,
    )


def _material_color_and_image(material: Any) -> tuple[np.ndarray, Image.Image | None]:
    """Diffuse colour and texture of an OBJ (Simple) or glTF (PBR) material. A textured OBJ
    material shows its texture alone, as the reference's loader does (it ignores ``Kd`` when
    ``map_Kd`` loads); glTF multiplies factor and texture by its own specification."""
    if isinstance(material, trimesh.visual.material.PBRMaterial):
        color = material.baseColorFactor if material.baseColorFactor is not None else (1.0, 1.0, 1.0)
        return unit_color(color), material.baseColorTexture
    if isinstance(material, trimesh.visual.material.SimpleMaterial):
        if material.image is not None:
            return unit_color((1.0, 1.0, 1.0)), material.image
        return unit_color(material.diffuse), None
    return unit_color(DEFAULT_COLOR), None


def _material(pyrender: ModuleType, factor: Any, image: Image.Image | None, max_size: int) -> Any:
    texture = None
    if image is not None:
        texture = pyrender.Texture(source=_texture_pixels(image, max_size), source_channels="RGB")
    return pyrender.MetallicRoughnessMaterial(
        baseColorFactor=unit_color(factor),
        baseColorTexture=texture,
        doubleSided=True,  # SPEC §4: no back-face culling; our shader lights both sides
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
