"""The one disk-cache mechanism keeps every cache's file names (caches written before it are
still found) and rebuilds an unreadable entry instead of failing."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from clip2point.disk_cache import cache_file, entry_file, key_digest, read_cache_entry, save_npz_atomic
from clip2point.train import feature_cache


def test_entry_names_are_the_ones_the_caches_wrote_before(tmp_path: Path):
    key = {"name": "modelnet40", "split": "test", "root": Path("/data"), "num_points": 1024}
    old = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
    assert cache_file(tmp_path, "points-modelnet40-test", key) == tmp_path / f"points-modelnet40-test-{old[:16]}.npz"
    payload = {"format": feature_cache.FORMAT, "weights": "ab" * 32, "shards": {"shard-00000.h5": "cd" * 32},
               "split": "train", "image_size": 224}
    old_train = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    assert feature_cache.cache_key("ab" * 32, {"shard-00000.h5": "cd" * 32}, "train", 224) == old_train
    assert feature_cache.cache_path(tmp_path, old_train) == tmp_path / f"image-features-{old_train[:24]}.pt"
    assert entry_file(tmp_path, "x", key_digest(key)) == cache_file(tmp_path, "x", key)


def test_an_unreadable_entry_is_named_and_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    path = save_npz_atomic(tmp_path / "e.npz", a=np.arange(3))
    assert read_cache_entry(path, lambda p: np.load(p)["a"].tolist()) == [0, 1, 2]
    path.write_bytes(path.read_bytes()[:20])
    with caplog.at_level(logging.WARNING):
        assert read_cache_entry(path, lambda p: np.load(p)["a"].tolist()) is None
    assert "e.npz: unreadable cache entry" in caplog.text
