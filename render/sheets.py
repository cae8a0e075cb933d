"""PNG contact sheets a person can look at: rows of labelled tiles (RGB views, depth maps).

Shared by ``clip2point project``, ``clip2point views`` and ``clip2point inspect sheet`` so
every picture the project writes looks the same and is made by one function.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw


def to_uint8_tile(image: np.ndarray) -> np.ndarray:
    """Any tile to uint8 RGB [H,W,3]: uint8 passes, floats in [0,1] are scaled, 2-D is greyed."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.clip(np.nan_to_num(arr.astype(np.float32), nan=0.0), 0.0, 1.0)
        arr = (arr * 255.0 + 0.5).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    if arr.ndim != 3 or arr.shape[-1] not in (1, 3, 4):
        raise ValueError(f"tile must be [H,W], [H,W,1], [H,W,3] or [H,W,4]; got shape {arr.shape}")
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    return arr[..., :3]


def depth_tile(depth: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Raw depth [H,W] to a viewable grey tile: near is dark, far is light, background white
    (the same look as the CLIP input of the faithful preset)."""
    depth = np.asarray(depth, dtype=np.float32)
    fg = depth != 0 if mask is None else np.asarray(mask, dtype=bool)
    tile = np.ones_like(depth)
    if fg.any():
        z = depth[fg]
        lo, hi = float(z.min()), float(z.max())
        tile[fg] = (z - lo) / max(hi - lo, 1e-8) * (200.0 / 255.0)
    return tile


def contact_sheet(
    rows: Sequence[Sequence[np.ndarray]],
    *,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    tile: int = 112,
    pad: int = 2,
) -> Image.Image:
    """Grid of tiles (each resized to ``tile``²) with optional row and column labels."""
    if not rows or not any(len(r) for r in rows):
        raise ValueError("contact_sheet needs at least one tile")
    ncols = max(len(r) for r in rows)
    left = 120 if row_labels else 0
    top = 14 if col_labels else 0
    width = left + ncols * (tile + pad) + pad
    height = top + len(rows) * (tile + pad) + pad
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for c, label in enumerate(col_labels or []):
        draw.text((left + pad + c * (tile + pad), 1), str(label), fill=(0, 0, 0))
    for r, row in enumerate(rows):
        y = top + pad + r * (tile + pad)
        if row_labels:
            draw.text((2, y + tile // 2 - 6), str(row_labels[r])[:20], fill=(0, 0, 0))
        for c, img in enumerate(row):
            pil = Image.fromarray(to_uint8_tile(img)).resize((tile, tile), Image.BILINEAR)
            sheet.paste(pil, (left + pad + c * (tile + pad), y))
    return sheet


def sheet_path(text: str, default_name: str = "sheet.png") -> Path:
    """An ``--out`` for a PNG: a folder (existing, or written with a trailing slash) gets
    ``default_name`` inside it, as ``cp`` would; ``sheets/`` used to become a file named ``sheets``."""
    path = Path(text)
    return path / default_name if text.endswith(("/", os.sep)) or path.is_dir() else path


def save_sheet(image: Image.Image, path: str | Path) -> Path:
    """Write a sheet as PNG, creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    return path
