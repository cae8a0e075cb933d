"""Primitive meshes and moves of the synthetic set, made with our own elementwise arithmetic.

WHY this module exists: the set's bytes must not depend on the machine or on the day's releases.
numpy's matrix products and 1-D norms run through OpenBLAS, whose kernel is picked per CPU at run
time: generator v3's pinned digest was made where OpenBLAS picked its SkylakeX kernel, an AMD
EPYC picks the Haswell one, and the 1-ULP different ``np.linalg.norm`` of a bounding-box diagonal
flipped the sign of a telephone's ~1e-18 centroid (``-0.0`` vs ``0.0`` in its JSON). trimesh's
primitives (box, cylinder, icosphere, subdivide) and ``apply_transform`` use those same products,
and their tessellation is the library's to change. Everything here is IEEE elementwise ``+ - * /``
and ``sqrt`` in a fixed order, with ``cos``/``sin`` from the C library (numpy's float64 sin/cos
are libm's; its tan/exp/pow are SIMD-dispatched per CPU and are not used). trimesh stays only the
container (``process=False`` keeps our arrays verbatim) that the rest of the package reads.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import trimesh

ArrayLike = Sequence[float] | np.ndarray


def as_mesh(vertices: np.ndarray, faces: np.ndarray) -> trimesh.Trimesh:
    """Wrap arrays as a mesh, kept exactly as given (no merging, no reordering)."""
    return trimesh.Trimesh(np.asarray(vertices, dtype=np.float64), np.asarray(faces, dtype=np.int64), process=False)


def dot3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x·x' + y·y' + z·z' over the last axis, summed left to right (no BLAS)."""
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def cross3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.stack(
        [a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
         a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
         a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]],
        axis=-1,
    )


def length3(a: np.ndarray) -> np.ndarray:
    return np.sqrt(dot3(a, a))


def unit3(a: np.ndarray) -> np.ndarray:
    """``a`` scaled to unit length along the last axis."""
    return a / length3(a)[..., None]


def face_cross(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Per-face (b - a) × (c - a): twice the area times the outward normal for CCW faces."""
    tri = vertices[faces]
    return cross3(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])


def face_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    return length3(face_cross(vertices, faces)) / 2.0


def signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Volume of a closed mesh, positive when its faces wind outwards."""
    tri = vertices[faces]
    return float(np.sum(dot3(tri[:, 0], cross3(tri[:, 1], tri[:, 2])))) / 6.0


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The 4x4 product ``a @ b`` with each entry summed left to right (no BLAS)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    out = np.zeros((4, 4))
    for i in range(4):
        for j in range(4):
            out[i, j] = ((a[i, 0] * b[0, j] + a[i, 1] * b[1, j]) + a[i, 2] * b[2, j]) + a[i, 3] * b[3, j]
    return out


def rotation(angle: float, axis: ArrayLike) -> np.ndarray:
    """4x4 rotation by ``angle`` radians about ``axis`` through the origin (Rodrigues)."""
    x, y, z = (float(v) for v in axis)
    n = math.sqrt(x * x + y * y + z * z)
    x, y, z = x / n, y / n, z / n
    c, s = math.cos(angle), math.sin(angle)
    t = 1.0 - c
    return np.array(
        [[c + x * x * t, x * y * t - z * s, x * z * t + y * s, 0.0],
         [y * x * t + z * s, c + y * y * t, y * z * t - x * s, 0.0],
         [z * x * t - y * s, z * y * t + x * s, c + z * z * t, 0.0],
         [0.0, 0.0, 0.0, 1.0]]
    )


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``matrix`` (4x4, affine) applied to [N,3] points, each coordinate summed left to right."""
    p, m = np.asarray(points, dtype=np.float64), np.asarray(matrix, dtype=np.float64)
    rows = [((p[:, 0] * m[i, 0] + p[:, 1] * m[i, 1]) + p[:, 2] * m[i, 2]) + m[i, 3] for i in range(3)]
    return np.stack(rows, axis=1)


def transformed(mesh: trimesh.Trimesh, matrix: np.ndarray) -> trimesh.Trimesh:
    """A moved copy; a mirroring matrix also flips the winding so normals still point out."""
    m = np.asarray(matrix, dtype=np.float64)
    det = (
        m[0, 0] * (m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1])
        - m[0, 1] * (m[1, 0] * m[2, 2] - m[1, 2] * m[2, 0])
        + m[0, 2] * (m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0])
    )
    faces = mesh.faces[:, ::-1] if det < 0 else mesh.faces
    return as_mesh(transform_points(mesh.vertices, m), faces.copy())


def translated(mesh: trimesh.Trimesh, offset: ArrayLike) -> trimesh.Trimesh:
    return as_mesh(mesh.vertices + np.asarray(offset, dtype=np.float64), mesh.faces.copy())


def scaled(mesh: trimesh.Trimesh, factors: ArrayLike) -> trimesh.Trimesh:
    """Per-axis scale; the factors must be positive (no mirroring here)."""
    f = np.asarray(factors, dtype=np.float64)
    if np.any(f <= 0):
        raise ValueError(f"scale factors must be positive; got {tuple(f)}")
    return as_mesh(mesh.vertices * f, mesh.faces.copy())


# A unit cube's corners (x, y, z in {0, 1}) and outward triangles: the layout trimesh's box has
# always used, so boxes keep the vertex order (and bytes) they had when trimesh made them.
_CUBE_VERTICES = np.array([[i >> 2 & 1, i >> 1 & 1, i & 1] for i in range(8)], dtype=np.float64)
_CUBE_FACES = np.array(
    [[1, 3, 0], [4, 1, 0], [0, 3, 2], [2, 4, 0], [1, 7, 3], [5, 1, 4],
     [5, 7, 1], [3, 7, 2], [6, 4, 2], [2, 7, 6], [6, 5, 4], [7, 5, 6]],
    dtype=np.int64,
)


def box(size: ArrayLike, center: ArrayLike = (0.0, 0.0, 0.0)) -> trimesh.Trimesh:
    """Axis-aligned box of extents ``size`` centred at ``center`` (8 vertices, 12 faces)."""
    verts = (_CUBE_VERTICES - 0.5) * np.asarray(size, dtype=np.float64) + np.asarray(center, dtype=np.float64)
    return as_mesh(verts, _CUBE_FACES.copy())


def _frame(axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors completing ``axis`` (unit) to a right-handed frame."""
    helper = np.array([1.0, 0.0, 0.0]) if abs(axis[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = unit3(cross3(helper, axis))
    return u, cross3(axis, u)


def rod(p0: ArrayLike, p1: ArrayLike, radius: float, *, sections: int = 12) -> trimesh.Trimesh:
    """Closed cylinder from ``p0`` to ``p1`` (legs, poles, axles, wheels): two rings of
    ``sections`` vertices and a centre vertex per cap."""
    a, b = np.asarray(p0, dtype=np.float64), np.asarray(p1, dtype=np.float64)
    axis = b - a
    if float(length3(axis)) <= 0.0:
        raise ValueError(f"rod needs two different end points; got {tuple(a)} twice")
    u, v = _frame(unit3(axis))
    angles = np.arange(sections) * (2.0 * math.pi / sections)
    ring = radius * (np.cos(angles)[:, None] * u + np.sin(angles)[:, None] * v)
    verts = np.concatenate([a + ring, b + ring, a[None], b[None]])
    k = np.arange(sections)
    k1 = (k + 1) % sections
    c0, c1 = 2 * sections, 2 * sections + 1
    faces = np.concatenate(
        [
            np.stack([k, k1, k1 + sections], 1),
            np.stack([k, k1 + sections, k + sections], 1),
            np.stack([np.full(sections, c0), k1, k], 1),
            np.stack([np.full(sections, c1), k + sections, k1 + sections], 1),
        ]
    )
    return as_mesh(verts, faces)


def subdivide(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split every triangle in four at its edge midpoints; new vertices follow the old ones in
    first-use order (faces in order, edges ab, bc, ca)."""
    verts = [tuple(v) for v in np.asarray(vertices, dtype=np.float64)]
    index: dict[tuple[int, int], int] = {}
    out = []

    def mid(i: int, j: int) -> int:
        key = (min(i, j), max(i, j))
        if key not in index:
            index[key] = len(verts)
            verts.append(tuple((vertices[i] + vertices[j]) / 2.0))
        return index[key]

    for a, b, c in np.asarray(faces).tolist():
        ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
        out += [(a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca)]
    return np.asarray(verts, dtype=np.float64), np.asarray(out, dtype=np.int64)


_PHI = (1.0 + math.sqrt(5.0)) / 2.0
_ICOSAHEDRON_VERTICES = np.array(
    [[-1, _PHI, 0], [1, _PHI, 0], [-1, -_PHI, 0], [1, -_PHI, 0], [0, -1, _PHI], [0, 1, _PHI],
     [0, -1, -_PHI], [0, 1, -_PHI], [_PHI, 0, -1], [_PHI, 0, 1], [-_PHI, 0, -1], [-_PHI, 0, 1]],
    dtype=np.float64,
)
_ICOSAHEDRON_FACES = np.array(
    [[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4], [11, 10, 2], [10, 7, 6],
     [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8], [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10],
     [8, 6, 7], [9, 8, 1]],
    dtype=np.int64,
)


def ball(radius: float, center: ArrayLike, *, subdivisions: int = 2) -> trimesh.Trimesh:
    """Icosphere: the icosahedron split ``subdivisions`` times, every vertex pushed back onto
    the sphere after each split (320 faces at the default)."""
    verts, faces = unit3(_ICOSAHEDRON_VERTICES), _ICOSAHEDRON_FACES
    for _ in range(subdivisions):
        verts, faces = subdivide(verts, faces)
        verts = unit3(verts)
    return as_mesh(verts * float(radius) + np.asarray(center, dtype=np.float64), faces)
