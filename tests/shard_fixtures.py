"""Render-free ``RenderedObject``s for tests and benchmarks of the shard format and readers (a test
fixture: it lives in tests/, and benchmarks put tests/ on their path to use it).

Each view is a shaded, striped ellipsoid on white with the matching depth map (background 0), so the
images compress like real renders (smooth shapes, flat background) and the RGB silhouette equals
the depth mask. The geometry is not consistent across views: use the renderer for that.
"""

from __future__ import annotations

import numpy as np

from clip2point.datasets.shards.file_format import RenderedObject

RGB_ZOOM = 2.0 * float(np.tan(np.radians(30.0)))  # RGB half-extent at the centre: 2·dist·tan(60°/2)
TEN_VIEW_ELEV = (0, 90, 180, 270, 225, 225, 315, 315, 0, 0)
TEN_VIEW_AZIM = (0, 0, 0, 0, -45, 45, -45, 45, -90, 90)


def _ellipse(size: int, a: float, b: float, cx: float, cy: float, zoom: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Image coordinates (x, y) and the ellipse's height field; ``zoom`` widens the field of view."""
    coords = ((np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1) * zoom
    y, x = np.meshgrid(-coords, -coords, indexing="ij")
    r2 = ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2
    return x, y, np.sqrt(np.clip(1.0 - r2, 0.0, 1.0)).astype(np.float32) * (r2 < 1.0)


def _ellipse_view(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """One RGB view (uint8 [H,W,3]) and its depth (float32 [H,W], background 0). The RGB frame is
    wider by ``RGB_ZOOM``, like the 60° perspective camera at 2·dist against the [-1,1]
    orthographic depth frame, and the relief is shallow (z in [0.9, 1]), so the perspective RGB
    silhouette is close to the depth mask shrunk by 1/RGB_ZOOM."""
    a, b = rng.uniform(0.3, 0.8, size=2)
    cx, cy = rng.uniform(-0.15, 0.15, size=2)
    _, _, depth_height = _ellipse(size, a, b, cx, cy, 1.0)
    depth = np.where(depth_height > 0, 1.0 - 0.1 * depth_height, 0.0).astype(np.float32)
    x, y, height = _ellipse(size, a, b, cx, cy, RGB_ZOOM)
    inside = height > 0
    colour = rng.uniform(40, 220, size=3)
    freq, phase = rng.uniform(4, 12), rng.uniform(0, 2 * np.pi)
    texture = 0.85 + 0.15 * np.sin(freq * np.pi * (x + 0.5 * y) + phase)  # a printed-on pattern
    shade = ((0.35 + 0.65 * height) * texture)[..., None]
    rgb = np.where(inside[..., None], colour * shade, 255.0)
    return np.round(rgb).astype(np.uint8), depth


def synthetic_object(
    object_id: str,
    *,
    synset: str = "02691156",
    label: int = 0,
    split: str = "train",
    views: int = 2,
    size: int = 32,
    num_points: int = 64,
    seed: int = 0,
) -> RenderedObject:
    """A deterministic object from ``seed``; ``views`` <= 10 takes the faithful 10-view cameras."""
    rng = np.random.default_rng(seed)
    pairs = [_ellipse_view(rng, size) for _ in range(views)]
    axes = rng.uniform(0.4, 1.0, size=3)
    direction = rng.normal(size=(num_points, 3))
    points = direction / np.linalg.norm(direction, axis=1, keepdims=True) * axes
    index = np.arange(views) % len(TEN_VIEW_ELEV)
    return RenderedObject(
        object_id=object_id, synset=synset, label=label, split=split,
        rgb=np.stack([p[0] for p in pairs]), depth=np.stack([p[1] for p in pairs]),
        points=points.astype(np.float32),
        elev=np.asarray(TEN_VIEW_ELEV, dtype=np.float32)[index],
        azim=np.asarray(TEN_VIEW_AZIM, dtype=np.float32)[index],
        dist=np.ones(views, dtype=np.float32),
    )
