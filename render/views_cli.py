"""``clip2point views MESH --out DIR``: one mesh to its RGB views, the depth maps of points
sampled from its surface, and a PNG sheet pairing them, to check a mesh (or the pipeline)
by eye before a long job."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from clip2point.datasets.frames import MODELNET_TO_SHAPENET
from clip2point.datasets.mesh_io import LoadedMesh, load_mesh
from clip2point.datasets.sampling import DEPTH_POINTS, STORED_POINTS, sample_surface
from clip2point.errors import ConfigError
from clip2point.extras import require
from clip2point.render.cameras import get_view_preset, view_counts
from clip2point.render.depth import project_depth
from clip2point.render.rgb import CAMERAS, RGBRenderer
from clip2point.render.rgb.light import DEFAULT_LIGHT, LIGHT_TYPES, parse_light
from clip2point.render.rgb.scene import SHADINGS
from clip2point.render.sheets import contact_sheet, depth_tile, save_sheet
from clip2point.validation import check_image_size


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("mesh", type=Path, help="mesh file (.obj with .mtl/textures, .off, .ply, .stl, .glb)")
    parser.add_argument("--out", type=Path, required=True, help="folder for views.npz and views.png")
    parser.add_argument("--views", type=int, choices=view_counts("clip2point"), default=10, help="view preset (SPEC §2)")
    parser.add_argument("--size", type=int, default=224, help="image side in pixels (RGB and depth)")
    parser.add_argument("--camera", choices=CAMERAS, default="perspective",
                        help="RGB camera; orthographic = the depth projector's camera (aligned mode)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the surface sample and of the random light")
    parser.add_argument("--align", choices=("modelnet",), default=None,
                        help="rotate a z-up ModelNet mesh (.off) into ShapeNet's y-up frame, as project --align does")
    add_rgb_arguments(parser)


def add_rgb_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--light`` and ``--shading``, shared by ``views`` and ``render`` (same names, same defaults)."""
    parser.add_argument("--light", type=_light_flag, default=DEFAULT_LIGHT, metavar="|".join(LIGHT_TYPES) + "|X,Y,Z",
                        help="RGB light, the reference's types: random (one direction 1-2*rand(3) per object, "
                        "seeded; the default, see README), headlight (from the camera), fixed (0,1,0, from above), "
                        "or a direction X,Y,Z from the surface towards the light (write --light=-1,0,0 when it starts with '-')")
    parser.add_argument("--shading", choices=SHADINGS, default="faithful",
                        help="faithful: the reference's PyTorch3D Phong look (untextured parts white, back faces "
                        "unlit by the light, 4x4 texture atlas per face, clamped UVs); improved: both sides lit, "
                        "untextured parts light grey, full textures repeat-wrapped")


def _light_flag(text: str) -> str:
    """argparse type of ``--light``: a ConfigError becomes argparse's one-line usage error."""
    try:
        return parse_light(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def align_mesh(loaded: LoadedMesh) -> LoadedMesh:
    """The mesh rotated by ``align_modelnet`` (every rendered part and the sampling surface), so
    a ModelNet model stands upright instead of lying on its side."""
    transform = np.eye(4)
    transform[:3, :3] = MODELNET_TO_SHAPENET.T  # row vectors p @ M are column vectors M.T @ p
    for geometry in {id(g): g for g in (*loaded.scene.geometry.values(), loaded.mesh)}.values():
        geometry.apply_transform(transform)
    return loaded


def render_views(mesh_path: Path, *, num_views: int, size: int, camera: str, seed: int,
                 align: str | None = None, light: str = DEFAULT_LIGHT, shading: str = "faithful") -> dict[str, np.ndarray]:
    """Everything ``views.npz`` holds: RGB views and masks, the stored point sample, and the
    faithful depth maps of ``DEPTH_POINTS`` of those points (a seeded subset, as pre-training
    draws them)."""
    loaded = load_mesh(mesh_path)
    if align == "modelnet":
        loaded = align_mesh(loaded)
    preset = get_view_preset(num_views)
    with RGBRenderer(size, camera=camera, light=light, shading=shading) as renderer:
        views = renderer.render(loaded, preset, light_seed=seed)
    points = sample_surface(loaded.mesh, STORED_POINTS, seed=seed)
    subset = np.sort(np.random.default_rng(seed).choice(STORED_POINTS, DEPTH_POINTS, replace=False))
    maps = project_depth(torch.from_numpy(points[subset])[None], *preset.tensors(), size=size)
    return {
        "rgb": views.rgb,
        "mask": views.mask,
        "depth": maps.depth[0].numpy().astype(np.float32),
        "points": points,
        "depth_point_index": subset.astype(np.int64),
        "elev": np.asarray(preset.elev, dtype=np.float32),
        "azim": np.asarray(preset.azim, dtype=np.float32),
        "light": np.asarray(parse_light(light)),
        "shading": np.asarray(shading),
    }


def views_sheet(arrays: dict[str, np.ndarray], title: str) -> Image.Image:
    """Two rows, one column per view: RGB above, depth below (near dark, far light)."""
    depth_tiles = [depth_tile(d) for d in arrays["depth"]]
    labels = [f"e{e:g} a{a:g}" for e, a in zip(arrays["elev"], arrays["azim"])]
    return contact_sheet([list(arrays["rgb"]), depth_tiles], row_labels=[f"{title} rgb", "depth"], col_labels=labels)


def _save_npz(arrays: dict[str, np.ndarray], path: Path) -> Path:
    """Write to a temporary name, then rename: a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)
    return path


def run(args: argparse.Namespace) -> int:
    require("render", "clip2point views", ("pyrender",))
    check_image_size(args.size, "--size")
    arrays = render_views(args.mesh, num_views=args.views, size=args.size, camera=args.camera, seed=args.seed,
                          light=args.light, shading=args.shading, align=args.align)
    args.out.mkdir(parents=True, exist_ok=True)
    npz = _save_npz(arrays, args.out / "views.npz")
    png = save_sheet(views_sheet(arrays, args.mesh.stem), args.out / "views.png")
    print(f"wrote {npz} ({len(arrays['rgb'])} views) and {png}")
    return 0
