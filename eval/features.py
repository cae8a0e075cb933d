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
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from clip2point.datasets.pointsets import PointSet
from clip2point.disk_cache import cache_file, read_cache_entry, save_npz_atomic
from clip2point.eval.settings import ViewSettings

log = logging.getLogger(__name__)

FEATURES_VERSION = 3  # bump when the way features are computed changes (2: each preset's own cameras; 3: precision in the key)


def should_align(pointset: PointSet, align: str = "auto") -> bool:
    """SPEC §6: rotate z-up sources into ShapeNet's y-up frame; ``align`` can force it."""
    return pointset.frame == "z-up" if align == "auto" else align == "yes"


def prepare_points(pointset: PointSet, align: str = "auto") -> torch.Tensor:
    """The point set's clouds as the scoring path prepares them (``train.encoding.prepare_points``)."""
    from clip2point.train.encoding import prepare_points as prepare  # noqa: PLC0415

    return prepare(torch.from_numpy(pointset.points), align=should_align(pointset, align))


def compute_view_features(encoders: dict[str, nn.Module], points: torch.Tensor, views: ViewSettings,
                          device: str | torch.device = "cpu", precision: str = "fp32") -> dict[str, torch.Tensor]:
    """``train.encoding.view_features`` with the evaluation's view settings."""
    from clip2point.train.encoding import view_features  # noqa: PLC0415

    return view_features(encoders, points, views.num_views, preset=views.preset, size=views.image_size,
                         batch_size=views.batch_size, device=device, precision=precision)


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _read_features(path: Path) -> torch.Tensor:
    """One cached [N,V,D] entry; unreadable files raise, and ``read_cache_entry`` rebuilds them."""
    with np.load(path, allow_pickle=False) as data:
        return torch.from_numpy(data["features"])


class FeatureStore:
    """In-memory (and optionally on-disk) cache of view features keyed by content."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self._memory: dict[str, torch.Tensor] = {}
        self.hits = 0
        self.misses = 0

    def key(self, points: torch.Tensor, encoder_id: str, views: ViewSettings, precision: str) -> dict[str, object]:
        return {"version": FEATURES_VERSION, "points": _digest(points.numpy()), "encoder": encoder_id,
                "views": views.num_views, "preset": views.preset, "image_size": views.image_size,
                "precision": precision}

    def _path(self, key: dict[str, object]) -> Path | None:
        prefix = "text-features" if key.get("kind") == "text" else "features"
        return cache_file(self.cache_dir, prefix, key) if self.cache_dir is not None else None

    def _lookup(self, key: dict[str, object]) -> torch.Tensor | None:
        name = json.dumps(key, sort_keys=True)
        if name in self._memory:
            return self._memory[name]
        path = self._path(key)
        feats = read_cache_entry(path, _read_features) if path is not None and path.is_file() else None
        if feats is None:
            return None
        log.info("read cached %s features %s from %s", key.get("kind", "view"), tuple(feats.shape), path)
        self._memory[name] = feats
        return feats

    def _store(self, key: dict[str, object], feats: torch.Tensor) -> None:
        self._memory[json.dumps(key, sort_keys=True)] = feats
        path = self._path(key)
        if path is not None:
            save_npz_atomic(path, features=feats.numpy())

    def features(self, encoders: dict[str, tuple[nn.Module, str]], points: torch.Tensor, views: ViewSettings,
                 device: str | torch.device = "cpu", precision: str = "fp32") -> dict[str, torch.Tensor]:
        """Features of ``points`` under each ``encoders[name] = (module, weights id)``: cached
        ones are reused, the missing ones are computed together (one projection pass).
        ``precision`` is a resolved one (``train.precision``); it is part of the cache key."""
        keys = {name: self.key(points, ident, views, precision) for name, (_, ident) in encoders.items()}
        found = {name: self._lookup(key) for name, key in keys.items()}
        missing = {name: encoders[name][0] for name, feats in found.items() if feats is None}
        self.hits += len(encoders) - len(missing)
        self.misses += len(missing)
        if missing:
            for name, feats in compute_view_features(missing, points, views, device, precision).items():
                self._store(keys[name], feats)
                found[name] = feats
        return found  # type: ignore[return-value]

    def text_features(self, key: dict[str, object], compute: Callable[[], torch.Tensor]) -> torch.Tensor:
        """[C,D] class text features under ``key`` (model, text weights, templates, class names):
        ``compute()`` runs only on the first call for that key; later calls (and, with a cache
        folder, later runs) read the stored tensor."""
        key = {"version": FEATURES_VERSION, "kind": "text", **key}
        found = self._lookup(key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        feats = compute()
        self._store(key, feats)
        return feats
