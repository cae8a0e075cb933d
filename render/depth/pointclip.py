"""The PointCLIP (V1) and PointCLIP V2 presets, for comparison with CLIP2Point's maps (SPEC §3).

Each preset owns its cameras (``cameras.CAMERA_SETS``): the arithmetic below works in the
project's view space (+x left, +y up, row 0 at the top; column grows with −x, row with −y), and
the camera sets make that view space the reference's, signed axis for signed axis, so both
reproduce the reference programs' pictures (``golden/pointclip_presets_golden.npz``):

- ``pointclip``: V1 zero-shot. Points (scaled by 1/dist) are pushed 1.6 along the view axis and
  projected with a perspective divide onto a 128² grid, one pixel per point at
  ``ceil(v − 0.5)``; a pixel holds count / Σ(1/z) (the harmonic mean depth of its points). The
  CLIP image is that raster resized bilinearly to 224 (align_corners=True), no mean/std. Its 6
  cameras are mirrored: the reference's pixel index x′·width + y′ puts camera x′ down the rows.
- ``pointclip-unmirrored``: the same, drawn by ordinary (unmirrored) cameras from the same
  directions: the left-right mirror image of ``pointclip``, one column over (the asymmetric
  ``ceil(v − 0.5)`` rounds the other way). Our choice, not the reference's.
- ``pointclip-fewshot``: V1's few-shot setting (``mv_utils_fs``): shift 1.4, a 224² grid that
  is the CLIP image itself (no resize), its own 10 mirrored views.
- ``pointclip-v2``: per view the rotated cloud is centred on its bounding box, scaled by its
  largest extent into [−1,1], x,y shrunk by 0.8, quantised into an 8×S×S grid (S = 112) that
  keeps the largest depth level per cell (nearest = largest here), densified by a (1,7,7) max
  pool (padding (0,2,2), so S−2 pixels out), smoothed by a normalised (1,3,3) Gaussian
  (σ = 3) and reduced by a max over depth. ``DepthMaps.depth`` holds that nearness raster
  (0 on background, not metric depth: the method quantises depth into 6 levels). The CLIP
  image divides by the map's max, inverts it (white background) and resizes to 224.
  ``dist`` has no effect: the per-view bounding-box normalisation cancels any zoom.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F

from clip2point.render.depth.registry import DepthMaps, DepthPreset, ViewBatch, register_depth_preset

POINTCLIP_SHIFT = 1.6  # translation along the view axis before the perspective divide (zero-shot)
POINTCLIP_FEWSHOT_SHIFT = 1.4  # mv_utils_fs: the few-shot runs sit the camera nearer
_EPS = 1e-12  # PointCLIP's guard in x/z and 1/z

V2_DEPTH_LEVELS = 8
V2_OBJECT_RATIO = 0.8
V2_DEPTH_BIAS = 0.2
V2_POOL = (1, 7, 7)
V2_POOL_PADDING = (0, 2, 2)
V2_SIGMA = 3.0


def _rotate(points: torch.Tensor, views: ViewBatch, *, zoom: bool) -> torch.Tensor:
    """``[B,P,3]`` → ``[B,V,P,3]`` rotated into each camera's axes (no translation), scaled
    by ``1/dist`` when ``zoom`` (the same distance jitter as the faithful preset)."""
    scaled = points[:, None] / views.dist[..., None, None] if zoom else points[:, None]
    return scaled @ views.R


def _resize(image: torch.Tensor, image_size: int) -> torch.Tensor:
    """Bilinear resize of ``[B,V,H,W]`` maps with corners aligned, as both PointCLIPs do.

    The references resize the 3-channel image; torch's CPU kernel rounds a 1-channel input
    differently (up to 1.8e-7, enough to turn V2's white background 1.0000001 into 1.0 on ~1 %
    of the pixels, which moves its "≠ 1" foreground), so the 3 channels are resized here too
    and one is kept: the same bits as the reference's picture."""
    batch, n_views, height, width = image.shape
    if (height, width) == (image_size, image_size):
        return image  # V1 few-shot: the 224² raster is CLIP's image
    flat = image.reshape(batch * n_views, 1, height, width).expand(-1, 3, -1, -1).contiguous()
    out = F.interpolate(flat, size=(image_size, image_size), mode="bilinear", align_corners=True)
    return out[:, 0].reshape(batch, n_views, image_size, image_size)


def rasterize_pointclip(points: torch.Tensor, views: ViewBatch, size: int, *,
                        shift: float = POINTCLIP_SHIFT) -> DepthMaps:
    """One pixel per point (``ceil(v − 0.5)`` of the perspective coordinate, as PointCLIP's
    ``points2depth`` with a 1×1 footprint); the pixel holds count / Σ 1/z."""
    x, y, z = _rotate(points, views, zoom=True).unbind(-1)
    z = z + shift
    # +x is left and +y up in view space, so the column grows with −x and the row with −y.
    col = torch.ceil((-x / (z + _EPS) + 1.0) * size / 2.0 - 0.5)
    row = torch.ceil((-y / (z + _EPS) + 1.0) * size / 2.0 - 0.5)
    valid = (col >= 0) & (col <= size - 1) & (row >= 0) & (row <= size - 1) & (z >= 0)
    batch, n_views, n_points = z.shape
    pixel = (row.clamp(0, size - 1) * size + col.clamp(0, size - 1)).long().view(batch * n_views, n_points)
    weight = torch.where(valid, 1.0 / (z + _EPS), torch.zeros_like(z)).view(batch * n_views, n_points)
    count = valid.to(torch.float32).view(batch * n_views, n_points)
    inv_sum = torch.zeros(batch * n_views, size * size, device=points.device).scatter_add_(1, pixel, weight)
    hits = torch.zeros_like(inv_sum).scatter_add_(1, pixel, count)
    mask = hits > 0
    depth = torch.where(mask, hits / torch.where(mask, inv_sum, torch.ones_like(inv_sum)), torch.zeros_like(hits))
    shape = (batch, n_views, size, size)
    return DepthMaps(depth=depth.view(shape), mask=mask.view(shape))


def pointclip_image(maps: DepthMaps, image_size: int) -> torch.Tensor:
    """PointCLIP feeds the harmonic-mean depth itself (background 0), resized to CLIP's size."""
    return _resize(maps.depth, image_size)


def _normalise_per_view(view: torch.Tensor) -> torch.Tensor:
    """Centre each view's cloud on its bounding box and scale its largest extent to [−1,1]."""
    pmax, pmin = view.amax(dim=-2, keepdim=True), view.amin(dim=-2, keepdim=True)
    extent = (pmax - pmin).amax(dim=-1, keepdim=True).clamp_min(torch.finfo(view.dtype).eps)
    return (view - (pmax + pmin) / 2.0) / extent * 2.0


def _gaussian_kernel(sigma: float, device: torch.device) -> torch.Tensor:
    offsets = torch.arange(-1.0, 2.0, device=device)
    kernel = torch.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2.0 * sigma**2))
    return (kernel / kernel.sum()).view(1, 1, 1, 3, 3)


def pointclip_v2_grid(points: torch.Tensor, views: ViewBatch, size: int) -> torch.Tensor:
    """PointCLIP V2's ``points2grid``: ``[B,V,8,S,S]`` (level, row, col) holding the largest
    clipped depth level of the points in each cell, 0 where empty. The cell's level index uses
    the unclipped ``ceil`` of the level while the stored value is the clipped level, exactly as
    the reference does."""
    view = _normalise_per_view(_rotate(points, views, zoom=False))
    # Grid axes: columns grow with −x (x is left), rows with −y (y is up), level with −z (near).
    col_c, row_c, near = -view[..., 0] * V2_OBJECT_RATIO, -view[..., 1] * V2_OBJECT_RATIO, -view[..., 2]
    col = torch.ceil((col_c + 1.0) / 2.0 * size).clamp(1, size - 2)
    row = torch.ceil((row_c + 1.0) / 2.0 * size).clamp(1, size - 2)
    level = ((near + 1.0) / 2.0 + V2_DEPTH_BIAS) / (1.0 + V2_DEPTH_BIAS) * (V2_DEPTH_LEVELS - 2)
    cell_level = torch.ceil(level).clamp(0, V2_DEPTH_LEVELS - 1)
    level = level.clamp(1, V2_DEPTH_LEVELS - 2)
    batch, n_views, n_points = level.shape
    cell = ((cell_level * size + row) * size + col).long().view(batch * n_views, n_points)
    grid = torch.zeros(batch * n_views, V2_DEPTH_LEVELS * size * size, device=points.device)
    grid.scatter_reduce_(1, cell, level.view(batch * n_views, n_points), reduce="amax")
    return grid.view(batch, n_views, V2_DEPTH_LEVELS, size, size)


def rasterize_pointclip_v2(points: torch.Tensor, views: ViewBatch, size: int) -> DepthMaps:
    """The grid densified by max pooling, smoothed, and reduced by a max over depth levels."""
    grid = pointclip_v2_grid(points, views, size)
    batch, n_views = grid.shape[:2]
    grid = grid.view(batch * n_views, 1, V2_DEPTH_LEVELS, size, size)
    dense = F.max_pool3d(grid, kernel_size=V2_POOL, stride=1, padding=V2_POOL_PADDING)
    smooth = F.conv3d(dense, _gaussian_kernel(V2_SIGMA, points.device), padding=(0, 1, 1))
    nearness = smooth.amax(dim=2).view(batch, n_views, size - 2, size - 2)
    return DepthMaps(depth=nearness, mask=nearness > 0)


def pointclip_v2_picture(maps: DepthMaps) -> torch.Tensor:
    """V2's picture at its own raster (110²): divided by the map's max and inverted, so the
    background is white and nearer is darker."""
    peak = maps.depth.amax(dim=(-2, -1), keepdim=True).clamp_min(torch.finfo(maps.depth.dtype).tiny)
    return 1.0 - maps.depth / peak


def pointclip_v2_image(maps: DepthMaps, image_size: int) -> torch.Tensor:
    """``pointclip_v2_picture`` resized to CLIP's size."""
    return _resize(pointclip_v2_picture(maps), image_size)


POINTCLIP = register_depth_preset(
    DepthPreset(
        name="pointclip",
        native_size=128,
        rasterize=rasterize_pointclip,
        to_image=pointclip_image,
        clip_normalize=False,
        description="PointCLIP V1 zero-shot: its 6 mirrored views, shift 1.6, perspective, one pixel per point, "
                    "harmonic-mean depth, grid 128 resized to 224",
        fewshot_variant="pointclip-fewshot",
    )
)

POINTCLIP_UNMIRRORED = register_depth_preset(
    DepthPreset(
        name="pointclip-unmirrored",
        native_size=128,
        rasterize=rasterize_pointclip,
        to_image=pointclip_image,
        clip_normalize=False,
        description="PointCLIP V1 arithmetic drawn by ordinary (unmirrored) cameras from V1's view directions",
    )
)

POINTCLIP_FEWSHOT = register_depth_preset(
    DepthPreset(
        name="pointclip-fewshot",
        native_size=224,
        rasterize=partial(rasterize_pointclip, shift=POINTCLIP_FEWSHOT_SHIFT),
        to_image=pointclip_image,
        clip_normalize=False,
        description="PointCLIP V1 few-shot: its 10 mirrored views, shift 1.4, grid 224 (no resize)",
    )
)

POINTCLIP_V2 = register_depth_preset(
    DepthPreset(
        name="pointclip-v2",
        native_size=112,
        rasterize=rasterize_pointclip_v2,
        to_image=pointclip_v2_image,
        clip_normalize=False,
        description="PointCLIP V2: its own 10 views, quantised 8×112² grid, densified, smoothed, inverted",
    )
)

# Presets whose image is raw harmonic-mean depth on black (V1's), for viewers that shade it.
POINTCLIP_V1_PRESETS = (POINTCLIP.name, POINTCLIP_UNMIRRORED.name, POINTCLIP_FEWSHOT.name)

__all__ = ["POINTCLIP", "POINTCLIP_UNMIRRORED", "POINTCLIP_FEWSHOT", "POINTCLIP_V2", "POINTCLIP_V1_PRESETS",
           "POINTCLIP_SHIFT", "POINTCLIP_FEWSHOT_SHIFT", "rasterize_pointclip", "rasterize_pointclip_v2",
           "pointclip_v2_grid", "pointclip_v2_picture"]
