"""The reference's surface appearance computed on the CPU, for the faithful RGB shading (SPEC §4).

PyTorch3D as CLIP2Point calls it (``load_obj(create_texture_atlas=True, texture_wrap='clamp')``,
``TexturesAtlas``, ``HardPhongShader``) differs from a GL renderer's defaults in two places that
change colours visibly, so we compute both its way:

- **Textures** are not sampled per pixel. Each face gets a 4×4 atlas: its UVs clamped to [0, 1],
  the texture sampled bilinearly (``grid_sample``, ``align_corners=True``) once at the centroid of
  each of the face's 16 barycentric sub-triangles; a pixel then shows the colour of the
  sub-triangle its barycentric coordinates fall in (nearest cell). ShapeNet UVs run far outside
  [0, 1], so clamping (instead of GL's repeat) picks edge colours: a boat's deck that a repeated
  texture paints tan is dark there. The shader reads the cell with ``texelFetch``
  (``shaders/mesh.frag``); ``atlas_texture`` lays the cells out.
- **Vertex normals** are the area-weighted sum of the face normals around each vertex of the
  whole object, on the OBJ's ``v`` indices (PyTorch3D ignores ``vn``). trimesh splits vertices by
  material, UV and normal and weights by angle; merging by position recovers the shared
  vertices (including the cancelling normals of faces stored twice with both windings).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import trimesh
from PIL import Image

ATLAS_CELLS = 4  # the reference's texture_atlas_size (load_obj's default)
_FACE_CHUNK = 65536  # faces sampled at once: ~100 MB of temporaries
_NORMAL_EPS = 1e-6  # torch.nn.functional.normalize's eps, as PyTorch3D normalises vertex normals


def merged_vertex_normals(parts: Sequence[trimesh.Trimesh]) -> list[np.ndarray]:
    """Per part, float32 [V_part,3] vertex normals shared across parts by vertex position and
    weighted by face area, as PyTorch3D's ``Meshes.verts_normals_packed``."""
    vertices = np.concatenate([np.asarray(p.vertices, dtype=np.float64) for p in parts])
    offsets = np.cumsum([0] + [len(p.vertices) for p in parts])
    faces = np.concatenate([np.asarray(p.faces, dtype=np.int64) + off for p, off in zip(parts, offsets[:-1])])
    _, position = np.unique(vertices, axis=0, return_inverse=True)
    position = position.reshape(-1)
    corners = vertices[faces]
    weighted = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])  # |n| = 2·area
    sums = np.zeros((position.max() + 1, 3))
    for k in range(3):
        np.add.at(sums, position[faces[:, k]], weighted)
    sums /= np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), _NORMAL_EPS)
    normals = sums[position].astype(np.float32)
    return [normals[start:stop] for start, stop in zip(offsets[:-1], offsets[1:])]


def face_atlas(image: Image.Image, uv: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """float32 [F, 4, 4, 3]: cell (row w_y, column w_x) of face f holds the texture colour at the
    centroid of that barycentric sub-triangle, UVs clamped to [0, 1] (PyTorch3D's
    ``make_material_atlas`` with ``texture_wrap='clamp'``)."""
    pixels = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))  # uint8: only taps become floats
    uv = np.asarray(uv, dtype=np.float64)
    bary = _cell_barycentrics().reshape(1, ATLAS_CELLS * ATLAS_CELLS, 3)
    atlas = np.empty((len(faces), ATLAS_CELLS * ATLAS_CELLS, 3), dtype=np.float32)
    for start in range(0, len(faces), _FACE_CHUNK):  # bounds the temporaries on huge meshes
        face_uv = np.clip(uv[faces[start:start + _FACE_CHUNK]], 0.0, 1.0)  # [f,3,2]
        atlas[start:start + _FACE_CHUNK] = _bilinear(pixels, bary @ face_uv)  # samples [f,R·R,2]
    return atlas.reshape(len(faces), ATLAS_CELLS, ATLAS_CELLS, 3)


def atlas_texture(atlas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The per-face atlases tiled into one RGB uint8 image, as pyrender's ``Texture`` wants its
    source (it flips rows on upload), and each face's tile origin in GL texel coordinates
    (x, y), float32 [F,2]. Tiles fill a near-square grid (GL limits each side, not the area)."""
    count, cells = len(atlas), atlas.shape[1]
    columns = max(1, math.ceil(math.sqrt(count)))
    rows = math.ceil(count / columns)
    index = np.arange(count)
    origins = np.stack([index % columns, index // columns], axis=1) * cells
    grid = np.ones((rows * columns, cells, cells, 3), dtype=np.float32)
    grid[:count] = atlas
    gl_rows = grid.reshape(rows, columns, cells, cells, 3).transpose(0, 2, 1, 3, 4)
    gl_image = gl_rows.reshape(rows * cells, columns * cells, 3)
    pixels = np.round(np.flip(gl_image, axis=0) * 255.0).astype(np.uint8)
    return np.ascontiguousarray(pixels), origins.astype(np.float32)


def _cell_barycentrics() -> np.ndarray:
    """[R,R,3] barycentric coordinates (w0, w1, w2) of each cell's sub-triangle centroid: cell
    (y, x) with x + y < R is the lower sub-triangle of square (x, y); the others are the upper
    sub-triangle of square (R−1−x, R−1−y)."""
    r = ATLAS_CELLS
    y, x = np.meshgrid(np.arange(r), np.arange(r), indexing="ij")
    below = x + y < r
    w0 = np.where(below, (x + 1.0 / 3.0) / r, (r - 1.0 - x + 2.0 / 3.0) / r)
    w1 = np.where(below, (y + 1.0 / 3.0) / r, (r - 1.0 - y + 2.0 / 3.0) / r)
    return np.stack([w0, w1, 1.0 - w0 - w1], axis=-1)


def _bilinear(pixels: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear samples in [0, 1] of a uint8 image (rows top to bottom) at UVs in [0, 1] with
    v up, the corners of the image at the centres of its corner pixels (``align_corners=True``)."""
    height, width = pixels.shape[:2]
    x = uv[..., 0] * (width - 1)
    y = (1.0 - uv[..., 1]) * (height - 1)
    x0 = np.clip(np.floor(x).astype(np.int64), 0, width - 1)
    y0 = np.clip(np.floor(y).astype(np.int64), 0, height - 1)
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    top = pixels[y0, x0] * (1 - fx) + pixels[y0, x1] * fx
    bottom = pixels[y1, x0] * (1 - fx) + pixels[y1, x1] * fx
    return ((top * (1 - fy) + bottom * fy) / 255.0).astype(np.float32)
