"""Camera views shared by the depth projector and the RGB renderer (SPEC §2, §4, §6).

Everything follows PyTorch3D's conventions because the reference data was made with it:
world-to-view is ``X_view = X_world @ R + T`` (row vectors), view +X points left, +Y up and
+Z away from the camera into the scene. Angles are float32 so that the camera on the up axis
(elev 90/270) resolves exactly as PyTorch3D resolves it (see ``look_at_rotation``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np
import torch

from clip2point.errors import ConfigError

__all__ = [
    "ViewPreset",
    "VIEW_PRESETS",
    "CAMERA_SETS",
    "view_counts",
    "default_view_count",
    "get_view_preset",
    "camera_positions",
    "look_at_rotation",
    "look_at_view_transform",
    "opengl_camera_pose",
]

Angles = Union[float, Sequence[float], np.ndarray, torch.Tensor]


@dataclass(frozen=True)
class ViewPreset:
    """A fixed set of cameras looking at the origin: spherical positions (degrees, up = +y) and,
    per view, a roll about the viewing axis and a mirror flag, so that one camera model covers
    every method's views: ``view_R = lookat(elev, azim) @ Rz(roll) @ (diag(−1,1,1) if mirror)``.
    PointCLIP V1 draws mirror images and tilts its oblique few-shot views; V2 rolls one polar
    view by 180° — as plain look-at cameras neither could be expressed. ``roll``/``mirror`` left
    empty mean 0 / False for every view (CLIP2Point's cameras)."""

    name: str
    elev: tuple[float, ...]
    azim: tuple[float, ...]
    dist: float = 1.0
    roll: tuple[float, ...] = ()
    mirror: tuple[bool, ...] = ()

    def __post_init__(self) -> None:
        if not self.elev or len(self.elev) != len(self.azim):
            raise ConfigError(
                f"view preset {self.name!r}: elev and azim need the same non-zero length "
                f"(got {len(self.elev)} and {len(self.azim)})"
            )
        object.__setattr__(self, "roll", tuple(self.roll) or (0.0,) * len(self.elev))
        object.__setattr__(self, "mirror", tuple(bool(m) for m in self.mirror) or (False,) * len(self.elev))
        if len(self.roll) != len(self.elev) or len(self.mirror) != len(self.elev):
            raise ConfigError(
                f"view preset {self.name!r}: roll and mirror need one entry per view ({len(self.elev)}); "
                f"got {len(self.roll)} and {len(self.mirror)}"
            )
        if not (math.isfinite(self.dist) and self.dist > 0):
            raise ConfigError(f"view preset {self.name!r}: dist must be a positive number, got {self.dist}")
        for value in (*self.elev, *self.azim, *self.roll):
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

    def orientation(self, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """``{"roll": [V] float32 degrees, "mirror": [V] bool}``: the keyword arguments that
        ``project_depth`` takes besides ``tensors()``."""
        return {"roll": torch.tensor(self.roll, dtype=torch.float32, device=device),
                "mirror": torch.tensor(self.mirror, dtype=torch.bool, device=device)}

    def rotations(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """World-to-view rotations ``[V,3,3]`` (``X_view = X_world @ R``) of every camera."""
        elev, azim, dist = self.tensors(device)
        return look_at_view_transform(dist, elev, azim, **self.orientation(device))[0]


# PointCLIP V1 few-shot's oblique views look along (1, ±1, ±1)/√3 rotated about x: azim
# atan(√2) = 54.7356° from +z, and the roll that keeps the reference's picture upright.
_OBLIQUE_AZIM = math.degrees(math.atan(math.sqrt(2.0)))
_OBLIQUE_ROLL = 90.0 - _OBLIQUE_AZIM

_VIEW_PRESET_LIST = (
    ViewPreset(  # CLIP2Point (SPEC §2): pre-training, few-shot
        "views10",
        elev=(0.0, 90.0, 180.0, 270.0, 225.0, 225.0, 315.0, 315.0, 0.0, 0.0),
        azim=(0.0, 0.0, 0.0, 0.0, -45.0, 45.0, -45.0, 45.0, -90.0, 90.0),
    ),
    ViewPreset(  # CLIP2Point (SPEC §2): zero-shot
        "views6",
        elev=(0.0, 0.0, 0.0, 0.0, 90.0, -90.0),
        azim=(0.0, 90.0, 180.0, 270.0, 0.0, 180.0),
    ),
    # PointCLIP V1 zero-shot (mv_utils_zs): its pixel index x'·width + y' makes a mirror image;
    # the bottom view (elev −90, azim 0) is upside down against CLIP2Point's (azim 180).
    ViewPreset(
        "pointclip6",
        elev=(0.0, 0.0, 0.0, 0.0, 90.0, -90.0),
        azim=(-180.0, -90.0, 0.0, 90.0, 0.0, 0.0),
        mirror=(True,) * 6,
    ),
    ViewPreset(  # the same cameras drawing an ordinary (unmirrored) picture
        "pointclip6-unmirrored",
        elev=(0.0, 0.0, 0.0, 0.0, 90.0, -90.0),
        azim=(-180.0, -90.0, 0.0, 90.0, 0.0, 0.0),
    ),
    # PointCLIP V1 few-shot (mv_utils_fs): the 4 horizontal views, 4 oblique ones all from the
    # +x half-space, then top and bottom; mirrored like the zero-shot views.
    ViewPreset(
        "pointclip-fewshot10",
        elev=(0.0, 0.0, 0.0, 0.0, -30.0, 30.0, 30.0, -30.0, 90.0, -90.0),
        azim=(-180.0, -90.0, 0.0, 90.0, _OBLIQUE_AZIM, _OBLIQUE_AZIM, 180.0 - _OBLIQUE_AZIM,
              180.0 - _OBLIQUE_AZIM, 0.0, 0.0),
        roll=(0.0, 0.0, 0.0, 0.0, -_OBLIQUE_ROLL, _OBLIQUE_ROLL, -_OBLIQUE_ROLL, _OBLIQUE_ROLL, 0.0, 0.0),
        mirror=(True,) * 10,
    ),
    # PointCLIP V2 (realistic projection): base rotations at 8 azimuths tilted by the π/9 "bias"
    # (elev 20°), then the two polar base views tilted back by π/15 (elev ∓78°), the upper one
    # upside down (roll 180°). No mirror.
    ViewPreset(
        "pointclip-v2-10",
        elev=(20.0,) * 8 + (-78.0, 78.0),
        azim=(45.0, 135.0, -135.0, -45.0, 0.0, 90.0, -180.0, -90.0, 0.0, 180.0),
        roll=(0.0,) * 9 + (180.0,),
    ),
)

VIEW_PRESETS: dict[str, ViewPreset] = {preset.name: preset for preset in _VIEW_PRESET_LIST}

# The camera sets each depth preset owns (first = its default), by view-preset name: a method's
# pictures are only its own when drawn from its own cameras. ``--views`` choices come from here;
# a depth preset registered later adds its entry (and its ViewPresets to VIEW_PRESETS).
CAMERA_SETS: dict[str, tuple[str, ...]] = {
    "clip2point": ("views10", "views6"),
    "pointclip": ("pointclip6",),
    "pointclip-unmirrored": ("pointclip6-unmirrored",),
    "pointclip-fewshot": ("pointclip-fewshot10",),
    "pointclip-v2": ("pointclip-v2-10",),
}


def _camera_sets(preset: str) -> tuple[ViewPreset, ...]:
    try:
        return tuple(VIEW_PRESETS[name] for name in CAMERA_SETS[preset])
    except KeyError:
        raise ConfigError(f"depth preset {preset!r} has no camera sets; known: {', '.join(sorted(CAMERA_SETS))}") from None


def view_counts(preset: str | None = None) -> tuple[int, ...]:
    """View counts ``preset``'s camera sets offer (its default first); None: every count any
    depth preset offers (the ``--views`` choices, checked against ``--preset`` afterwards)."""
    if preset is not None:
        return tuple(p.num_views for p in _camera_sets(preset))
    return tuple(sorted({VIEW_PRESETS[n].num_views for names in CAMERA_SETS.values() for n in names}))


def default_view_count(preset: str, preferred: int | None = None) -> int:
    """``preferred`` when ``preset`` has a camera set of that size, else the preset's default."""
    counts = view_counts(preset)
    return preferred if preferred in counts else counts[0]


def get_view_preset(num_views: int, preset: str = "clip2point") -> ViewPreset:
    """The camera set of depth preset ``preset`` with ``num_views`` cameras (CLIP2Point: 10 for
    pre-training/few-shot, 6 for zero-shot; each PointCLIP preset: its own)."""
    sets = _camera_sets(preset)
    try:
        wanted = int(num_views)
    except (TypeError, ValueError):
        wanted = None
    for views in sets:
        if views.num_views == wanted:
            return views
    raise ConfigError(
        f"no view preset with {num_views!r} views; choose one of {sorted(v.num_views for v in sets)} "
        f"(the camera sets of depth preset {preset!r})"
    )


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


def roll_matrix(roll: Angles, *, degrees: bool = True) -> torch.Tensor:
    """``Rz(roll)`` ``[..., 3, 3]`` float32, ``[[cos, −sin, 0], [sin, cos, 0], [0, 0, 1]]``: a turn
    of the picture about the viewing axis when right-multiplied onto a world-to-view rotation."""
    angle = _as_float32(roll)
    if degrees:
        angle = math.pi / 180.0 * angle
    c, s = torch.cos(angle), torch.sin(angle)
    zero, one = torch.zeros_like(c), torch.ones_like(c)
    return torch.stack([torch.stack([c, -s, zero], -1), torch.stack([s, c, zero], -1),
                        torch.stack([zero, zero, one], -1)], -2)


def look_at_view_transform(
    dist: Angles, elev: Angles, azim: Angles, *, roll: Angles | None = None, mirror: Angles | None = None,
    degrees: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(R [N,3,3], T [N,3])`` with ``X_view = X_world @ R + T``, PyTorch3D's look-at, then
    (when given) ``R @ Rz(roll) @ diag(−1,1,1)`` where ``mirror`` is true (``ViewPreset``).

    Inputs broadcast against each other; a scalar gives N = 1, a ``[B,V]`` grid gives
    ``[B,V,3,3]`` / ``[B,V,3]``. Without roll/mirror, R is exactly PyTorch3D's.
    """
    centre = camera_positions(dist, elev, azim, degrees=degrees)
    if centre.dim() == 1:
        centre = centre[None]
    R = look_at_rotation(centre)
    if roll is not None:
        R = R @ roll_matrix(_as_float32(roll, R.device), degrees=degrees).expand_as(R)
    if mirror is not None:
        flip = torch.where(_as_float32(mirror, R.device) != 0, -1.0, 1.0)
        R = torch.cat([R[..., :1] * flip.expand(R.shape[:-2])[..., None, None], R[..., 1:]], dim=-1)
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
