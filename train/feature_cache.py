"""Frozen image-tower features, computed once per (object, view) and reused every epoch.

The image tower never changes during pre-training, so its features are a pure function of
(tower weights, RGB views, preprocessing). The cache file is named and stamped by a key over
exactly those: the weights hash, every shard's checksum from ``index.json`` and the input size.
Anything else gives another key, so a stale cache is never read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from clip2point.datasets.batch_loader import batch_loader
from clip2point.datasets.shards import load_index
from clip2point.datasets.shards.digests import recorded_checksum
from clip2point.datasets.torch_dataset import ShardDataset
from clip2point.disk_cache import entry_file, key_digest
from clip2point.errors import CheckpointError
from clip2point.train.checkpoint import load_torch_file, torch_save_atomic
from clip2point.train.precision import Compute, autocast
from clip2point.train.step import channels_last, rgb_to_clip_input

log = logging.getLogger(__name__)

FORMAT = "clip2point.image-features/1"


def shard_checksums(root: str | Path) -> dict[str, str]:
    """Shard file name -> its checksum (``"ALGORITHM:HEX"``), as the folder's index records it."""
    return {s["file"]: recorded_checksum(s) for s in load_index(root)["shards"] if s.get("file")}


def cache_key(weights_hash: str, checksums: dict[str, str], split: str | None, image_size: int) -> str:
    """The digest of everything the features depend on (names the file and is stored in it)."""
    return key_digest({"format": FORMAT, "weights": weights_hash, "shards": dict(sorted(checksums.items())),
                       "split": split, "image_size": image_size})


@dataclass(frozen=True)
class ImageFeatureCache:
    """``features`` [N,V,D] float32; row of an object from ``rows``."""

    key: str
    rows: dict[str, int]
    features: torch.Tensor

    def lookup(self, object_ids: Sequence[str], views: torch.Tensor) -> torch.Tensor:
        """Features [B,D] of each object's chosen view."""
        idx = torch.tensor([self.rows[o] for o in object_ids], dtype=torch.long)
        return self.features[idx, views.to("cpu").long()]


@dataclass(frozen=True)
class CacheSpec:
    """Where a run keeps the cache and what, besides the shards and the split, its features depend
    on: the frozen tower's weights hash and its input side (both enter the key)."""

    cache_dir: Path
    weights_hash: str
    image_size: int

    def key(self, root: str | Path, split: str | None) -> str:
        """The key of this tower's features of the shards of ``root`` as they are now."""
        return cache_key(self.weights_hash, shard_checksums(root), split, self.image_size)


def cache_path(cache_dir: Path, key: str) -> Path:
    return entry_file(cache_dir, "image-features", key, digest_chars=24, suffix=".pt")


@torch.no_grad()
def compute_features(dataset: ShardDataset, encoder: nn.Module, compute: Compute, *, image_size: int,
                     num_workers: int) -> torch.Tensor:
    """Every view of every object through the frozen tower: [N,V,D] float32 on the CPU."""
    device = compute.device
    loader = batch_loader(dataset, batch_size=compute.batch_size, num_workers=num_workers,
                          pin_memory=device.type == "cuda")
    out = []
    for item in loader:
        rgb = item["rgb"].to(device, non_blocking=True)  # [b,V,H,W,3]
        b, v = rgb.shape[:2]
        with autocast(device, compute.precision):
            feats = encoder(channels_last(rgb_to_clip_input(rgb.flatten(0, 1), image_size)))
        out.append(feats.float().view(b, v, -1).cpu())
    return torch.cat(out)


def build_cache(root: str | Path, split: str | None, encoder: nn.Module, spec: CacheSpec, compute: Compute, *,
                num_workers: int) -> Path:
    """Encode every view once and write the cache file of this key, replacing any file there
    (``ensure_cache`` decides when an existing one can be reused); return its path."""
    key = spec.key(root, split)
    path = cache_path(spec.cache_dir, key)
    dataset = ShardDataset(root, split=split, view="all", fields=("rgb",))
    log.info("image features: encoding %d objects x %d views once (cache %s)", len(dataset), dataset.num_views, path)
    feats = compute_features(dataset, encoder, compute, image_size=spec.image_size, num_workers=num_workers)
    torch_save_atomic({"format": FORMAT, "key": key, "object_ids": list(map(str, dataset.object_ids)),
                       "features": feats}, path)
    return path


def ensure_cache(root: str | Path, split: str | None, encoder: nn.Module, spec: CacheSpec, compute: Compute, *,
                 num_workers: int) -> ImageFeatureCache:
    """The cache of this key, built when absent; a damaged or foreign file is named in a warning and rebuilt.

    The file name is the key, so a file that cannot be read is never "the right cache, slightly
    off": nothing in it can be trusted, and rebuilding costs one pass of the frozen tower.
    """
    path = cache_path(spec.cache_dir, spec.key(root, split))
    if path.is_file():
        try:
            cache = load_cache(root, split, spec)
            log.info("image features: reusing %s", path)
            return cache
        except CheckpointError as exc:
            log.warning("image features: %s; rebuilding it", exc)
    build_cache(root, split, encoder, spec, compute, num_workers=num_workers)
    return load_cache(root, split, spec)


def load_cache(root: str | Path, split: str | None, spec: CacheSpec) -> ImageFeatureCache:
    """The cache for the current weights and shards; an unreadable file or one whose stamp differs is refused."""
    key = spec.key(root, split)
    path = cache_path(spec.cache_dir, key)
    if not path.is_file():
        raise CheckpointError(path, "no image-feature cache for these weights and shards; build_cache makes it")
    raw = load_torch_file(path, what="image-feature cache")
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CheckpointError(path, "not a clip2point image-feature cache")
    if raw.get("key") != key:
        raise CheckpointError(path, "image-feature cache made for other weights or shards than its name says")
    ids, feats = raw.get("object_ids"), raw.get("features")
    if not isinstance(ids, list) or not isinstance(feats, torch.Tensor) or feats.ndim != 3 or len(feats) != len(ids):
        raise CheckpointError(path, "damaged image-feature cache (object ids and feature rows do not match)")
    return ImageFeatureCache(key=key, rows={oid: i for i, oid in enumerate(ids)}, features=feats)
