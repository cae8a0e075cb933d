"""Read point clouds from the files people have lying around: .npy ([P,3] or a batch [B,P,3]),
.ply (vertices of a point cloud or mesh), .xyz / .txt (one point per line, x y z first,
spaces or commas). Every problem is a ``PathError`` that names the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clip2point.errors import PathError

POINT_SUFFIXES = (".npy", ".ply", ".xyz", ".txt")


def read_points(path: str | Path) -> np.ndarray:
    """Clouds as float32 ``[B,P,3]`` (a single cloud gives B = 1)."""
    path = Path(path)
    if not path.is_file():
        raise PathError(path, "no such point-cloud file")
    suffix = path.suffix.lower()
    readers = {".npy": _read_npy, ".ply": _read_ply, ".xyz": _read_text, ".txt": _read_text}
    if suffix not in readers:
        raise PathError(path, f"unsupported point-cloud format {suffix or '(none)'}; use one of {', '.join(POINT_SUFFIXES)}")
    points = readers[suffix](path)
    return _validate(path, points)


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise PathError(path, f"not a readable .npy array ({exc})") from None


def _read_ply(path: Path) -> np.ndarray:
    import trimesh

    try:
        loaded = trimesh.load(path, force=None, process=False)
    except (ValueError, OSError, KeyError, IndexError, TypeError) as exc:
        raise PathError(path, f"not a readable .ply file ({exc})") from None
    vertices = getattr(loaded, "vertices", None)
    if vertices is None:
        raise PathError(path, f"the .ply holds a {type(loaded).__name__}, not a point cloud or mesh")
    return np.asarray(vertices)


def _read_text(path: Path) -> np.ndarray:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PathError(path, f"not a readable text file ({exc})") from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.replace(",", " ").split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) < 3:
            raise PathError(path, f"line {number} has {len(fields)} values; need x y z")
        try:
            rows.append([float(v) for v in fields[:3]])
        except ValueError:
            raise PathError(path, f"line {number} is not numeric: {line.strip()[:60]!r}") from None
    return np.asarray(rows, dtype=np.float64).reshape(-1, 3)


def _validate(path: Path, points: np.ndarray) -> np.ndarray:
    if not np.issubdtype(points.dtype, np.number):
        raise PathError(path, f"points must be numeric; got dtype {points.dtype}")
    if points.ndim not in (2, 3) or points.shape[-1] != 3:
        raise PathError(path, f"points must be [P,3] or [B,P,3]; got shape {points.shape}")
    if points.ndim == 2:
        points = points[None]
    if points.shape[0] == 0 or points.shape[1] == 0:
        raise PathError(path, "the file holds no points")
    if not np.isfinite(points).all():
        raise PathError(path, "points contain NaN or infinite coordinates")
    return points.astype(np.float32)
