"""Mesh building blocks for the synthetic ShapeNet-style objects: primitives, surfaces of
revolution, extruded outlines, swept tubes and planar UVs.

Everything is plain numpy (no shapely / earcut), so the synthetic set builds on a bare install,
and every function is a pure function of its arguments computed with the elementwise arithmetic of
``synthetic.primitives`` (no BLAS, no library tessellation), so the same parameters give the same
floats, and therefore the same OBJ bytes, on any machine and with any release of numpy or trimesh.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import trimesh

from clip2point.datasets.synthetic.primitives import (
    as_mesh,
    cross3,
    dot3,
    face_areas,
    face_cross,
    signed_volume,
    unit3,
)

ArrayLike = Sequence[float] | np.ndarray


def _mesh(vertices: np.ndarray, faces: np.ndarray) -> trimesh.Trimesh:
    """A mesh kept exactly as built (no merging, which would break UV seams), minus the
    zero-area triangles that poles and collapsed rings produce (and the vertices only they used)."""
    verts, faces = np.asarray(vertices, dtype=np.float64), np.asarray(faces, dtype=np.int64)
    faces = faces[face_areas(verts, faces) > 1e-12]
    used = np.zeros(len(verts), dtype=bool)
    used[faces] = True
    if used.all():
        return as_mesh(verts, faces)
    remap = np.cumsum(used) - 1
    return as_mesh(verts[used], remap[faces])


def lathe(
    profile: ArrayLike, *, sections: int = 24, turn: tuple[float, float] = (0.0, 360.0)
) -> tuple[trimesh.Trimesh, np.ndarray]:
    """Surface of revolution about +y of a ``(radius, y)`` polyline, with its own UVs.

    The profile is not closed for you: start or end it at radius 0 for a closed bottom/top, or
    leave it open for a single-sided shell (lamp shades, bowls), as ShapeNet models often are.
    ``turn`` (degrees) sweeps only part of the way round (visors, panels); 90 degrees faces -z.
    u runs around the axis, v along the profile's arc length; the seam column is duplicated so
    textures do not smear across it.
    """
    prof = np.asarray(profile, dtype=np.float64)
    if prof.ndim != 2 or prof.shape[1] != 2 or len(prof) < 2:
        raise ValueError(f"lathe profile must be [N>=2, 2] (radius, y); got shape {prof.shape}")
    theta = np.radians(np.linspace(turn[0], turn[1], sections + 1))
    radius, height = prof[:, 0][:, None], prof[:, 1][:, None]
    verts = np.stack(
        [
            radius * np.cos(theta)[None],
            np.broadcast_to(height, (len(prof), sections + 1)),
            -radius * np.sin(theta)[None],
        ],
        axis=-1,
    ).reshape(-1, 3)
    step = np.diff(prof, axis=0)
    arc = np.concatenate([[0.0], np.cumsum(np.sqrt(step[:, 0] * step[:, 0] + step[:, 1] * step[:, 1]))])
    v = arc / max(arc[-1], 1e-12)
    u = (theta - theta[0]) / max(theta[-1] - theta[0], 1e-12)
    uv = np.stack(np.meshgrid(u, v), axis=-1).reshape(-1, 2)
    cols = sections + 1
    r, c = np.meshgrid(np.arange(len(prof) - 1), np.arange(sections), indexing="ij")
    a = (r * cols + c).ravel()
    b, d, e = a + 1, a + cols, a + cols + 1
    faces = np.concatenate([np.stack([a, b, e], 1), np.stack([a, e, d], 1)])
    faces = faces[face_areas(verts, faces) > 1e-12]  # vertices stay: the UVs are indexed like them
    return as_mesh(verts, faces), uv


def _segments_cross(p: np.ndarray, q: np.ndarray, r: np.ndarray, s: np.ndarray) -> bool:
    """Do segments pq and rs properly intersect (touching endpoints do not count)?"""

    def side(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
        return float((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))

    return side(p, q, r) * side(p, q, s) < 0 and side(r, s, p) * side(r, s, q) < 0


def _check_simple(poly: np.ndarray) -> None:
    n = len(poly)
    for i in range(n):
        for j in range(i + 2, n):
            if (j + 1) % n == i:
                continue
            if _segments_cross(poly[i], poly[(i + 1) % n], poly[j], poly[(j + 1) % n]):
                raise ValueError(f"polygon is not simple: edge {i} crosses edge {j}; cannot triangulate")


def _triangulate(poly: np.ndarray) -> np.ndarray:
    """Ear clipping of a simple counter-clockwise polygon [N,2] -> triangles [N-2,3]."""
    _check_simple(poly)
    idx = list(range(len(poly)))
    tris: list[tuple[int, int, int]] = []

    def cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
        return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))

    guard = 0
    while len(idx) > 3 and guard < 10 * len(poly) ** 2:
        guard += 1
        for k in range(len(idx)):
            i0, i1, i2 = idx[k - 1], idx[k], idx[(k + 1) % len(idx)]
            p0, p1, p2 = poly[i0], poly[i1], poly[i2]
            if cross(p0, p1, p2) <= 1e-12:
                continue
            inside = any(
                cross(p0, p1, poly[j]) >= 0 and cross(p1, p2, poly[j]) >= 0 and cross(p2, p0, poly[j]) >= 0
                for j in idx
                if j not in (i0, i1, i2)
            )
            if not inside:
                tris.append((i0, i1, i2))
                idx.pop(k)
                break
        else:
            raise ValueError("polygon is not simple (self-intersecting or degenerate); cannot triangulate")
    tris.append((idx[0], idx[1], idx[2]))
    return np.asarray(tris, dtype=np.int64)


def extrude(outline: ArrayLike, depth: float, *, axes: str = "xyz", offset: float = 0.0) -> trimesh.Trimesh:
    """Prism of a simple 2-D outline: the outline's (a, b) go to world ``axes[0]``, ``axes[1]``
    and the extrusion spans ``offset ± depth/2`` along ``axes[2]``.

    Used for car side profiles, wings, fins and seat outlines; winding is fixed up so the
    normals point outwards whatever the axis order.
    """
    poly = np.asarray(outline, dtype=np.float64)
    area2 = float(np.sum(poly[:, 0] * np.roll(poly[:, 1], -1) - np.roll(poly[:, 0], -1) * poly[:, 1]))
    if area2 < 0:
        poly = poly[::-1]
    n = len(poly)
    cap = _triangulate(poly)
    lo = np.column_stack([poly, np.full(n, offset - depth / 2.0)])
    hi = np.column_stack([poly, np.full(n, offset + depth / 2.0)])
    i = np.arange(n)
    j = (i + 1) % n
    sides = np.concatenate([np.stack([i, j, j + n], 1), np.stack([i, j + n, i + n], 1)])
    faces = np.concatenate([cap[:, ::-1], cap + n, sides])
    return place(_mesh(np.concatenate([lo, hi]), faces), axes)


def place(mesh: trimesh.Trimesh, axes: str) -> trimesh.Trimesh:
    """Send local x, y, z to the world axes named in ``axes`` (a permutation of "xyz"),
    flipping the winding when the permutation is a reflection."""
    if sorted(axes) != ["x", "y", "z"]:
        raise ValueError(f"axes must be a permutation of 'xyz'; got {axes!r}")
    world = ["xyz".index(a) for a in axes]
    verts = np.empty_like(mesh.vertices)
    verts[:, world] = mesh.vertices  # local axis k lands on world axis world[k]: a pure copy
    odd = sum(world[i] > world[j] for i in range(3) for j in range(i + 1, 3)) % 2 == 1
    return as_mesh(verts, mesh.faces[:, ::-1].copy() if odd else mesh.faces.copy())


def tube(path: ArrayLike, radius: float | ArrayLike, *, sections: int = 8, caps: bool = True) -> trimesh.Trimesh:
    """A tube swept along a 3-D polyline with rotation-minimising frames (handles, lamp arms,
    curved frames). ``radius`` may vary per path point."""
    pts = np.asarray(path, dtype=np.float64)
    radii = np.broadcast_to(np.asarray(radius, dtype=np.float64), (len(pts),))
    seg = np.diff(pts, axis=0)
    seg = unit3(seg)
    tangents = unit3(np.concatenate([seg[:1], seg[:-1] + seg[1:], seg[-1:]]))
    helper = np.array([0.0, 1.0, 0.0]) if abs(tangents[0, 1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    normal = unit3(cross3(tangents[0], helper))
    angles = np.linspace(0.0, 2.0 * np.pi, sections, endpoint=False)
    rings = []
    for p, t, r in zip(pts, tangents, radii):
        normal = unit3(normal - t * float(dot3(normal, t)))
        binormal = cross3(t, normal)
        rings.append(p + r * (np.cos(angles)[:, None] * normal + np.sin(angles)[:, None] * binormal))
    verts = np.concatenate(rings)
    k = np.arange(sections)
    faces = []
    for ring in range(len(pts) - 1):
        a, b = ring * sections + k, ring * sections + (k + 1) % sections
        faces += [np.stack([a, b, b + sections], 1), np.stack([a, b + sections, a + sections], 1)]
    if caps:
        last = (len(pts) - 1) * sections
        verts = np.concatenate([verts, pts[:1], pts[-1:]])
        c0, c1 = len(verts) - 2, len(verts) - 1
        faces += [np.stack([np.full(sections, c0), (k + 1) % sections, k], 1)]
        faces += [np.stack([np.full(sections, c1), last + k, last + (k + 1) % sections], 1)]
    mesh = _mesh(verts, np.concatenate(faces))
    if signed_volume(mesh.vertices, mesh.faces) < 0:
        return as_mesh(mesh.vertices, mesh.faces[:, ::-1].copy())
    return mesh


def arc(
    center: ArrayLike, radius: float, start_deg: float, end_deg: float, *, plane: str = "xy", steps: int = 10
) -> np.ndarray:
    """Points on a circular arc in an axis plane (mug handles, curved backs)."""
    ang = np.radians(np.linspace(start_deg, end_deg, steps))
    pts = np.zeros((steps, 3))
    a, b = "xyz".index(plane[0]), "xyz".index(plane[1])
    pts[:, a], pts[:, b] = radius * np.cos(ang), radius * np.sin(ang)
    return pts + np.asarray(center, dtype=np.float64)


def planar_uv(mesh: trimesh.Trimesh) -> tuple[trimesh.Trimesh, np.ndarray]:
    """Give every face its own corners and project each onto the axis plane its normal faces
    most, scaled to the part's bounding box so UVs stay in [0, 1] (no wrap-mode surprises)."""
    faces = mesh.faces
    verts = mesh.vertices[faces].reshape(-1, 3)
    split = as_mesh(verts, np.arange(len(verts)).reshape(-1, 3))
    lo, ext = verts.min(axis=0), np.maximum(np.ptp(verts, axis=0), 1e-9)
    unit = (verts - lo) / ext
    dominant = np.repeat(np.argmax(np.abs(face_cross(mesh.vertices, faces)), axis=1), 3)
    pick = np.array([[2, 1], [0, 2], [0, 1]])[dominant]
    uv = np.take_along_axis(unit, pick, axis=1)
    return split, uv
