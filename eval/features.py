"""View features of a point set under a frozen encoder, computed once and reused.

The encoders never change during evaluation, so the [N,V,D] features of every object are
computed once and shared by every few-shot epoch and seed (and, with a cache folder, by later
runs and ``--eval-only``). The cache key hashes the clouds themselves and the encoder's
weights, so a different sampling, checkpoint or view setting can never hit a stale entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from clip2point.datasets.pointsets import PointSet, cache_file, save_npz_atomic
from clip2point.eval.settings import ViewSettings
from clip2point.render.cameras import align_modelnet, get_view_preset
from clip2point.render.sampling import normalize_unit_sphere

log = logging.getLogger(__name__)

FEATURES_VERSION = 1  # bump when the way features are computed changes


def should_align(pointset: PointSet, align: str = "auto") -> bool:
    """SPEC §6: rotate z-up sources into ShapeNet's y-up frame; ``align`` can force it."""
    return pointset.frame == "z-up" if align == "auto" else align == "yes"


def prepare_points(pointset: PointSet, align: str = "auto") -> torch.Tensor:
    """Clouds ready to project: centred, in the unit sphere, rotated when ``should_align``."""
    points = normalize_unit_sphere(torch.from_numpy(pointset.points))
    return align_modelnet(points) if should_align(pointset, align) else points


def _autocast(device: torch.device) -> torch.autocast:
    # Half precision roughly doubles ViT throughput on GPUs; CPU stays in float32 (exact tests).
    return torch.autocast(device.type, dtype=torch.float16, enabled=device.type == "cuda")


@torch.no_grad()
def compute_view_features(encoder: nn.Module, points: torch.Tensor, views: ViewSettings,
                          device: str | torch.device = "cpu") -> torch.Tensor:
    """L2-normalised features float32 [N,V,D] (on the CPU) of every cloud of ``points`` [N,P,3]."""
    from clip2point.train.encoding import encode_depth_views  # noqa: PLC0415

    device = torch.device(device)
    elev, azim, dist = get_view_preset(views.num_views).tensors(device)
    chunks = []
    start_time = time.perf_counter()
    for start in range(0, len(points), views.batch_size):
        batch = points[start:start + views.batch_size].to(device, non_blocking=True)
        with _autocast(device):
            feats = encode_depth_views(encoder, batch, elev, azim, dist, preset=views.preset, size=views.image_size)
        chunks.append(feats.float().cpu())
    log.info("encoded %d objects x %d views in %.1f s", len(points), views.num_views, time.perf_counter() - start_time)
    return torch.cat(chunks) if chunks else torch.empty(0, views.num_views, 0)


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


class FeatureStore:
    """In-memory (and optionally on-disk) cache of view features keyed by content."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self._memory: dict[str, torch.Tensor] = {}
        self.hits = 0
        self.misses = 0

    def key(self, points: torch.Tensor, encoder_id: str, views: ViewSettings) -> dict[str, object]:
        return {"version": FEATURES_VERSION, "points": _digest(points.numpy()), "encoder": encoder_id,
                "views": views.num_views, "preset": views.preset, "image_size": views.image_size}

    def get(self, key: dict[str, object], compute: Callable[[], torch.Tensor]) -> torch.Tensor:
        """The features for ``key``: from memory, else from the cache folder, else ``compute()``."""
        name = json.dumps(key, sort_keys=True)
        if name in self._memory:
            self.hits += 1
            return self._memory[name]
        path = cache_file(self.cache_dir, "features", key) if self.cache_dir is not None else None
        if path is not None and path.is_file():
            with np.load(path) as data:
                feats = torch.from_numpy(data["features"])
            self.hits += 1
            log.info("read cached view features %s from %s", tuple(feats.shape), path)
        else:
            feats = compute()
            self.misses += 1
            if path is not None:
                save_npz_atomic(path, features=feats.numpy())
        self._memory[name] = feats
        return feats

    def features(self, encoder: nn.Module, encoder_id: str, points: torch.Tensor, views: ViewSettings,
                 device: str | torch.device = "cpu") -> torch.Tensor:
        """``compute_view_features`` through the cache."""
        return self.get(self.key(points, encoder_id, views),
                        lambda: compute_view_features(encoder, points, views, device))
