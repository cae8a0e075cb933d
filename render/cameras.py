"""Camera views shared by the depth projector and the RGB renderer (SPEC §2, §4, §6).

Everything follows PyTorch3D's conventions because the reference data was made with it:
world-to-view is ``X_view = X_world @ R + T`` (row vectors), view +X points left, +Y up and
+Z away from the camera into the scene. Angles are float32 so that the camera on the up axis
(elev 90/270) resolves exactly as PyTorch3D resolves it (see ``look_at_rotation``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence, TypeVar, Union

import numpy as np
import torch

from clip2point.errors import ConfigError

MIN_RASTER_SIDE, MAX_RASTER_SIDE = 8, 4096


def check_raster_side(size: int, what: str = "image size") -> int:
    """The one bound on every raster (RGB views, depth maps, tower inputs): a typo such as 100000
    would otherwise ask the depth projector for hundreds of GB before anything failed."""
    if not MIN_RASTER_SIDE <= size <= MAX_RASTER_SIDE:
        raise ConfigError(f"{what} must be between {MIN_RASTER_SIDE} and {MAX_RASTER_SIDE} pixels; got {size}")
    return size

__all__ = [
    "ViewPreset",
    "VIEW_PRESETS",
    "get_view_preset",
    "camera_positions",
    "look_at_rotation",
    "look_at_view_transform",
    "opengl_camera_pose",
    "axis_angle_matrix",
    "MODELNET_TO_SHAPENET",
    "align_modelnet",
]

Angles = Union[float, Sequence[float], np.ndarray, torch.Tensor]


@dataclass(frozen=True)
class ViewPreset:
    """A fixed set of spherical camera positions (degrees) looking at the origin, up = +y."""

    name: str
    elev: tuple[float, ...]
    azim: tuple[float, ...]
    dist: float = 1.0

    def __post_init__(self) -> None:
        if not self.elev or len(self.elev) != len(self.azim):
            raise ConfigError(
                f"view preset {self.name!r}: elev and azim need the same non-zero length "
                f"(got {len(self.elev)} and {len(self.azim)})"
            )
        if not (math.isfinite(self.dist) and self.dist > 0):
            raise ConfigError(f"view preset {self.name!r}: dist must be a positive number, got {self.dist}")
        for value in (*self.elev, *self.azim):
            if not math.isfinite(value):
                raise ConfigError(f"view preset {self.name!r}: angles must be finite, got {value}")

    @property
    def num_views(self) -> int:
        return len(self.elev)

    def tensors(self, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(elev [V], azim [V], dist [V])`` float32, the form ``project_depth`` takes."""
        elev = torch.tensor(self.elev, dtype=torch.float32, device=device)
        azim = torch.tensor(self.azim, dtype=torch.float32, device=device)
        return elev, azim, torch.full_like(elev, self.dist)


VIEW_PRESETS: dict[int, ViewPreset] = {
    10: ViewPreset(
        "views10",
        elev=(0.0, 90.0, 180.0, 270.0, 225.0, 225.0, 315.0, 315.0, 0.0, 0.0),
        azim=(0.0, 0.0, 0.0, 0.0, -45.0, 45.0, -45.0, 45.0, -90.0, 90.0),
    ),
    6: ViewPreset(
        "views6",
        elev=(0.0, 0.0, 0.0, 0.0, 90.0, -90.0),
        azim=(0.0, 90.0, 180.0, 270.0, 0.0, 180.0),
    ),
}


def get_view_preset(num_views: int) -> ViewPreset:
    """The faithful view preset with ``num_views`` cameras (10 for pre-training/few-shot, 6 zero-shot)."""
    try:
        return VIEW_PRESETS[int(num_views)]
    except (KeyError, TypeError, ValueError):
        raise ConfigError(
            f"no view preset with {num_views!r} views; choose one of {sorted(VIEW_PRESETS)}"
        ) from None


def _as_float32(value: Angles, device: torch.device | str | None = None) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.to(dtype=torch.float32, device=device if device is not None else value.device)
    return torch.as_tensor(np.asarray(value, dtype=np.float32), device=device)


def camera_positions(dist: Angles, elev: Angles, azim: Angles, *, degrees: bool = True) -> torch.Tensor:
    """World positions ``dist·(cos e·sin a, sin e, cos e·cos a)`` as float32 ``[..., 3]``.

    The arithmetic order and dtype copy PyTorch3D's, so cos(90°) comes out as the same tiny
    negative number, which decides the orientation of the top view.
    """
    elev_t = _as_float32(elev)
    device = elev_t.device
    dist_t, elev_t, azim_t = torch.broadcast_tensors(
        _as_float32(dist, device), elev_t, _as_float32(azim, device)
    )
    if degrees:
        elev_t = math.pi / 180.0 * elev_t
        azim_t = math.pi / 180.0 * azim_t
    x = dist_t * torch.cos(elev_t) * torch.sin(azim_t)
    y = dist_t * torch.sin(elev_t)
    z = dist_t * torch.cos(elev_t) * torch.cos(azim_t)
    return torch.stack([x, y, z], dim=-1)


def _normalize(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(v.dtype).tiny)


def look_at_rotation(camera_position: torch.Tensor) -> torch.Tensor:
    """World-to-view rotations ``[..., 3, 3]`` (columns = view axes in world coordinates) for
    cameras looking at the origin with up = +y.

    On the up axis ``up × z`` is (nearly) zero. PyTorch3D then rebuilds x from y × z, which is
    the direction of the tiny ``up × z`` itself; we normalise that tiny vector directly, which
    gives the same axis and always a proper rotation. Only an exactly zero cross product (never
    produced by float32 spherical angles) falls back to world +x.
    """
    up = camera_position.new_tensor([0.0, 1.0, 0.0]).expand_as(camera_position)
    z_axis = _normalize(-camera_position)
    x_raw = torch.linalg.cross(up, z_axis, dim=-1)
    exact_zero = (x_raw == 0).all(dim=-1, keepdim=True)
    fallback = camera_position.new_tensor([1.0, 0.0, 0.0]).expand_as(x_raw)
    x_axis = _normalize(torch.where(exact_zero, fallback, x_raw))
    y_axis = _normalize(torch.linalg.cross(z_axis, x_axis, dim=-1))
    return torch.stack([x_axis, y_axis, z_axis], dim=-1)


def look_at_view_transform(
    dist: Angles, elev: Angles, azim: Angles, *, degrees: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(R [N,3,3], T [N,3])`` with ``X_view = X_world @ R + T``, PyTorch3D's look-at.

    Inputs broadcast against each other; a scalar gives N = 1, a ``[B,V]`` grid gives
    ``[B,V,3,3]`` / ``[B,V,3]``.
    """
    centre = camera_positions(dist, elev, azim, degrees=degrees)
    if centre.dim() == 1:
        centre = centre[None]
    R = look_at_rotation(centre)
    T = -(R.transpose(-1, -2) @ centre[..., None])[..., 0]
    return R, T


def opengl_camera_pose(R: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """Camera-to-world ``[N,4,4]`` poses for pyrender/OpenGL from PyTorch3D's ``(R, T)``.

    OpenGL's camera looks down its −z with +x right; PyTorch3D's looks down +z with +x left,
    so the OpenGL axes are (−r₀, r₁, −r₂) and the centre is ``−T·Rᵀ`` (SPEC §4).
    """
    R = torch.as_tensor(R)
    T = torch.as_tensor(T, dtype=R.dtype, device=R.device)
    if R.shape[-2:] != (3, 3) or T.shape[-1:] != (3,) or R.shape[:-2] != T.shape[:-1]:
        raise ValueError(f"R must be [N,3,3] and T [N,3] with the same N; got {tuple(R.shape)} and {tuple(T.shape)}")
    flip = R.new_tensor([-1.0, 1.0, -1.0])
    pose = torch.zeros(*R.shape[:-2], 4, 4, dtype=R.dtype, device=R.device)
    pose[..., :3, :3] = R * flip
    pose[..., :3, 3] = -(T[..., None, :] @ R.transpose(-1, -2))[..., 0, :]
    pose[..., 3, 3] = 1.0
    return pose


def axis_angle_matrix(axis_angle: Sequence[float]) -> np.ndarray:
    """Rotation matrix (float64, column-vector convention) of an axis-angle vector (Rodrigues)."""
    v = np.asarray(axis_angle, dtype=np.float64)
    angle = float(np.linalg.norm(v))
    if angle == 0.0:
        return np.eye(3)
    k = v / angle
    K = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + math.sin(angle) * K + (1.0 - math.cos(angle)) * (K @ K)


# Row-vector points p map to p @ MODELNET_TO_SHAPENET: ModelNet's z-up frame to ShapeNet's y-up.
MODELNET_TO_SHAPENET: np.ndarray = axis_angle_matrix((math.pi / 2, 0.0, 0.0)) @ axis_angle_matrix(
    (0.0, -math.pi / 2, 0.0)
)

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)


def align_modelnet(points: ArrayT) -> ArrayT:
    """Rotate ModelNet points ``[..., 3]`` into ShapeNet's frame, ``p · R_x(π/2) · R_y(−π/2)``
    (SPEC §6). Returns the same array type, and the same dtype for floating input."""
    if points.shape[-1] != 3:
        raise ValueError(f"points must have a last dimension of 3; got shape {tuple(points.shape)}")
    if isinstance(points, torch.Tensor):
        points = points if points.is_floating_point() else points.float()
        return points @ torch.as_tensor(MODELNET_TO_SHAPENET, dtype=points.dtype, device=points.device)
    points = np.asarray(points)
    dtype = points.dtype if np.issubdtype(points.dtype, np.floating) else np.float32
    return (points @ MODELNET_TO_SHAPENET).astype(dtype, copy=False)
