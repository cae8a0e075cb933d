"""Crash-safe file writes: a reader sees the old file or the whole new one, never a part.

Write to a hidden temporary name in the same folder, flush, fsync, rename over the final name,
then fsync the folder so the rename itself survives a power cut.

A full disk is an ``OSError`` (``ENOSPC``) naming the folder and the free space, which the CLI
shows as one line: :func:`require_free_space` refuses a write that cannot fit before anything
touches the disk, and a write that fails anyway (another process took the space) is reported
the same way, with the temporary file removed.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

TMP_MARKER = ".tmp-"
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)  # a full disk, an exhausted quota
SPACE_SLACK = 64 * 1024  # file-system blocks and metadata beyond a file's own bytes


def free_bytes(folder: str | Path) -> int:
    """Bytes this process may still write in ``folder``'s file system."""
    return shutil.disk_usage(folder).free


def human_bytes(n: int) -> str:
    """``512 kB``, ``4.3 MB``, ``12.0 GB``."""
    if n >= 1e9:
        return f"{n / 1e9:.1f} GB"
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def require_free_space(folder: str | Path, needed: int, what: str) -> None:
    """Raise ``OSError(ENOSPC)`` naming ``folder`` when ``what`` (``needed`` bytes) cannot fit,
    so a full disk stops a job before a write fails half-way."""
    free, needed = free_bytes(folder), needed + SPACE_SLACK
    if free < needed:
        raise OSError(errno.ENOSPC, f"No space left on device: {what} needs {human_bytes(needed)} and "
                                    f"{human_bytes(free)} is free", str(folder))


def _no_space_error(exc: OSError, path: Path) -> OSError:
    """A path-less full-disk error (``write``, ``fsync``) restated with the folder and free space."""
    try:
        free = f"{human_bytes(free_bytes(path.parent))} is free"
    except OSError:
        free = "free space unknown"
    return OSError(exc.errno, f"{exc.strerror or 'No space left on device'} while writing {path.name}; {free}",
                   str(path.parent))


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
    on any exception it is removed and ``path`` is left untouched. A full-disk error that names
    no file (``write``, ``fsync``) is raised again naming the folder and its free space."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path_for(path)
    try:
        yield tmp
        fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in NO_SPACE and exc.filename is None:
            raise _no_space_error(exc, path) from exc
        raise
    fsync_dir(path.parent)


def write_file(path: Path, data: bytes, *, drop_cache: bool = False) -> None:
    """Plain write of ``data`` to ``path``; a short write is an error, never a shorter file.

    ``drop_cache``: fsync, then tell the kernel the written pages will not be read back soon
    (``POSIX_FADV_DONTNEED``), so they return to the free list instead of filling the page cache.
    For write-once output such as shards (1.7 MB per object, hundreds of GB for a collection):
    memory stays bounded, and the next write reuses those pages instead of faulting in fresh ones,
    which on our VM cost ~3 ms of kernel CPU per MB-scale shard write (benchmarks/RESULTS.md,
    2026-12-02). A no-op where the call does not exist (macOS, Windows)."""
    with open(path, "wb") as fh:
        if fh.write(data) != len(data):
            raise OSError(errno.EIO, f"short write ({len(data)} bytes expected)", str(path))
        if drop_cache and hasattr(os, "posix_fadvise"):
            fh.flush()
            os.fsync(fh.fileno())  # only clean pages can be dropped
            os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """JSON with sorted keys (stable bytes for equal content), written atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


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
