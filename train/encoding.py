"""Point clouds to view features and view-summed zero-shot logits (SPEC §6).

Shared by validation during pre-training and by evaluation, so both score a checkpoint the
same way: project on the points' device, encode every view with the depth tower, L2-normalise,
and sum the per-view cosine similarities.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from clip2point.render.depth import depth_to_image, project_depth, to_clip_input

ViewArg = torch.Tensor | float


def depth_views_to_clip_input(
    points: torch.Tensor,
    elev: ViewArg,
    azim: ViewArg,
    dist: ViewArg,
    *,
    roll: ViewArg = 0.0,
    mirror: ViewArg | bool = False,
    preset: str = "clip2point",
    size: int | None = None,
    image_size: int = 224,
) -> torch.Tensor:
    """[B,P,3] points to the encoder's input [B,V,3,image_size,image_size]: the preset's depth
    picture, 3 channels, CLIP mean/std where the preset uses it. ``size`` is the raster (None: the
    preset's own). A picture that does not come out at the tower's ``image_size`` (the faithful
    preset keeps its 224² raster; a user may pick another) is resized to it, antialiased.
    ``roll``/``mirror`` complete the cameras (``ViewPreset.orientation()``)."""
    maps = project_depth(points, elev, azim, dist, roll=roll, mirror=mirror, preset=preset, size=size)
    image = depth_to_image(maps, preset, image_size=image_size)
    if image.shape[-2:] != (image_size, image_size):
        flat = image.flatten(0, -3).unsqueeze(1)
        flat = F.interpolate(flat, size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=True)
        image = flat.view(*image.shape[:-2], image_size, image_size)
    return to_clip_input(image, preset=preset)


def tower_input_size(tower: nn.Module) -> int:
    """The side of the square images a visual tower takes (open_clip stores an int or a pair)."""
    size = getattr(tower, "image_size", 224)
    return int(size[0] if isinstance(size, (tuple, list)) else size)


def encode_images(encoder: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """[B,V,3,H,W] images to L2-normalised float32 features [B,V,D] in one encoder call."""
    b, v = images.shape[:2]
    flat = images.flatten(0, 1)
    if flat.is_cuda:
        flat = flat.contiguous(memory_format=torch.channels_last)
    feats = encoder(flat)
    return F.normalize(feats.float(), dim=-1).view(b, v, -1)


def encode_depth_views(encoder: nn.Module, points: torch.Tensor, elev: ViewArg, azim: ViewArg, dist: ViewArg,
                       **projection: Any) -> torch.Tensor:
    """L2-normalised view features [B,V,D] of depth maps projected from ``points`` [B,P,3].

    ``projection`` (``roll``, ``mirror``, ``preset``, ``size``, ``image_size``) goes unchanged to
    ``depth_views_to_clip_input``, the one place that defines it, so the two cannot drift.
    ``elev``/``azim`` (degrees) and ``dist`` follow ``project_depth``: ``[V]``, ``[B,V]`` or a
    float for ``dist``. Wrap the call in ``torch.no_grad()``/autocast as the caller needs.
    """
    return encode_images(encoder, depth_views_to_clip_input(points, elev, azim, dist, **projection))


def view_summed_logits(view_feats: torch.Tensor, text_feats: torch.Tensor) -> torch.Tensor:
    """[B,V,D] view features and [C,D] class features to logits [B,C] = Σ_v cos(f_v, t_c)."""
    if view_feats.ndim != 3 or text_feats.ndim != 2 or view_feats.shape[-1] != text_feats.shape[-1]:
        raise ValueError(
            f"view_summed_logits needs view features [B,V,D] and text features [C,D] with the same D; "
            f"got {tuple(view_feats.shape)} and {tuple(text_feats.shape)}"
        )
    return torch.einsum("bvd,cd->bc", view_feats.float(), text_feats.float())
