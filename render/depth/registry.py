"""The depth-preset registry: what a preset is (``DepthPreset``), what it produces
(``DepthMaps``), what its rasteriser receives (``ViewBatch``), and the table presets register into.

A module of its own so the preset modules (``faithful``, ``pointclip``) import only this and the
package (``clip2point.render.depth``) imports them: the arrows point one way, with no cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import torch

from clip2point.errors import ConfigError


class DepthMaps(NamedTuple):
    """Raw depth rasters of B clouds × V views.

    depth: float32 [B,V,H,W] view-space depth of what each pixel shows, 0 on background
           (``pointclip-v2``: the method's quantised nearness instead, larger = nearer).
    mask:  bool [B,V,H,W], True where a point covers the pixel.
    """

    depth: torch.Tensor
    mask: torch.Tensor


@dataclass(frozen=True)
class ViewBatch:
    """Cameras broadcast to ``[B,V]``: what a preset's rasteriser receives besides the points."""

    R: torch.Tensor  # [B,V,3,3], X_view = X_world @ R + T
    T: torch.Tensor  # [B,V,3]
    dist: torch.Tensor  # [B,V]


Rasterize = Callable[[torch.Tensor, ViewBatch, int], DepthMaps]
ToImage = Callable[[DepthMaps, int], torch.Tensor]


@dataclass(frozen=True)
class DepthPreset:
    """One projection method: how points become a raster and how a raster becomes CLIP's image."""

    name: str
    native_size: int
    rasterize: Rasterize
    to_image: ToImage
    clip_normalize: bool  # does the method apply CLIP's mean/std to the 3-channel image?
    description: str
    # The preset few-shot evaluation uses when this one is asked for: PointCLIP's few-shot runs
    # project with other constants and cameras than its zero-shot ones (None: this preset).
    fewshot_variant: str | None = None

    def __post_init__(self) -> None:
        if self.native_size < 8:
            raise ConfigError(f"depth preset {self.name!r}: native_size must be at least 8, got {self.native_size}")


DEPTH_PRESETS: dict[str, DepthPreset] = {}


def register_depth_preset(preset: DepthPreset) -> DepthPreset:
    """Add a preset to the registry (names are unique)."""
    if preset.name in DEPTH_PRESETS:
        raise ConfigError(f"depth preset {preset.name!r} is already registered")
    DEPTH_PRESETS[preset.name] = preset
    return preset
