"""Do an object's RGB views, depth views and points show the same object from the same cameras?

All three are stored, and the points are the ground truth both images were made from, so each
image is checked against the points seen through that image's own camera:

- RGB (perspective, SPEC §4): the stored points projected through the RGB view's camera
  (PyTorch3D look-at at ``2·dist``, ``yfov``) must land on the RGB foreground, the pixels that
  are not the renderer's pure white background, grown by ``tolerance_px`` to absorb edge
  rounding. ``precision`` is the share that do; a correct view scores ≈ 1 (the points are the
  mesh's surface, hidden ones included, and a silhouette covers every surface point behind
  it). ``coverage`` is the share of the RGB foreground within ``tolerance_px`` of a projected
  point: it catches a view showing *more* than the points, e.g. another, bigger object. A
  white part of an object still counts as foreground (lighting keeps a lit white surface below
  255, and 1 px of anti-aliased edge is within the tolerance) and where a material does render
  as pure white it lowers precision by its share of the points only.
- Depth (orthographic discs, SPEC §3): the stored map is the faithful raster of a subset of the
  stored points, so its foreground lies inside the raster of *all* of them (same preset, same
  cameras, ``render.depth.project_depth``). ``depth_inside`` is the share of foreground depth
  pixels inside that raster (grown by 1 px for float ties at disc edges); correct maps score 1.

Calibration (``clip2point render --synthetic-per-class 3``: 165 objects of all 55 classes,
1,650 views, 224², 8,192 points): see ``VerifySettings`` in :mod:`inspect_checks` for the
numbers behind the thresholds.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from clip2point.render.cameras import look_at_view_transform
from clip2point.render.depth import make_view_batch
from clip2point.render.depth_faithful import POINT_RADIUS, to_view_space

REFERENCE_SIZE = 224  # tolerances are given in pixels at this size and scaled with the image


class ViewScores(NamedTuple):
    """Per-view agreement, each float64 [V] in [0, 1] (1 = perfect)."""

    precision: np.ndarray
    coverage: np.ndarray
    depth_inside: np.ndarray


def square_morph(mask: np.ndarray, radius: int, reduce: str) -> np.ndarray:
    """Dilation (``any``) or erosion (``all``) of ``[..., H, W]`` masks by a (2r+1)² square,
    outside counting as background for dilation and as foreground for erosion. Counts come from
    an integral image: O(H·W) whatever the radius."""
    size = 2 * radius + 1
    pad = [(0, 0)] * (mask.ndim - 2) + [(radius, radius)] * 2
    padded = np.pad(mask, pad, constant_values=reduce == "all").astype(np.int32)
    integral = np.pad(padded.cumsum(-2).cumsum(-1), [(0, 0)] * (mask.ndim - 2) + [(1, 0), (1, 0)])
    counts = (integral[..., size:, size:] - integral[..., :-size, size:]
              - integral[..., size:, :-size] + integral[..., :-size, :-size])
    return counts > 0 if reduce == "any" else counts == size * size


def scaled_radius(tolerance_px: int, size: int) -> int:
    """``tolerance_px`` (at 224²) at an image of side ``size``, at least 1 px."""
    return max(1, round(tolerance_px * size / REFERENCE_SIZE))


def ndc_to_pixels(x: np.ndarray, y: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(row, col, inside)`` of NDC points in an ``size``² image, PyTorch3D's convention (view +x
    left, +y up, pixel (0,0) top-left, pixel centre i at NDC ``1 − (2i + 1)/S``): the pixel whose
    square holds the point. ``row``/``col`` are 0 where not ``inside``."""
    col = np.floor((1.0 - x) * size / 2.0)
    row = np.floor((1.0 - y) * size / 2.0)
    inside = (row >= 0) & (row < size) & (col >= 0) & (col < size)
    return np.where(inside, row, 0).astype(np.int64), np.where(inside, col, 0).astype(np.int64), inside


def rgb_pixels(points: np.ndarray, elev: np.ndarray, azim: np.ndarray, dist: np.ndarray, *,
               yfov_deg: float, znear: float, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(row, col, visible)`` ``[V, P]`` of ``points [P,3]`` in the RGB views: PyTorch3D's look-at
    camera at ``2·dist`` and its ``FoVPerspectiveCameras`` projection (SPEC §4). ``visible``: in
    front of the near plane and inside the image."""
    R, T = look_at_view_transform(2.0 * torch.from_numpy(dist), torch.from_numpy(elev), torch.from_numpy(azim))
    view = (torch.from_numpy(points) @ R + T[:, None, :]).double().numpy()
    focal = 1.0 / math.tan(math.radians(yfov_deg) / 2.0)
    in_front = view[..., 2] > znear
    z = np.where(in_front, view[..., 2], 1.0)
    row, col, inside = ndc_to_pixels(focal * view[..., 0] / z, focal * view[..., 1] / z, size)
    return row, col, inside & in_front


def depth_pixels(points: np.ndarray, elev: np.ndarray, azim: np.ndarray, dist: np.ndarray,
                 size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(row, col, visible)`` ``[V, P]`` of ``points [P,3]`` in the faithful depth views, through
    the projector's own cameras (orthographic, points scaled by ``1/dist``, SPEC §3)."""
    cloud = torch.from_numpy(points)[None]
    view = to_view_space(cloud, make_view_batch(cloud, elev, azim, dist))[0].double().numpy()
    row, col, inside = ndc_to_pixels(view[..., 0], view[..., 1], size)
    return row, col, inside & (view[..., 2] >= 0)


def splat(row: np.ndarray, col: np.ndarray, visible: np.ndarray, size: int) -> np.ndarray:
    """bool ``[V, size, size]``: the pixels that hold at least one visible point."""
    mask = np.zeros((row.shape[0], size, size), dtype=bool)
    views = np.broadcast_to(np.arange(row.shape[0])[:, None], row.shape)
    mask[views[visible], row[visible], col[visible]] = True
    return mask


def rgb_foreground(rgb: np.ndarray, white: int) -> np.ndarray:
    """``[..., H, W]`` pixels with some channel below ``white`` (the renderer's background is
    exactly 255, so any darker pixel is the object, however pale)."""
    return (rgb < white).any(axis=-1)


def rgb_scores(rgb: np.ndarray, points: np.ndarray, elev: np.ndarray, azim: np.ndarray, dist: np.ndarray, *,
               yfov_deg: float, znear: float, white: int, tolerance_px: int) -> tuple[np.ndarray, np.ndarray]:
    """``(precision [V], coverage [V])`` of ``rgb [V,H,W,3]`` against ``points [P,3]`` (see the
    module docstring)."""
    size = rgb.shape[1]
    radius = scaled_radius(tolerance_px, size)
    foreground = rgb_foreground(rgb, white)
    row, col, visible = rgb_pixels(points, elev, azim, dist, yfov_deg=yfov_deg, znear=znear, size=size)
    hits = square_morph(foreground, radius, "any")[np.arange(len(rgb))[:, None], row, col] & visible
    covered = square_morph(splat(row, col, visible, size), radius, "any") & foreground
    return hits.mean(axis=1), _share(covered, foreground)


def depth_inside(depth: np.ndarray, points: np.ndarray, elev: np.ndarray, azim: np.ndarray,
                 dist: np.ndarray) -> np.ndarray:
    """``[V]`` share of the foreground pixels of ``depth [V,S,S]`` that some disc of ``points``
    could cover. A disc of radius r px around a point in pixel j covers only pixel centres
    less than r + ½ px away, so it stays inside the point's pixel grown by ``floor(r + ½)``;
    1 px more absorbs float ties."""
    size = depth.shape[-1]
    reach = math.floor(POINT_RADIUS * size / 2.0 + 0.5) + 1
    reachable = square_morph(splat(*depth_pixels(points, elev, azim, dist, size), size), reach, "any")
    foreground = depth != 0
    return _share(reachable & foreground, foreground)


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """Per view ``|part| / |whole|`` (1 for an empty ``whole``: nothing there to disagree)."""
    total = whole.sum(axis=(-2, -1))
    return np.where(total > 0, part.sum(axis=(-2, -1)) / np.maximum(total, 1), 1.0)


def view_scores(arrays: dict[str, np.ndarray], *, yfov_deg: float, znear: float, white: int,
                tolerance_px: int) -> ViewScores:
    """All three scores of one object's arrays (``rgb``, ``depth``, ``points``, ``elev/azim/dist``)."""
    cams = tuple(np.ascontiguousarray(arrays[k], np.float32) for k in ("elev", "azim", "dist"))
    points = np.ascontiguousarray(arrays["points"], np.float32)
    precision, coverage = rgb_scores(arrays["rgb"], points, *cams, yfov_deg=yfov_deg, znear=znear,
                                     white=white, tolerance_px=tolerance_px)
    return ViewScores(precision, coverage, depth_inside(arrays["depth"], points, *cams))
