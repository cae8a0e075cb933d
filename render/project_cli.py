"""``clip2point project POINTS --out OUT``: point cloud(s) to depth maps with any preset, saved as
``OUT.npz`` (``depth`` raw float32 [B,V,H,W] with background 0, ``mask``, ``image`` the
normalised single-channel map, plus the cameras: elev, azim, roll, mirror, dist) and ``OUT.png``,
a sheet of the views. Each preset projects from its own cameras (``--views`` picks one of its sets)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import torch

from clip2point.atomic_io import atomic_path
from clip2point.datasets.frames import align_modelnet
from clip2point.datasets.point_io import POINT_SUFFIXES, read_points
from clip2point.datasets.sampling import normalize_unit_sphere
from clip2point.errors import ConfigError, PathError
from clip2point.render.cameras import default_view_count, get_view_preset, view_counts
from clip2point.render.depth import (
    DepthMaps,
    available_depth_presets,
    depth_to_image,
    get_depth_preset,
    project_depth,
)
from clip2point.render.depth.pointclip import POINTCLIP_V1_PRESETS
from clip2point.render.sheets import contact_sheet, depth_tile, save_sheet
from clip2point.validation import check_image_size, check_range

log = logging.getLogger(__name__)

SHEET_MAX_ROWS = 16  # a batch of thousands of clouds would make an unreadable picture


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("points", type=Path, help=f"point cloud ({', '.join(POINT_SUFFIXES)}); .npy may be a batch [B,P,3]")
    parser.add_argument("--out", type=Path, required=True, help="output stem: writes OUT.npz and OUT.png")
    parser.add_argument("--preset", choices=available_depth_presets(), default="clip2point", help="projection method (SPEC §3)")
    own = ", ".join(f"{name} {'/'.join(map(str, view_counts(name)))}" for name in available_depth_presets())
    parser.add_argument("--views", type=int, choices=view_counts(), default=None,
                        help=f"number of views: one of --preset's own camera sets ({own}; default the first)")
    parser.add_argument("--size", type=int, default=None, help="raster side in pixels (default: the preset's own)")
    parser.add_argument("--dist", type=float, default=None, help="camera distance; < 1 zooms in (default: the view preset's, 1)")
    parser.add_argument("--align", choices=("modelnet",), default=None, help="rotate z-up ModelNet points into ShapeNet's y-up frame")


def load_clouds(path: Path, *, align: str | None) -> np.ndarray:
    """Read, optionally align, and centre/scale every cloud into the unit sphere (SPEC §1)."""
    points = read_points(path)
    if align == "modelnet":
        points = align_modelnet(points)
    try:
        return normalize_unit_sphere(points).astype(np.float32)
    except ValueError as exc:
        raise PathError(path, str(exc)) from None


MAX_DIST = 50.0


def output_paths(out: Path) -> tuple[Path, Path]:
    stem = out.with_suffix("") if out.suffix.lower() in (".npz", ".png") else out
    return stem.parent / f"{stem.name}.npz", stem.parent / f"{stem.name}.png"


def sheet_tiles(maps: DepthMaps, image: torch.Tensor, preset: str) -> np.ndarray:
    """Viewable tiles [B,V,H,W] in [0,1]: PointCLIP V1's image is raw depth on black, so it is
    shown like a raw map (near dark, background white); the others already are pictures."""
    if preset in POINTCLIP_V1_PRESETS:
        return np.stack([[depth_tile(v, v > 0) for v in cloud] for cloud in image.numpy()])
    return image.numpy()


def run(args: argparse.Namespace) -> int:
    spec = get_depth_preset(args.preset)
    num_views = default_view_count(spec.name) if args.views is None else args.views
    try:
        views = get_view_preset(num_views, spec.name)  # the preset's own cameras
    except ConfigError as exc:
        raise ConfigError(f"--views {num_views} with --preset {spec.name}: {exc}") from None
    dist = views.dist if args.dist is None else args.dist
    # clouds are normalised to the unit sphere; presets use about 1
    check_range(dist, "--dist", low=0, high=MAX_DIST, low_open=True,
                hint="farther than that the unit-sphere cloud shrinks to a few pixels")
    if args.size is not None:
        check_image_size(args.size, "--size")
    points = load_clouds(args.points, align=args.align)
    elev, azim, _ = views.tensors()
    orientation = views.orientation()
    maps = project_depth(torch.from_numpy(points), elev, azim, dist, **orientation, preset=spec.name, size=args.size)
    image = depth_to_image(maps, spec.name)
    npz_path, png_path = output_paths(args.out)
    npz_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(npz_path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(
                handle,
                depth=maps.depth.numpy(),
                mask=maps.mask.numpy(),
                image=image.numpy(),
                points=points,
                elev=elev.numpy(),
                azim=azim.numpy(),
                roll=orientation["roll"].numpy(),
                mirror=orientation["mirror"].numpy(),
                dist=np.float32(dist),
                preset=np.array(spec.name),
            )
    tiles = sheet_tiles(maps, image, spec.name)
    rows = min(len(tiles), SHEET_MAX_ROWS)
    if len(tiles) > rows:
        log.info("sheet shows the first %d of %d clouds", rows, len(tiles))
    labels = [f"e{e:.4g} a{a:.4g}" + (f" r{r:.4g}" if r else "") + (" m" if m else "")
              for e, a, r, m in zip(views.elev, views.azim, views.roll, views.mirror)]
    sheet = contact_sheet([list(t) for t in tiles[:rows]], row_labels=[f"cloud {i}" for i in range(rows)], col_labels=labels)
    save_sheet(sheet, png_path)
    print(f"projected {len(points)} cloud(s) x {views.num_views} views with {spec.name} -> {npz_path} and {png_path}")
    return 0
