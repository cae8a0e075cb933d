"""``inspect verify``: every way a shard folder can be wrong, found and named per shard and object.

Per shard: the file exists, its checksum matches the index, it opens as a shard of our schema and
holds exactly the objects the index says. Per object: the content hash recomputed from the arrays
matches the stored one, no NaN/inf, no blank RGB view (one colour, e.g. all white), no empty depth
view, and each RGB and depth view shows the stored points from that view's own camera
(:mod:`clip2point.inspection.view_consistency`), which catches mirrored, rotated, shifted and
swapped views and views of another object.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from tqdm import tqdm

from clip2point.datasets.shards.digests import checksum_matches, checksum_name, recorded_checksum
from clip2point.datasets.shards.file_format import CONTENT_HASH, content_hash, open_shard, read_object, read_strings
from clip2point.errors import ShardError
from clip2point.inspection.view_consistency import view_scores
from clip2point.render.rgb import RGBSettings
from clip2point.validation import check_int, check_positive, check_range, flag_of


@dataclasses.dataclass(frozen=True)
class VerifySettings:
    """Thresholds of the per-view consistency checks (scores defined in ``view_consistency``).

    Calibrated on ``clip2point render --synthetic-per-class 3`` (165 objects, all 55 classes,
    1,650 views at 224², 8,192 points, 2 px tolerance). Correct views: precision ≥ 0.9985,
    coverage ≥ 0.90 (1 % below 0.96: thin parts with few points), depth 1.000 on every view;
    the shared real meshes (spot, cow, armchair, ...) alike (precision 1.000, coverage ≥ 0.989).
    Corrupted copies, share of RGB views caught (of all views / of views whose silhouette the
    corruption visibly changes, IoU < 0.9 / of objects with every view corrupted): mirrored
    left-right 53 % / 91 % / 86 %, upside down 88 % / 97 % / 100 %, rotated 90° 96 % / 99 % /
    100 %, views shifted by one 89 % / 97 % / 100 %, another object's views 99.7 % / 99.7 % /
    100 %. Depth views alike (54, 87, 96, 81, 90 % of all views). What is missed is what the
    corruption leaves in place: a mirror-symmetric object mirrored is the same picture. Every
    correct view sits far above the thresholds (0.95, 0.75, 0.95) and the median corrupted view
    (0.5-0.9) far below, so clean data verifies clean.

    Edge-on views are the one exception: a zero-thickness part seen exactly edge-on (a glider's
    wing from behind) has surface points but no pixels, as in the reference rasteriser, so
    precision drops on a correct view (0.67 seen on 1 of 11,000 synthetic views). Such a view
    shows much less than its points cover (``fill`` < ``edge_on_fill``) while everything it does
    show lies on the points (coverage ≥ ``edge_on_coverage``); a mirrored or swapped view shows
    as much as its points cover, so it is still caught.

    ``tolerance_px`` is the precision check's slack in pixels (edge rounding) and, at the
    calibration (224², 8,192 points, dist 1, 60°), also coverage's radius; coverage scales it with
    the expected point spacing in pixels (``view_consistency.coverage_radius``: 5 px at 512²), as
    a fixed 2 px called a third of a correct 512² table top "far from any point". Checked at 512²
    (15 synthetic objects): clean views all pass (coverage ≥ 0.97), and mirrored, upside-down,
    rotated, shifted and swapped views are caught exactly as often as at 224².
    """

    min_precision: float = 0.95
    min_coverage: float = 0.75
    min_depth_inside: float = 0.95
    yfov_deg: float = RGBSettings.yfov_deg  # the RGB camera the job renders with
    znear: float = RGBSettings.znear
    white: int = 255
    tolerance_px: int = 2
    edge_on_fill: float = 0.25
    edge_on_coverage: float = 0.95

    def __post_init__(self) -> None:
        for name in ("min_precision", "min_coverage", "min_depth_inside"):
            check_range(getattr(self, name), flag_of(name), low=0, high=1)
        check_range(self.yfov_deg, "--yfov", low=0, high=180, low_open=True, high_open=True, hint="degrees")
        # No flag sets the rest (keyword arguments for callers that know better): named as fields.
        for name in ("edge_on_fill", "edge_on_coverage"):
            check_range(getattr(self, name), name, low=0, high=1)
        check_positive(self.znear, "znear", finite=True, hint="the RGB camera's near plane")
        check_int(self.white, "white", low=1, high=255, hint="pixels with every channel >= white are background")
        check_int(self.tolerance_px, "tolerance_px", low=1, hint="pixels, for edge rounding and sub-pixel parts")


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


def check_object(arrays: dict[str, Any], settings: VerifySettings) -> Iterator[tuple[str, str]]:
    """(check, message) for each thing wrong with one object's arrays."""
    if content_hash(arrays, arrays.get("content_hash_algorithm", CONTENT_HASH.algorithm)) != arrays["content_hash"]:
        yield "hash", "content hash differs from the one stored at write time (the data changed or is corrupt)"
    for name in ("depth", "points", "elev", "azim", "dist"):
        bad = int(np.count_nonzero(~np.isfinite(arrays[name])))
        if bad:
            yield "nan", f"{name} has {bad} NaN/inf values"
    usable = [True] * len(arrays["rgb"])
    for v, (rgb, depth) in enumerate(zip(arrays["rgb"], arrays["depth"])):
        blank = _blank_reason(rgb)
        if blank:
            yield "blank", f"RGB view {v} is blank ({blank})"
        empty = not np.any(depth[np.isfinite(depth)] != 0)
        if empty:
            yield "empty-depth", f"depth view {v} is empty (no foreground)"
        usable[v] = not (blank or empty)
    if all(np.isfinite(arrays[name]).all() for name in ("depth", "points", "elev", "azim", "dist")):
        yield from _view_problems(arrays, usable, settings)


def _view_problems(arrays: dict[str, Any], usable: list[bool], settings: VerifySettings) -> Iterator[tuple[str, str]]:
    """Views whose RGB or depth does not show the stored points from that view's camera."""
    s = settings
    scores = view_scores(arrays, yfov_deg=s.yfov_deg, znear=s.znear, white=s.white, tolerance_px=s.tolerance_px)
    for v, (precision, coverage, inside, fill) in enumerate(zip(*scores)):
        if not usable[v]:
            continue
        edge_on = fill < s.edge_on_fill and coverage >= s.edge_on_coverage
        if (precision < s.min_precision and not edge_on) or coverage < s.min_coverage:
            yield "rgb-view", (f"view {v}: RGB does not show the points from its camera (mirrored, rotated, swapped "
                               f"or another object?): {precision:.0%} of the points land on the object "
                               f"(need {s.min_precision:.0%}), {coverage:.0%} of the object lies near a point "
                               f"(need {s.min_coverage:.0%})")
        if inside < s.min_depth_inside:
            yield "depth-view", (f"view {v}: depth map does not show the points from its camera (mirrored, rotated, "
                                 f"swapped or another object?): {inside:.0%} of its pixels can come from a point "
                                 f"(need {s.min_depth_inside:.0%})")


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
    recorded = recorded_checksum(shard)
    try:
        if recorded and not checksum_matches(path, recorded):
            problems.append(Problem(name, None, "checksum", f"{checksum_name(recorded)} checksum differs from the "
                                                            "index (file changed or corrupted since it was written)"))
    except ValueError as exc:
        problems.append(Problem(name, None, "checksum", f"the index's checksum cannot be checked ({exc})"))
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
    if record.get("hash") and record["hash"] != arrays["content_hash"]:
        found.append(Problem(path.name, oid, "hash", "stored content hash differs from the index"))
    return found


def verify_index(root: Path, index: dict[str, Any], settings: VerifySettings, *,
                 progress: bool = False) -> dict[str, Any]:
    """All shards of an index; a JSON-ready report with ``ok`` and every problem. ``progress``
    shows a bar on stderr (about 50 s per 1,100 objects on a CPU), never on stdout."""
    by_shard: dict[int, list[dict[str, Any]]] = {}
    for obj in index["objects"]:
        by_shard.setdefault(obj["shard_id"], []).append(obj)
    problems: list[Problem] = []
    with tqdm(total=len(index["objects"]), unit="obj", desc="verify", disable=not progress, file=sys.stderr,
              dynamic_ncols=True) as bar:
        for shard in index["shards"]:
            objects = sorted(by_shard.get(shard["shard_id"], []), key=lambda o: o["row"])
            problems += verify_shard(root, shard, objects, settings)
            bar.update(len(objects))
    return {
        "ok": not problems,
        "shards": len(index["shards"]),
        "objects": len(index["objects"]),
        "bad_shards": sorted({p.file for p in problems}),
        "bad_objects": sorted({p.object_id for p in problems if p.object_id}),
        "problems": [dataclasses.asdict(p) | {"text": str(p)} for p in problems],
        "settings": dataclasses.asdict(settings),
    }
