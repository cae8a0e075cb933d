"""Crash-safe file writes: a reader sees the old file or the whole new one, never a part.

Write to a hidden temporary name in the same folder, flush, fsync, rename over the final name,
then fsync the folder so the rename itself survives a power cut.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

TMP_MARKER = ".tmp-"


def tmp_path_for(path: Path) -> Path:
    """Hidden, process-unique sibling name; never matches the ``shard-*.h5`` / ``*.json`` globs."""
    return path.with_name(f".{path.name}{TMP_MARKER}{os.getpid()}")


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    """Persist a rename; a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is fsynced and renamed to ``path``,
    on any exception it is removed and ``path`` is left untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path_for(path)
    try:
        yield tmp
        fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """JSON with sorted keys (stable bytes for equal content), written atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def sha256_file(path: str | Path, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def set_aside(path: str | Path, stamp: str) -> Path:
    """Rename ``path`` to ``NAME.bad-STAMP`` (``-2``, ``-3``... if taken) and return the new path.

    For a file found damaged: renaming keeps whatever it still holds for a person to look at, and
    the new name matches none of the ``shard-NNNNN.h5`` / ``.json`` patterns, so nothing reads it."""
    path = Path(path)
    target, n = path.with_name(f"{path.name}.bad-{stamp}"), 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.bad-{stamp}-{n}")
    os.rename(path, target)
    fsync_dir(path.parent)
    return target
