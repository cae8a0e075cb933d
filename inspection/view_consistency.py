"""Do an object's RGB views, depth views and points show the same object from the same cameras?

All three are stored, and the points are the ground truth both images were made from, so each
image is checked against the points seen through that image's own camera:

- RGB (perspective, SPEC §4): the stored points projected through the RGB view's camera
  (PyTorch3D look-at at ``2·dist``, ``yfov``) must land on the RGB foreground, the pixels that
  are not the renderer's pure white background, grown by ``tolerance_px`` for edge rounding and
  sub-pixel parts. ``precision`` is the share that do; a correct view scores ≈ 1 (the points
  are the mesh's surface, hidden ones included, and the silhouette covers every surface point).
  ``coverage`` is the share of the RGB foreground within ``coverage_radius`` of a projected point:
  it catches a view showing *more* than the points, e.g. another, bigger object. Foreground is
  "some channel below 255", so pale and white materials count (lighting keeps them below 255);
  a part that does render pure white lowers precision by its share of the points only. A flat
  part seen exactly edge-on has points but no pixels (0.98 on the shared armchair at 48²).

  The two tolerances differ in kind. Precision's ``tolerance_px`` absorbs rasterisation (edge
  rounding, sub-pixel parts), which is a matter of pixels whatever the image size. Coverage's
  radius must bridge the *gaps between projected points*, and those grow with the image: the
  same P points over a twice as large raster lie twice as many pixels apart (a table top seen
  from above, 8,192 points: ≈ 2 px apart at 224², ≈ 5 px at 512², where a 2 px radius leaves a
  third of a correct view "far from any point"). So coverage uses ``coverage_radius``: the
  window ``2·tolerance_px + 1`` that was calibrated at 224², 8,192 points, camera at 2 (dist 1),
  60°, scaled by the view's expected point spacing in pixels relative to that calibration
  (``∝ size · focal / (dist · √P)``), never below ``tolerance_px``. Every check then looks at
  the same share of the picture at every resolution and point count, so clean views verify
  clean and damaged ones are caught as at the calibration (at ≤ 256² with 8,192 points the
  radius is ``tolerance_px`` itself, as before).
- Depth (orthographic discs, SPEC §3): the stored map is the faithful raster of a subset of the
  stored points, so every foreground pixel lies within one disc radius of some stored point
  seen through the projector's own camera (``render.depth.faithful.to_view_space``).
  ``depth_inside`` is the share of foreground pixels that do; correct maps score exactly 1
  (also PyTorch3D's golden maps).

Mirrored, rotated, shifted or swapped views and views of another object score far lower on
asymmetric objects; thresholds and their calibration are in ``verify.VerifySettings``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from clip2point.render.cameras import look_at_view_transform
from clip2point.render.depth import make_view_batch
from clip2point.render.depth.faithful import POINT_RADIUS, to_view_space


class ViewScores(NamedTuple):
    """Per-view agreement, each float64 [V] in [0, 1] (1 = perfect)."""

    precision: np.ndarray
    coverage: np.ndarray
    depth_inside: np.ndarray
    fill: np.ndarray  # |RGB foreground| / |points' footprint grown by the coverage radius|


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """``[..., H, W]`` masks grown by a (2r+1)² square (outside the image is background). Counts
    come from an integral image: O(H·W) whatever the radius."""
    size = 2 * radius + 1
    lead = [(0, 0)] * (mask.ndim - 2)
    padded = np.pad(mask, lead + [(radius, radius)] * 2).astype(np.int32)
    integral = np.pad(padded.cumsum(-2).cumsum(-1), lead + [(1, 0), (1, 0)])
    counts = (integral[..., size:, size:] - integral[..., :-size, size:]
              - integral[..., size:, :-size] + integral[..., :-size, :-size])
    return counts > 0


def ndc_to_pixels(x: np.ndarray, y: np.ndarray, size: int, margin: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(row, col, inside)`` of NDC points in an ``size``² image, PyTorch3D's convention (view +x
    left, +y up, pixel (0,0) top-left, pixel centre i at NDC ``1 − (2i + 1)/S``): the pixel whose
    square holds the point, in the image padded by ``margin`` pixels on each side (so pixel
    (0,0) of the image is (margin, margin)). ``row``/``col`` are 0 where not ``inside``."""
    col = np.floor((1.0 - x) * size / 2.0) + margin
    row = np.floor((1.0 - y) * size / 2.0) + margin
    end = size + 2 * margin
    inside = (row >= 0) & (row < end) & (col >= 0) & (col < end)
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
                 size: int, margin: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(row, col, visible)`` ``[V, P]`` of ``points [P,3]`` in the faithful depth views padded by
    ``margin`` (see ``ndc_to_pixels``), through the projector's own cameras (orthographic,
    points scaled by ``1/dist``, SPEC §3)."""
    cloud = torch.from_numpy(points)[None]
    view = to_view_space(cloud, make_view_batch(cloud, elev, azim, dist))[0].double().numpy()
    row, col, inside = ndc_to_pixels(view[..., 0], view[..., 1], size, margin)
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


# The setting ``tolerance_px`` was calibrated at (verify.VerifySettings): coverage's radius
# keeps the same ratio to the expected point spacing in pixels at any other size and point count.
CALIBRATION_SIZE, CALIBRATION_POINTS, CALIBRATION_DIST, CALIBRATION_YFOV_DEG = 224, 8192, 1.0, 60.0


def point_spacing_px(size: int, num_points: int, dist: np.ndarray, yfov_deg: float) -> np.ndarray:
    """``[V]`` expected distance between neighbouring projected points, in pixels, up to a
    constant factor: a surface of fixed area (objects are normalised to the unit sphere) holds
    ``num_points`` points ``∝ 1/√P`` apart, seen from ``2·dist`` through focal ``1/tan(yfov/2)``
    on a ``size``² raster (``size/2`` pixels per NDC unit)."""
    focal = 1.0 / math.tan(math.radians(yfov_deg) / 2.0)
    return (size / 2.0) * focal / (2.0 * np.asarray(dist, np.float64)) / math.sqrt(max(num_points, 1))


def coverage_radius(tolerance_px: int, size: int, num_points: int, dist: np.ndarray, yfov_deg: float) -> np.ndarray:
    """``[V]`` int radius of coverage's dilation: the window ``2·tolerance_px + 1`` calibrated at
    224², 8,192 points, dist 1, 60° scaled by the point spacing relative to the calibration's
    (module docstring), rounded half up, and never below ``tolerance_px``."""
    scale = point_spacing_px(size, num_points, dist, yfov_deg) / point_spacing_px(
        CALIBRATION_SIZE, CALIBRATION_POINTS, np.float64(CALIBRATION_DIST), CALIBRATION_YFOV_DEG)
    window = (2 * tolerance_px + 1) * scale
    return np.maximum(tolerance_px, np.floor((window - 1.0) / 2.0 + 0.5)).astype(np.int64)


def rgb_scores(rgb: np.ndarray, points: np.ndarray, elev: np.ndarray, azim: np.ndarray, dist: np.ndarray, *,
               yfov_deg: float, znear: float, white: int, tolerance_px: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(precision [V], coverage [V], fill [V])`` of ``rgb [V,H,W,3]`` against ``points [P,3]``
    (see the module docstring): precision within ``tolerance_px``, coverage and fill within
    ``coverage_radius``."""
    size = rgb.shape[1]
    foreground = rgb_foreground(rgb, white)
    row, col, visible = rgb_pixels(points, elev, azim, dist, yfov_deg=yfov_deg, znear=znear, size=size)
    hits = dilate(foreground, tolerance_px)[np.arange(len(rgb))[:, None], row, col] & visible
    points_at = splat(row, col, visible, size)
    radius = coverage_radius(tolerance_px, size, len(points), np.broadcast_to(dist, (len(rgb),)), yfov_deg)
    footprint = np.empty_like(points_at)
    for r in np.unique(radius):  # one radius per view; a preset's views share one dist
        footprint[radius == r] = dilate(points_at[radius == r], int(r))
    fill = foreground.sum(axis=(-2, -1)) / np.maximum(footprint.sum(axis=(-2, -1)), 1)
    return hits.mean(axis=1), _share(footprint & foreground, foreground), fill


def depth_inside(depth: np.ndarray, points: np.ndarray, elev: np.ndarray, azim: np.ndarray,
                 dist: np.ndarray) -> np.ndarray:
    """``[V]`` share of the foreground pixels of ``depth [V,S,S]`` that some disc of ``points``
    could cover. A disc of radius r px around a point in pixel j covers only pixel centres
    less than r + ½ px away, so it stays inside the point's pixel grown by ``floor(r + ½)``;
    1 px more absorbs float ties. Points up to ``reach`` px off the image count too: their discs
    can reach its edge."""
    size = depth.shape[-1]
    reach = math.floor(POINT_RADIUS * size / 2.0 + 0.5) + 1
    padded = size + 2 * reach
    spread = dilate(splat(*depth_pixels(points, elev, azim, dist, size, reach), padded), reach)
    reachable = spread[:, reach:reach + size, reach:reach + size]
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
    precision, coverage, fill = rgb_scores(arrays["rgb"], points, *cams, yfov_deg=yfov_deg, znear=znear,
                                           white=white, tolerance_px=tolerance_px)
    return ViewScores(precision, coverage, depth_inside(arrays["depth"], points, *cams), fill)
