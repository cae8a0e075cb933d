"""The ``clip2point`` preset: CLIP2Point's own depth maps (SPEC §3), the faithful reproduction."""

from __future__ import annotations

import torch

from clip2point.render.depth.discs import rasterize_discs
from clip2point.render.depth.registry import DepthMaps, DepthPreset, ViewBatch, register_depth_preset

POINT_RADIUS = 0.02  # NDC units, ≈ 2.24 px at 224²
FOREGROUND_SCALE = 200.0 / 255.0  # the reference keeps the farthest point visibly grey, not white


def to_view_space(points: torch.Tensor, views: ViewBatch) -> torch.Tensor:
    """``[B,P,3]`` world points → ``[B,V,P,3]`` view space, points first scaled by ``1/dist``
    (so a nearer camera zooms in, as in the reference's jitter)."""
    scaled = points[:, None] / views.dist[..., None, None]
    return scaled @ views.R + views.T[..., None, :]


def rasterize_clip2point(points: torch.Tensor, views: ViewBatch, size: int) -> DepthMaps:
    view = to_view_space(points, views)
    batch, n_views, n_points, _ = view.shape
    depth, mask = rasterize_discs(view.reshape(batch * n_views, n_points, 3), size=size, radius=POINT_RADIUS)
    shape = (batch, n_views, size, size)
    return DepthMaps(depth=depth.view(shape), mask=mask.view(shape))


def clip2point_image(maps: DepthMaps, image_size: int) -> torch.Tensor:
    """Per map: foreground ``(z − zmin)/zmax·200/255``, background 1 (white). ``zmin`` is
    min(1, min foreground z): the reference sets the background to 1 *before* taking the
    minimum, which matters when a jittered distance pushes every foreground z above 1.
    ``image_size`` is unused: the faithful raster is already the CLIP input size."""
    del image_size
    depth, mask = maps.depth, maps.mask
    zmin = torch.where(mask, depth, torch.ones_like(depth)).amin(dim=(-2, -1), keepdim=True)
    zmax = torch.where(mask, depth, torch.zeros_like(depth)).amax(dim=(-2, -1), keepdim=True)
    scaled = (depth - zmin) / zmax.clamp_min(torch.finfo(depth.dtype).tiny) * FOREGROUND_SCALE
    return torch.where(mask, scaled, torch.ones_like(depth))


CLIP2POINT = register_depth_preset(
    DepthPreset(
        name="clip2point",
        native_size=224,
        rasterize=rasterize_clip2point,
        to_image=clip2point_image,
        clip_normalize=True,
        description="CLIP2Point (faithful): orthographic discs r=0.02 NDC, nearest z, 224²",
    )
)
