"""Point clouds to view features and view-summed zero-shot logits (SPEC §6): the one scoring path.

Validation during pre-training and evaluation both call ``zero_shot_logits``, so they score a
checkpoint the same way: prepare the clouds (centre on the mean, max norm 1, ModelNet's rotation
when asked), project on the device, encode every view under the run's precision, L2-normalise,
and sum the per-view cosine similarities. A fix here is a fix everywhere.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from clip2point.datasets.frames import align_modelnet
from clip2point.datasets.sampling import normalize_unit_sphere
from clip2point.render.cameras import get_view_preset
from clip2point.render.depth import depth_to_image, project_depth, to_clip_input
from clip2point.train.precision import autocast

log = logging.getLogger(__name__)

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


def prepare_points(points: torch.Tensor, *, align: bool) -> torch.Tensor:
    """Clouds [N,P,3] ready to project: centred on the mean, max norm 1 (the reference's
    ``pc_normalize``/``pc_norm``), then rotated from ModelNet's z-up frame into ShapeNet's when
    ``align`` (SPEC §6). Scores therefore do not depend on a mesh's scale or position."""
    points = normalize_unit_sphere(points.float())
    return align_modelnet(points) if align else points


@torch.no_grad()
def view_features(encoders: Mapping[str, nn.Module], points: torch.Tensor, num_views: int, *,
                  preset: str = "clip2point", size: int | None = None, batch_size: int = 32,
                  device: str | torch.device = "cpu", precision: str = "fp32") -> dict[str, torch.Tensor]:
    """L2-normalised float32 features [N,V,D] (on the CPU) of prepared clouds ``points`` [N,P,3]
    under each encoder, ``num_views`` views of the preset's own camera set; the depth pictures are projected once per
    tower input size and shared by the encoders that take it. ``precision`` is a resolved one."""
    device = torch.device(device)
    cameras = get_view_preset(num_views, preset)  # the preset's own camera set
    elev, azim, dist = cameras.tensors(device)
    orientation = cameras.orientation(device)
    chunks: dict[str, list[torch.Tensor]] = {name: [] for name in encoders}
    start_time = time.perf_counter()
    for start in range(0, len(points), batch_size):
        batch = points[start:start + batch_size].to(device, non_blocking=True)
        images: dict[int, torch.Tensor] = {}  # per tower input size, projected once
        for name, encoder in encoders.items():
            side = tower_input_size(encoder)
            if side not in images:
                images[side] = depth_views_to_clip_input(batch, elev, azim, dist, **orientation, preset=preset,
                                                         size=size, image_size=side)
            with autocast(device, precision):
                chunks[name].append(encode_images(encoder, images[side]).float().cpu())
    log.debug("encoded %d objects x %d views with %d encoder(s) in %.1f s", len(points), num_views,
              len(encoders), time.perf_counter() - start_time)
    return {name: torch.cat(c) if c else torch.empty(0, num_views, 0) for name, c in chunks.items()}


FeatureFn = Callable[[torch.Tensor], torch.Tensor]


def zero_shot_logits(encoder: nn.Module, points: torch.Tensor, text_feats: torch.Tensor, num_views: int, *,
                     align: bool, features: FeatureFn | None = None, **projection: Any) -> torch.Tensor:
    """View-summed cosine logits [N,C] of raw clouds ``points`` [N,P,3] against class features [C,D].

    ``projection`` (preset, size, batch_size, device, precision) goes to ``view_features``;
    ``features`` replaces that call for callers that cache features (evaluation's FeatureStore)
    and receives the prepared clouds, so the preparation and the logits stay here."""
    prepared = prepare_points(points, align=align)
    if features is None:
        feats = view_features({"scoring": encoder}, prepared, num_views, **projection)["scoring"]
    else:
        feats = features(prepared)
    return view_summed_logits(feats, text_feats)
