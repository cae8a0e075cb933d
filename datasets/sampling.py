"""Point clouds from meshes: area-weighted surface sampling, farthest point sampling and the
unit-sphere normalisation every cloud gets before projection (SPEC §1, §3).

Sampling is seeded so a re-run of the generation job rebuilds identical bytes; FPS is batched
torch (no Python loop over points) so it runs on the device that trains.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch
import trimesh

STORED_POINTS = 8192  # points kept per object in a shard
DEPTH_POINTS = 1024  # points projected per depth map (SPEC §3)

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)


def sample_surface(mesh: trimesh.Trimesh, n: int = STORED_POINTS, *, seed: int) -> np.ndarray:
    """``n`` points uniformly distributed over the surface area, float32 [n,3].

    Faces are drawn with probability proportional to their area, then a point uniformly inside
    the face (reflected barycentric coordinates). Same mesh and seed give the same points."""
    if n < 1:
        raise ValueError(f"sample_surface needs n >= 1 points; got {n}")
    areas = np.asarray(mesh.area_faces, dtype=np.float64)
    total = float(areas.sum())
    if not total > 0.0 or not np.isfinite(total):
        raise ValueError(f"cannot sample a mesh with surface area {total}; load it with load_mesh first")
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(areas)
    faces = np.minimum(np.searchsorted(cdf, rng.random(n) * total, side="right"), len(areas) - 1)
    u, v = rng.random((2, n))
    flip = u + v > 1.0
    u[flip], v[flip] = 1.0 - u[flip], 1.0 - v[flip]
    tri = np.asarray(mesh.vertices, dtype=np.float64)[np.asarray(mesh.faces)[faces]]  # [n,3,3]
    points = tri[:, 0] + u[:, None] * (tri[:, 1] - tri[:, 0]) + v[:, None] * (tri[:, 2] - tri[:, 0])
    return points.astype(np.float32)


def farthest_point_sample(points: torch.Tensor, n: int) -> torch.Tensor:
    """Indices [B,n] (int64) of a farthest point sampling of ``points`` [B,P,3], starting at
    point 0 (as the PointNet++ kernels do) so the result is deterministic."""
    if points.ndim != 3 or points.shape[-1] != 3:
        raise ValueError(f"farthest_point_sample expects points [B,P,3]; got {tuple(points.shape)}")
    batch, num_points, _ = points.shape
    if not 1 <= n <= num_points:
        raise ValueError(f"cannot pick n={n} points from clouds of {num_points}")
    rows = torch.arange(batch, device=points.device)
    chosen = torch.zeros(batch, n, dtype=torch.long, device=points.device)
    nearest = torch.full((batch, num_points), float("inf"), dtype=points.dtype, device=points.device)
    current = torch.zeros(batch, dtype=torch.long, device=points.device)
    for i in range(n):
        chosen[:, i] = current
        centre = points[rows, current].unsqueeze(1)  # [B,1,3]
        nearest = torch.minimum(nearest, ((points - centre) ** 2).sum(-1))
        current = nearest.argmax(dim=1)
    return chosen


def normalize_unit_sphere(points: ArrayT) -> ArrayT:
    """Centre each cloud [...,P,3] on its mean and scale it to max L2 norm 1 (numpy or torch)."""
    if points.shape[-1] != 3 or points.ndim < 2:
        raise ValueError(f"normalize_unit_sphere expects points [..., P, 3]; got {tuple(points.shape)}")
    if isinstance(points, torch.Tensor):
        centred = points - points.mean(dim=-2, keepdim=True)
        radius = centred.norm(dim=-1, keepdim=True).amax(dim=-2, keepdim=True)
        degenerate = bool((radius <= 0).any())
    else:
        centred = points - points.mean(axis=-2, keepdims=True)
        radius = np.linalg.norm(centred, axis=-1, keepdims=True).max(axis=-2, keepdims=True)
        degenerate = bool((radius <= 0).any())
    if degenerate:
        raise ValueError("cannot normalise a cloud whose points all coincide (zero radius)")
    return centred / radius
