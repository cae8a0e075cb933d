"""The one disk-cache mechanism: an entry's file is named by the hash of everything it depends on
(data, settings, weights), so a change makes a new entry instead of reusing a stale one, and an
entry that cannot be read is rebuilt, never trusted and never fatal.

Used by the evaluation point sets (``datasets.pointsets``), evaluation view features
(``eval.features``) and training's frozen image features (``train.feature_cache``); each keeps
its own file format (.npz or a torch file) and reader.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

import numpy as np

log = logging.getLogger(__name__)

T = TypeVar("T")


def key_digest(key: Mapping[str, Any]) -> str:
    """sha256 (hex) of the key as canonical JSON (sorted keys; other objects as ``str``)."""
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


def entry_file(cache_dir: Path, prefix: str, digest: str, *, digest_chars: int = 16, suffix: str = ".npz") -> Path:
    """Where the entry of ``digest`` lives: ``CACHE_DIR/PREFIX-DIGEST[:digest_chars]SUFFIX``."""
    return Path(cache_dir) / f"{prefix}-{digest[:digest_chars]}{suffix}"


def cache_file(cache_dir: Path, prefix: str, key: Mapping[str, Any], *, digest_chars: int = 16,
               suffix: str = ".npz") -> Path:
    """Where the entry identified by ``key`` lives (``entry_file`` of its ``key_digest``)."""
    return entry_file(cache_dir, prefix, key_digest(key), digest_chars=digest_chars, suffix=suffix)


def read_cache_entry(path: Path, reader: Callable[[Path], T]) -> T | None:
    """``reader(path)``, or None after a warning naming the file when it cannot be read
    (truncated by a full disk, overwritten, from another version): a cache must never stop a
    run. The caller then rebuilds the entry, and ``save_npz_atomic`` replaces the bad file."""
    try:
        return reader(path)
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, ValueError) as exc:
        log.warning("%s: unreadable cache entry (%s: %s); rebuilding it", path, type(exc).__name__, exc)
        return None


def save_npz_atomic(path: Path, **arrays: np.ndarray) -> Path:
    """Write an .npz to a temporary name in the same folder and rename it into place, so a
    killed run never leaves a truncated cache entry that a later run would trust."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
