"""Depth maps from point clouds, in plain torch (no GL): batched over clouds × views, the same
code on CPU and CUDA, so training can project the jittered copies on the device.

The presets share one interface (``project_depth`` → ``depth_to_image`` → ``to_clip_input``):

- ``clip2point`` (faithful, SPEC §3): orthographic discs of radius 0.02 NDC, nearest z per
  pixel, 224², normalised per map as ``(z − zmin)/zmax·200/255`` on a white background.
- ``pointclip`` / ``pointclip-fewshot``: PointCLIP V1's perspective one-pixel-per-point
  harmonic-mean depth (zero-shot grid 128, few-shot 224), and ``pointclip-unmirrored``, the
  same drawn by an ordinary camera (``depth.pointclip``).
- ``pointclip-v2``: PointCLIP V2's quantised, densified and smoothed "realistic" map (grid 112).

``size`` is the preset's native raster (``None`` = the preset default); ``depth_to_image``
turns that raster into the single-channel picture CLIP sees, resized to ``image_size`` where
the method resizes. Cameras follow PyTorch3D's look-at (+x left, +y up), optionally rolled
about the viewing axis and mirrored (``ViewPreset``); each preset owns its camera sets
(``cameras.CAMERA_SETS``: CLIP2Point's 10/6 views, PointCLIP's 6 mirrored and 10 few-shot
views, V2's 10), so a method's pictures come from that method's cameras.
"""

from __future__ import annotations

from typing import Sequence, Union

import numpy as np
import torch

from clip2point.errors import ConfigError
from clip2point.render.cameras import look_at_view_transform
from clip2point.render.depth import faithful, pointclip  # noqa: F401  (the built-in presets register)
from clip2point.render.depth.registry import (DEPTH_PRESETS, DepthMaps, DepthPreset, ViewBatch,
                                              register_depth_preset)
from clip2point.validation import check_image_size

__all__ = [
    "DepthMaps",
    "DepthPreset",
    "ViewBatch",
    "register_depth_preset",
    "make_view_batch",
    "DEPTH_PRESETS",
    "get_depth_preset",
    "available_depth_presets",
    "fewshot_preset",
    "project_depth",
    "depth_to_image",
    "to_clip_input",
    "CLIP_MEAN",
    "CLIP_STD",
]

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

Views = Union[float, Sequence[float], np.ndarray, torch.Tensor]


def get_depth_preset(name: str) -> DepthPreset:
    """The registered preset called ``name``; unknown names list the valid ones."""
    try:
        return DEPTH_PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown depth preset {name!r}; choose one of {', '.join(available_depth_presets())}"
        ) from None


def available_depth_presets() -> tuple[str, ...]:
    """Names of every registered preset (the built-in three plus any registered later)."""
    return tuple(sorted(DEPTH_PRESETS))


def fewshot_preset(name: str) -> str:
    """The preset that few-shot evaluation uses for ``name`` (``pointclip`` → ``pointclip-fewshot``)."""
    return get_depth_preset(name).fewshot_variant or name


def _view_grid(value: Views, batch: int, name: str, device: torch.device) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(value, dtype=np.float32) if not isinstance(value, torch.Tensor) else value)
    t = t.to(device=device, dtype=torch.float32)
    if t.dim() == 0:
        t = t[None]
    if t.dim() == 1:
        t = t[None].expand(batch, -1)
    if t.dim() != 2 or t.shape[0] not in (1, batch):
        raise ConfigError(f"{name} must be a number, [V] or [B,V] with B={batch}; got shape {tuple(t.shape)}")
    return t.expand(batch, -1)


def _orientation_grid(value: Views | bool, batch: int, name: str, device: torch.device) -> torch.Tensor | None:
    """``roll``/``mirror`` as ``[B,V]`` float32, or None when it is the plain number 0/False
    (CLIP2Point's cameras then stay bit for bit PyTorch3D's look-at, with no extra work)."""
    if isinstance(value, (bool, int, float)) and not value:
        return None
    if isinstance(value, torch.Tensor) and value.dtype == torch.bool:
        value = value.to(torch.float32)
    return _view_grid(value, batch, name, device)


def make_view_batch(points: torch.Tensor, elev: Views, azim: Views, dist: Views, *, roll: Views = 0.0,
                    mirror: Views | bool = False) -> ViewBatch:
    """Broadcast ``elev``/``azim``/``dist`` (and ``roll`` degrees, ``mirror`` flags) to ``[B,V]``
    and build the cameras on the points' device."""
    batch, device = points.shape[0], points.device
    grids = {"elev": _view_grid(elev, batch, "elev", device), "azim": _view_grid(azim, batch, "azim", device),
             "dist": _view_grid(dist, batch, "dist", device)}
    for name, value in (("roll", roll), ("mirror", mirror)):
        grid = _orientation_grid(value, batch, name, device)
        if grid is not None:
            grids[name] = grid
    if len({g.shape[1] for g in grids.values()} - {1}) > 1:
        names, counts = list(grids), [str(g.shape[1]) for g in grids.values()]
        raise ConfigError(f"{', '.join(names[:-1])} and {names[-1]} must give the same number of views; "
                          f"got {', '.join(counts[:-1])} and {counts[-1]}")
    grids = dict(zip(grids, torch.broadcast_tensors(*grids.values())))
    d = grids.pop("dist")
    if not bool((d > 0).all()):
        raise ConfigError("dist must be positive (it is the camera distance and the zoom divisor)")
    R, T = look_at_view_transform(d, grids.pop("elev"), grids.pop("azim"), **grids)
    return ViewBatch(R=R, T=T, dist=d.contiguous())


class NonFinitePointsError(ConfigError):
    """NaN/inf coordinates reached the projector, which cannot know where they came from: callers
    that do (the trainer knows the batch's objects) catch this to name the source."""


def _check_points(points: torch.Tensor) -> torch.Tensor:
    if not isinstance(points, torch.Tensor):
        points = torch.as_tensor(np.asarray(points, dtype=np.float32))
    if points.dim() != 3 or points.shape[-1] != 3 or points.shape[1] == 0:
        raise ConfigError(f"points must be [B,P,3] with P > 0; got shape {tuple(points.shape)}")
    if not points.is_floating_point():
        points = points.float()
    if not bool(torch.isfinite(points).all()):
        raise NonFinitePointsError("points contain NaN or infinite coordinates; clean the cloud first")
    return points.to(torch.float32)


def project_depth(
    points: torch.Tensor,
    elev: Views,
    azim: Views,
    dist: Views = 1.0,
    *,
    roll: Views = 0.0,
    mirror: Views | bool = False,
    preset: str = "clip2point",
    size: int | None = None,
) -> DepthMaps:
    """Project ``points [B,P,3]`` into V views per cloud with the named preset.

    ``elev``/``azim``/``roll`` are degrees, ``[V]`` or ``[B,V]``; ``dist`` a number, ``[V]`` or
    ``[B,V]``; ``mirror`` flags (``ViewPreset.orientation()`` gives roll and mirror of a camera
    set). ``size`` is the raster side (default: the preset's, 224 for ``clip2point``).
    """
    spec = get_depth_preset(preset)
    size = spec.native_size if size is None else int(size)
    check_image_size(size, "size")
    points = _check_points(points)
    views = make_view_batch(points, elev, azim, dist, roll=roll, mirror=mirror)
    return spec.rasterize(points, views, size)


def depth_to_image(maps: DepthMaps, preset: str = "clip2point", *, image_size: int = 224) -> torch.Tensor:
    """The preset's normalised single-channel map, float32 ``[B,V,H,W]`` (before the 3-channel
    repeat). ``clip2point`` keeps the raster size; the PointCLIP presets resize to ``image_size``
    as their methods do."""
    return get_depth_preset(preset).to_image(maps, image_size)


def to_clip_input(image: torch.Tensor, preset: str = "clip2point") -> torch.Tensor:
    """``[..., H, W]`` → ``[..., 3, H, W]``: repeat to 3 channels and, for presets that do so,
    normalise with CLIP's mean/std."""
    rgb = image.unsqueeze(-3).expand(*image.shape[:-2], 3, *image.shape[-2:])
    if not get_depth_preset(preset).clip_normalize:
        return rgb.contiguous()
    mean = torch.tensor(CLIP_MEAN, dtype=image.dtype, device=image.device)[:, None, None]
    std = torch.tensor(CLIP_STD, dtype=image.dtype, device=image.device)[:, None, None]
    return (rgb - mean) / std
