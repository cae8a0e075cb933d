"""Mesh loading: one file (OBJ with materials and textures, OFF, PLY, STL, GLB/glTF) to a
normalised, validated scene ready to render and to sample.

Normalisation follows SPEC §4: centre on the mean of the OBJ's ``v`` records *as written in
the file* (trimesh splits vertices along UV and normal seams, which moves the mean) and scale
so the farthest vertex sits at distance 1. Every way a file can be unusable becomes a
``MeshLoadError`` naming the file and the problem; a missing texture only becomes a warning,
because ShapeNet ships materials that point at images it does not contain.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from clip2point.errors import ConfigError, MeshLoadError
from clip2point.render.obj_materials import has_material_library, texture_warnings

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".obj", ".off", ".ply", ".stl", ".glb", ".gltf")

# What trimesh's format readers raise on malformed input (it has no exception hierarchy of its
# own); anything else is a bug and must surface.
_READER_ERRORS = (ValueError, IndexError, KeyError, TypeError, UnicodeDecodeError, OSError,
                  EOFError, struct.error, NotImplementedError)

_MIN_AREA = 1e-10  # surface area of the normalised mesh below which nothing can be rendered


@dataclass(frozen=True)
class LoadedMesh:
    """A normalised mesh: ``scene`` keeps materials and textures for rendering, ``mesh`` is
    the same surface as one plain triangle soup for sampling. Both share coordinates."""

    path: Path
    scene: trimesh.Scene
    mesh: trimesh.Trimesh
    num_faces: int
    warnings: tuple[str, ...] = ()


def load_mesh(path: str | Path, *, max_faces: int | None = None) -> LoadedMesh:
    """Load, validate and normalise one mesh file; raises ``MeshLoadError`` if it is unusable.

    ``max_faces`` (triangles) rejects oversized files so a job can bound memory and time; an
    OBJ is checked from its ``f`` records before trimesh parses it.
    """
    if max_faces is not None and max_faces < 1:
        raise ConfigError(f"max_faces must be a positive integer or None; got {max_faces}")
    path = Path(path)
    _check_file(path)
    lines = _obj_lines(path) if path.suffix.lower() == ".obj" else None
    records = _vertex_records(path, lines) if lines is not None else None
    if lines is not None:
        _check_face_budget(path, _obj_triangle_count(lines), max_faces)
    parts = _triangle_parts(path, _read_scene(path))
    warnings = texture_warnings(path, lines, parts) if lines is not None else []
    if lines is not None and not has_material_library(path, lines):
        _drop_visuals(parts)
    num_faces = sum(len(p.faces) for p in parts)
    _check_face_budget(path, num_faces, max_faces)
    for part in parts:
        _check_finite(path, part.vertices, "vertices")
    anchor = records if records is not None else np.concatenate([p.vertices for p in parts])
    transform = _normalising_transform(path, anchor)
    for part in parts:
        part.apply_transform(transform)
    mesh = _triangle_soup(parts)
    if not mesh.area > _MIN_AREA:
        raise MeshLoadError(path, f"zero surface area (all {num_faces} faces are degenerate)")
    for message in warnings:
        log.warning("%s: %s", path, message)
    return LoadedMesh(path, _scene_of(parts), mesh, num_faces, tuple(warnings))


def obj_vertex_records(path: str | Path) -> np.ndarray:
    """The ``v`` records of an OBJ file exactly as written (x y z; optional colours dropped)."""
    path = Path(path)
    return _vertex_records(path, _obj_lines(path))


def _vertex_records(path: Path, lines: list[str]) -> np.ndarray:
    rows = [line.split()[1:4] for line in lines if line.startswith(("v ", "v\t"))]
    if not rows:
        raise MeshLoadError(path, "no vertex ('v') records in the OBJ file")
    try:
        records = np.asarray(rows, dtype=np.float64)
    except ValueError as exc:
        raise MeshLoadError(path, f"malformed vertex ('v') record: {exc}") from exc
    if records.ndim != 2 or records.shape[1] != 3:
        raise MeshLoadError(path, "a vertex ('v') record has fewer than 3 coordinates")
    _check_finite(path, records, "vertex ('v') records")
    return records


def _drop_visuals(parts: list[trimesh.Trimesh]) -> None:
    for part in parts:
        part.visual = trimesh.visual.ColorVisuals(mesh=part)


def _obj_triangle_count(lines: list[str]) -> int:
    """Triangles the ``f`` records make once polygons are fanned (n vertices -> n - 2)."""
    return sum(max(len(line.split()) - 3, 0) for line in lines if line.startswith(("f ", "f\t")))


def _check_face_budget(path: Path, num_faces: int, max_faces: int | None) -> None:
    if max_faces is not None and num_faces > max_faces:
        raise MeshLoadError(path, f"{num_faces} faces is more than max_faces={max_faces}")


def _obj_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise MeshLoadError(path, f"not a text OBJ file ({exc.reason} at byte {exc.start})") from exc


def _check_file(path: Path) -> None:
    if not path.exists():
        raise MeshLoadError(path, "file does not exist")
    if not path.is_file():
        raise MeshLoadError(path, "not a regular file")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise MeshLoadError(path, f"unsupported format {path.suffix!r}; use one of {', '.join(SUPPORTED_SUFFIXES)}")
    if path.stat().st_size == 0:
        raise MeshLoadError(path, "file is empty")


def _read_scene(path: Path) -> trimesh.Scene:
    # ShapeNet keeps textures in ../images/, outside the folder trimesh's resolver allows
    resolver = trimesh.resolvers.FilePathResolver(str(path), allow_anywhere=True)
    try:
        loaded = trimesh.load(path, force="scene", process=False, resolver=resolver)
    except _READER_ERRORS as exc:
        raise MeshLoadError(path, f"cannot parse the file ({type(exc).__name__}: {exc})") from exc
    if not isinstance(loaded, trimesh.Scene):
        raise MeshLoadError(path, f"trimesh returned a {type(loaded).__name__}, not a scene")
    return loaded


def _triangle_parts(path: Path, scene: trimesh.Scene) -> list[trimesh.Trimesh]:
    """Every triangle geometry of the scene with its node transform baked in (GLB/glTF graphs),
    so the rest of the pipeline sees one flat list in world coordinates."""
    parts = [g for g in scene.dump(concatenate=False) if isinstance(g, trimesh.Trimesh) and len(g.faces)]
    if not parts:
        raise MeshLoadError(path, "no faces (the file holds no triangle or polygon geometry)")
    return parts


def _check_finite(path: Path, values: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise MeshLoadError(path, f"{int(bad.sum())} {what} are NaN or infinite (first at index {int(np.argmax(bad))})")


def _normalising_transform(path: Path, anchor: np.ndarray) -> np.ndarray:
    """4x4 map x -> (x - mean(anchor)) / max|anchor - mean| (SPEC §4)."""
    centre = anchor.mean(axis=0)
    radius = float(np.linalg.norm(anchor - centre, axis=1).max())
    if not radius > 0.0:
        raise MeshLoadError(path, "zero surface area (all vertices coincide)")
    transform = np.eye(4)
    transform[:3, :3] /= radius
    transform[:3, 3] = -centre / radius
    return transform


def _triangle_soup(parts: list[trimesh.Trimesh]) -> trimesh.Trimesh:
    """All parts as one untextured mesh (vertices not merged: sampling only needs triangles)."""
    offsets = np.cumsum([0] + [len(p.vertices) for p in parts[:-1]])
    vertices = np.concatenate([p.vertices for p in parts])
    faces = np.concatenate([p.faces + off for p, off in zip(parts, offsets)])
    return trimesh.Trimesh(vertices=vertices, faces=faces, process=False)


def _scene_of(parts: list[trimesh.Trimesh]) -> trimesh.Scene:
    scene = trimesh.Scene()
    for i, part in enumerate(parts):
        scene.add_geometry(part, geom_name=part.metadata.get("name", f"part{i}"))
    return scene
