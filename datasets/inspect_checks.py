"""``inspect verify``: every way a shard folder can be wrong, found and named per shard and object.

Per shard: the file exists, its sha256 matches the index, it opens as a shard of our schema and
holds exactly the objects the index says. Per object: the content hash recomputed from the arrays
matches the stored one, no NaN/inf, no blank RGB view (one colour, e.g. all white), no empty depth
view, and the RGB silhouette agrees with the depth mask.

Silhouette check: the RGB view is perspective (``yfov`` at 2·dist), the depth view orthographic
over [-1,1]·dist, so each foreground depth pixel is carried into the RGB frame with its own depth
(a point at view depth z sits 2·dist − s from the RGB camera, s = (dist − z)·dist its height
toward the camera, and its image coordinate shrinks by dist / ((2·dist − s)·tan(yfov/2))). The
carried pixels are closed (dilate then erode, ``close_px`` at 224², scaled with the size) to fill
the holes between projected points, then compared with the RGB mask (pixels darker than
``white`` in some channel) by IoU. On rendered ShapeNet-style objects with 1,024-point depth,
matching pairs score 0.75-0.96 (thin parts such as wings seen edge-on ~0.5); a mirrored
asymmetric view scores 0.1-0.5. The default threshold, 0.4, is lenient on purpose: it flags
empty, shifted, swapped or badly mirrored views, not subtle ones.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from clip2point.datasets.atomic_io import sha256_file
from clip2point.datasets.shard_format import content_hash, open_shard, read_object, read_strings
from clip2point.errors import ConfigError, ShardError


@dataclasses.dataclass(frozen=True)
class VerifySettings:
    """Thresholds of the per-object checks."""

    min_iou: float = 0.4
    yfov_deg: float = 60.0
    white: int = 250
    close_px: int = 5

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_iou <= 1.0:
            raise ConfigError(f"min_iou must be in [0, 1]; got {self.min_iou}")
        if not 0.0 < self.yfov_deg < 180.0:
            raise ConfigError(f"yfov_deg must be in (0, 180); got {self.yfov_deg}")
        if not 1 <= self.white <= 255:
            raise ConfigError(f"white must be in [1, 255]; got {self.white}")
        if self.close_px < 1:
            raise ConfigError(f"close_px must be >= 1; got {self.close_px}")


@dataclasses.dataclass(frozen=True)
class Problem:
    """One finding; ``object_id`` is None for a problem with the whole file."""

    file: str
    object_id: str | None
    check: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.object_id}" if self.object_id else self.file
        return f"{where}: {self.message}"


def square_morph(mask: np.ndarray, radius: int, reduce: str) -> np.ndarray:
    """Dilation (``any``) or erosion (``all``) by a (2r+1)² square, outside counting as background
    for dilation and as foreground for erosion (so closing does not eat the image border).
    Counts come from an integral image: O(H·W) whatever the radius."""
    size = 2 * radius + 1
    padded = np.pad(mask, radius, constant_values=reduce == "all").astype(np.int32)
    integral = np.pad(padded.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    counts = integral[size:, size:] - integral[:-size, size:] - integral[size:, :-size] + integral[:-size, :-size]
    return counts > 0 if reduce == "any" else counts == size * size


def depth_mask_in_rgb_frame(depth: np.ndarray, dist: float, rgb_size: tuple[int, int],
                            settings: VerifySettings) -> np.ndarray:
    """Foreground depth pixels carried into the RGB camera's frame (see the module docstring)."""
    rows, cols = np.nonzero(depth)
    height, width = depth.shape
    s = (dist - depth[rows, cols].astype(np.float64)) * dist
    scale = dist / ((2.0 * dist - s) * np.tan(np.radians(settings.yfov_deg) / 2.0))
    u = ((2 * cols + 1) / width - 1) * scale
    v = ((2 * rows + 1) / height - 1) * scale
    out_r = np.floor((v + 1) / 2 * rgb_size[0]).astype(np.int64)
    out_c = np.floor((u + 1) / 2 * rgb_size[1]).astype(np.int64)
    inside = (out_r >= 0) & (out_r < rgb_size[0]) & (out_c >= 0) & (out_c < rgb_size[1])
    mask = np.zeros(rgb_size, dtype=bool)
    mask[out_r[inside], out_c[inside]] = True
    radius = max(1, round(settings.close_px * rgb_size[1] / 224))
    return square_morph(square_morph(mask, radius, "any"), radius, "all")


def silhouette_iou(rgb: np.ndarray, depth: np.ndarray, dist: float, settings: VerifySettings) -> float:
    """IoU of the RGB silhouette and the depth mask carried into the RGB frame; 1 when both are empty."""
    a = (rgb < settings.white).any(axis=-1)
    b = depth_mask_in_rgb_frame(depth, dist, a.shape, settings)
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def check_object(arrays: dict[str, Any], settings: VerifySettings) -> Iterator[tuple[str, str]]:
    """(check, message) for each thing wrong with one object's arrays."""
    if content_hash(arrays) != arrays["content_sha256"]:
        yield "hash", "content hash differs from the one stored at write time (the data changed or is corrupt)"
    for name in ("depth", "points", "elev", "azim", "dist"):
        bad = int(np.count_nonzero(~np.isfinite(arrays[name])))
        if bad:
            yield "nan", f"{name} has {bad} NaN/inf values"
    for v, (rgb, depth, dist) in enumerate(zip(arrays["rgb"], arrays["depth"], arrays["dist"])):
        blank = _blank_reason(rgb)
        if blank:
            yield "blank", f"RGB view {v} is blank ({blank})"
        empty = not np.any(depth[np.isfinite(depth)] != 0)
        if empty:
            yield "empty-depth", f"depth view {v} is empty (no foreground)"
        if not (blank or empty) and np.isfinite(depth).all():
            iou = silhouette_iou(rgb, depth, float(dist), settings)
            if iou < settings.min_iou:
                yield "silhouette", f"view {v}: RGB silhouette and depth mask disagree (IoU {iou:.2f} < {settings.min_iou})"


def _blank_reason(rgb: np.ndarray) -> str | None:
    if rgb.min() != rgb.max():
        return None
    return "all white" if rgb.min() == 255 else f"a single colour, {int(rgb.min())}"


def verify_shard(root: Path, shard: dict[str, Any], objects: list[dict[str, Any]],
                 settings: VerifySettings) -> list[Problem]:
    """Problems of one indexed shard (``objects`` are the index records of its rows)."""
    if not shard.get("file"):
        return []
    path = root / shard["file"]
    name = shard["file"]
    if not path.is_file():
        return [Problem(name, None, "missing", "listed in the index but the file is missing")]
    problems = []
    if shard.get("sha256") and sha256_file(path) != shard["sha256"]:
        problems.append(Problem(name, None, "checksum", "sha256 differs from the index (file changed or corrupted since it was written)"))
    try:
        with open_shard(path) as h5:
            stored_ids = read_strings(h5, "object_id")
            indexed_ids = [o["object_id"] for o in sorted(objects, key=lambda o: o["row"])]
            if stored_ids != indexed_ids:
                return problems + [Problem(name, None, "objects", f"holds objects {stored_ids[:4]}..., the index says {indexed_ids[:4]}...")]
            for record in objects:
                problems += _object_problems(h5, record["row"], record, path, settings)
    except ShardError as exc:
        problems.append(Problem(name, None, "unreadable", exc.reason))
    return problems


def _object_problems(h5: Any, row: int, record: dict[str, Any], path: Path, settings: VerifySettings) -> list[Problem]:
    oid = record["object_id"]
    try:
        arrays = read_object(h5, row, path)
    except ShardError as exc:
        return [Problem(path.name, oid, "unreadable", exc.reason)]
    found = [Problem(path.name, oid, check, msg) for check, msg in check_object(arrays, settings)]
    if record.get("hash") and record["hash"] != arrays["content_sha256"]:
        found.append(Problem(path.name, oid, "hash", "stored content hash differs from the index"))
    return found


def verify_index(root: Path, index: dict[str, Any], settings: VerifySettings) -> dict[str, Any]:
    """All shards of an index; a JSON-ready report with ``ok`` and every problem."""
    by_shard: dict[int, list[dict[str, Any]]] = {}
    for obj in index["objects"]:
        by_shard.setdefault(obj["shard_id"], []).append(obj)
    problems: list[Problem] = []
    for shard in index["shards"]:
        problems += verify_shard(root, shard, sorted(by_shard.get(shard["shard_id"], []), key=lambda o: o["row"]), settings)
    return {
        "ok": not problems,
        "shards": len(index["shards"]),
        "objects": len(index["objects"]),
        "bad_shards": sorted({p.file for p in problems}),
        "bad_objects": sorted({p.object_id for p in problems if p.object_id}),
        "problems": [dataclasses.asdict(p) | {"text": str(p)} for p in problems],
        "settings": dataclasses.asdict(settings),
    }
