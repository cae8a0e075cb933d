"""The gallery's pictures of one object, written once and reused: a thumbnail (one RGB view beside
its depth map), a sheet of every view (RGB | depth, one row per view) and a point preview.

Each file is named by the object's content hash (equal exactly when the arrays are equal)
plus what else shapes the picture (the thumbnail's view, :data:`ASSET_VERSION`), so a rebuild
finds an unchanged object's files and skips reading its arrays at all, and a re-rendered object
gets new files. Files are written to a temporary name and renamed, so an interrupted build never
leaves a half-written picture that a later build would take as done.

Formats, measured per object on the Quickstart's renders (10 views, 224², CPU time): reading
the object 7 ms, drawing the tiles 6 ms; the 256×128 thumbnail as WebP 2 ms; the 448×2240 view
sheet as WebP (fastest effort, method 0) 27.5 ms / 74 kB, PNG (level 1) 20 ms / 170 kB, JPEG
(quality 90) 3.7 ms / 122 kB. So thumbnails, which a class page loads by the hundred, are WebP
(smallest), and the view sheet, opened only on the object's page, is JPEG: 7x faster to write,
which makes a new object ~2.5x cheaper in all (benchmarks/gallery.py).
"""

from __future__ import annotations

import base64
import dataclasses
import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from clip2point.atomic_io import tmp_path_for
from clip2point.render.sheets import depth_tile, to_uint8_tile

ASSET_VERSION = "v1"  # bump when a picture's look changes, so older files are not reused
THUMB_PX = 128
VIEW_TILE_MAX_PX = 256
PREVIEW_POINTS = 2048
THUMB_FORMAT = {"format": "WEBP", "quality": 85, "method": 0}
SHEET_FORMAT = {"format": "JPEG", "quality": 90}


@dataclasses.dataclass(frozen=True)
class Assets:
    """Paths of one object's pictures, relative to the gallery root (``/``-separated)."""

    thumb: str
    views: str
    points: str

    def all(self) -> tuple[str, str, str]:
        return self.thumb, self.views, self.points


def assets_of(content_hash: str, thumb_view: int) -> Assets:
    base = f"thumbs/{ASSET_VERSION}/{content_hash[:2]}/{content_hash}"
    return Assets(f"{base}.view{thumb_view}.webp", f"{base}.views.jpg", f"{base}.points.js")


def view_tile_px(image_size: int) -> int:
    """Side of one view in the sheet: the rendered size, within [:data:`THUMB_PX`,
    :data:`VIEW_TILE_MAX_PX`] (a 64² render is drawn at 128 px so a person can see it)."""
    return min(max(int(image_size), THUMB_PX), VIEW_TILE_MAX_PX)


def missing(root: Path, assets: Assets) -> bool:
    """True when any of the object's pictures is absent or empty (then all are written again)."""
    return any(not (root / p).is_file() or (root / p).stat().st_size == 0 for p in assets.all())


def write_assets(root: Path, arrays: dict[str, Any], assets: Assets, thumb_view: int) -> None:
    """The three pictures of one object from its arrays (``read_object``'s dict)."""
    rgb, depth = arrays["rgb"], arrays["depth"]
    view = min(thumb_view, len(rgb) - 1)
    thumb = _pair_row(rgb[view], depth[view], THUMB_PX)
    tile = view_tile_px(rgb.shape[1])
    sheet = np.concatenate([_pair_row(r, d, tile) for r, d in zip(rgb, depth)], axis=0)
    _write_bytes(root / assets.thumb, _encoded(thumb, THUMB_FORMAT))
    _write_bytes(root / assets.views, _encoded(sheet, SHEET_FORMAT))
    _write_bytes(root / assets.points, points_script(arrays["points"]).encode("ascii"))


def _pair_row(rgb: np.ndarray, depth: np.ndarray, px: int) -> np.ndarray:
    """[px, 2*px, 3]: the RGB view, then its depth map as the project's grey tile."""
    tiles = [to_uint8_tile(rgb), to_uint8_tile(depth_tile(depth))]
    return np.concatenate([_resized(t, px) for t in tiles], axis=1)


def _resized(tile: np.ndarray, px: int) -> np.ndarray:
    if tile.shape[0] == px and tile.shape[1] == px:
        return tile
    return np.asarray(Image.fromarray(tile).resize((px, px), Image.BILINEAR))


def _encoded(pixels: np.ndarray, fmt: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, **fmt)
    return buffer.getvalue()


def points_script(points: np.ndarray) -> str:
    """A script defining ``GALLERY_POINTS``: up to :data:`PREVIEW_POINTS` of the points, an even
    stride through them (they are random surface samples, so any stride is a fair sample), as
    int8 triples scaled by ``scale`` and base64-encoded: ~8 kB for the page's turntable. A script
    and not JSON because a page opened from ``file://`` may not fetch files, only include them."""
    pts = np.asarray(points, dtype=np.float64)
    pts = pts[np.isfinite(pts).all(axis=1)]
    pts = pts[:: max(1, len(pts) // PREVIEW_POINTS)][:PREVIEW_POINTS]
    scale = float(np.abs(pts).max()) if len(pts) else 1.0
    scale = scale if scale > 0 else 1.0
    quantised = np.clip(np.round(pts / scale * 127.0), -127, 127).astype(np.int8)
    data = base64.b64encode(quantised.tobytes()).decode("ascii")
    return f'window.GALLERY_POINTS = {{"count": {len(pts)}, "scale": {scale:.6g}, "data": "{data}"}};\n'


def _write_bytes(path: Path, data: bytes) -> None:
    """Temporary name, then rename: readers see the whole file or none. No fsync: a picture
    lost to a power cut is only rebuilt (``missing`` checks for empty files too)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path_for(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
