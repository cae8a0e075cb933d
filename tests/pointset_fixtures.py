"""Builders of tiny evaluation datasets on disk (ModelNet .off folders, PointNet-style .h5) and
of procedural point clouds of clearly different shapes, shared by the evaluation tests."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

CUBE_V = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64)
CUBE_F = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                   [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
SHAPES = ("sphere", "box", "rod", "disc", "ring")


def off_text(vertices: np.ndarray, faces: np.ndarray, *, fused: bool = False) -> str:
    counts = f"{len(vertices)} {len(faces)} 0"
    header = f"OFF{counts}\n" if fused else f"OFF\n{counts}\n"
    body = "".join(f"{x} {y} {z}\n" for x, y, z in vertices)
    return header + body + "".join(f"{len(f)} {' '.join(map(str, f))}\n" for f in faces)


def write_off(path: Path, vertices: np.ndarray = CUBE_V, faces: np.ndarray = CUBE_F, *, fused: bool = False,
              scale: float | np.ndarray = 1.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(off_text(vertices * scale, faces, fused=fused))
    return path


def make_off_folder(root: Path, classes: tuple[str, ...], per_split: int = 2) -> Path:
    """CLASS/train|test/CLASS_000N.off cubes of growing size; every other file has the fused
    ``OFFn m 0`` header ModelNet ships."""
    for c in classes:
        for split in ("train", "test"):
            for i in range(per_split):
                write_off(root / c / split / f"{c}_{i + 1:04d}.off", fused=i % 2 == 1, scale=1.0 + i)
    return root


def shape_cloud(shape: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points on one procedural surface, randomly stretched by ±15% and turned about y."""
    u, v = rng.random(n), rng.random(n)
    if shape == "sphere":
        z, phi = 2 * u - 1, 2 * np.pi * v
        pts = np.stack([np.sqrt(1 - z**2) * np.cos(phi), z, np.sqrt(1 - z**2) * np.sin(phi)], 1)
    elif shape == "box":
        pts = rng.uniform(-1, 1, (n, 3))
        axis = rng.integers(0, 3, n)
        pts[np.arange(n), axis] = np.sign(pts[np.arange(n), axis])
    elif shape == "rod":
        phi = 2 * np.pi * v
        pts = np.stack([0.1 * np.cos(phi), 2 * u - 1, 0.1 * np.sin(phi)], 1)
    elif shape == "disc":
        r, phi = np.sqrt(u), 2 * np.pi * v
        pts = np.stack([r * np.cos(phi), 0.02 * (rng.random(n) - 0.5), r * np.sin(phi)], 1)
    elif shape == "ring":
        phi, theta = 2 * np.pi * u, 2 * np.pi * v
        pts = np.stack([(1 + 0.25 * np.cos(theta)) * np.cos(phi), 0.25 * np.sin(theta),
                        (1 + 0.25 * np.cos(theta)) * np.sin(phi)], 1)
    else:
        raise ValueError(shape)
    a = rng.uniform(0, 2 * np.pi)
    turn = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    return ((pts * rng.uniform(0.85, 1.15, 3)) @ turn).astype(np.float32)


def shape_clouds(per_class: int, *, n: int = 1024, seed: int = 0,
                 shapes: tuple[str, ...] = SHAPES) -> tuple[np.ndarray, np.ndarray]:
    """[len(shapes)·per_class, n, 3] clouds and their labels (class-major order)."""
    rng = np.random.default_rng(seed)
    clouds = [shape_cloud(s, n, rng) for s in shapes for _ in range(per_class)]
    return np.stack(clouds), np.repeat(np.arange(len(shapes)), per_class)


def make_shape_h5_folder(root: Path, *, train_per_class: int, test_per_class: int, points: int = 1024) -> Path:
    """A modelnet40_ply_hdf5_2048-style folder whose classes are the procedural shapes."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "shape_names.txt").write_text("\n".join(SHAPES) + "\n")
    for split, per_class, seed in (("train", train_per_class, 1), ("test", test_per_class, 2)):
        clouds, labels = shape_clouds(per_class, n=points, seed=seed)
        with h5py.File(root / f"ply_data_{split}0.h5", "w") as fh:
            fh["data"] = clouds
            fh["label"] = labels.astype(np.uint8)[:, None]
    return root
