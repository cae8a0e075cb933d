"""Mesh loading: one file (OBJ with materials and textures, OFF, PLY, STL, GLB/glTF) to a
normalised, validated scene ready to render and to sample.

Normalisation follows SPEC §4: centre on the mean of the OBJ's ``v`` records *as written in
the file* (trimesh splits vertices along UV and normal seams, which moves the mean) and scale
so the farthest vertex sits at distance 1. Every way a file can be unusable becomes a
``MeshLoadError`` naming the file and the problem; a missing texture only becomes a warning,
because ShapeNet ships materials that point at images it does not contain.

Assets a file names (material libraries, textures, glTF buffers and images) are untrusted input:
they are read only through :mod:`clip2point.datasets.asset_guard` (inside the object's folder,
within a byte and pixel budget), and what happened to them is the object's ``texture_status``.
"""

from __future__ import annotations

import logging
import re
import struct
from collections import Counter
from itertools import chain
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import trimesh
from PIL import Image

from clip2point.datasets.asset_guard import (
    DEFAULT_BUDGET, AssetBudget, AssetLedger, AssetRefused, ConfinedResolver, check_texture, gltf_image_count,
    pil_limits_off,
)
from clip2point.datasets import off_io
from clip2point.datasets.obj_materials import has_material_library
from clip2point.datasets.obj_reader import is_plain, read_obj
from clip2point.datasets.shapenet import MESH_RELPATH
from clip2point.errors import ConfigError, MeshLoadError

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".obj", ".off", ".ply", ".stl", ".glb", ".gltf")

# What trimesh's format readers raise on malformed input (it has no exception hierarchy of its
# own; its glTF reader validates with ``assert``, and a hostile file can drive it into attribute
# lookups on missing parts, arithmetic errors or unbounded recursion); anything else is a bug
# and must surface.
_READER_ERRORS = (ValueError, IndexError, KeyError, TypeError, UnicodeDecodeError, OSError,
                  EOFError, struct.error, NotImplementedError, AssertionError, AttributeError,
                  ArithmeticError, RecursionError)

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
    texture_status: str = "untextured_by_source"  # one of datasets.shards.file_format.TEXTURE_STATUSES
    texture_detail: str = ""  # the files behind a lost texture, and why


_WARNED: set[tuple[str, str]] = set()  # (file, message) pairs this process has already logged


def _warn_once(path: Path, messages: Sequence[str]) -> None:
    """Log each (file, message) once per process: a mesh is loaded again by every stage that
    needs it (a benchmark's repeats, a retry), and the same missing material library logged
    four times per object buried everything else. ``LoadedMesh.warnings`` still has them all."""
    for message in messages:
        key = (str(path.resolve()), message)
        if key in _WARNED:
            log.debug("%s: %s", path, message)
            continue
        _WARNED.add(key)
        log.warning("%s: %s", path, message)


def load_mesh(path: str | Path, *, max_faces: int | None = None, asset_root: str | Path | None = None,
              budget: AssetBudget = DEFAULT_BUDGET) -> LoadedMesh:
    """Load, validate and normalise one mesh file; raises ``MeshLoadError`` if it is unusable.

    ``max_faces`` (triangles) rejects oversized files so a job can bound memory and time; an
    OBJ is checked from its ``f`` records before trimesh parses it. ``asset_root`` is the folder
    its textures and libraries must lie in (default: ``default_asset_root``); ``budget`` bounds
    file bytes and texture pixels. A lost texture never fails the object: see ``texture_status``.
    """
    if max_faces is not None and max_faces < 1:
        raise ConfigError(f"max_faces must be a positive integer or None; got {max_faces}")
    path = Path(path)
    _check_file(path, budget)
    decoded = _obj_source(path) if path.suffix.lower() == ".obj" else None
    plain = decoded is not None and is_plain(decoded)
    text = _canonical_text(decoded, plain) if decoded is not None else None
    if text is not None and max_faces is not None:  # no budget, nothing to check before parsing
        _check_face_budget(path, _obj_triangle_count(text), max_faces)
    root = Path(asset_root) if asset_root is not None else default_asset_root(path)
    fast = _read_plain_obj(path, decoded, root, budget) if plain else None
    if fast is not None:
        scene, records, ledger = fast
        _check_finite(path, records, "vertex ('v') records")
    else:
        records = _vertex_records(path, text) if text is not None else None
        ledger = AssetLedger()
        scene = _read_scene(path, root, budget, ledger)
    parts = _triangle_parts(path, scene, budget, ledger)
    if text is not None and not has_material_library(text, ledger.served):
        _drop_visuals(parts)
    has_texture = any(_texture_images(p) for p in parts)
    declared = 0 if has_texture or ledger.problems else gltf_image_count(path, budget)
    if declared:
        ledger.record("undecodable", f"the {declared} images {path.name} declares could not be read as images")
    texture_status, texture_detail = ledger.verdict(has_texture)
    warnings = [f"{status}: {detail}; rendering untextured there" for status, detail in ledger.problems]
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
    _warn_once(path, warnings)
    return LoadedMesh(path, _scene_of(parts), mesh, num_faces, tuple(warnings), texture_status, texture_detail)


def default_asset_root(path: Path) -> Path:
    """The mesh's own folder, except in ShapeNetCore v2's layout
    (``SYNSET/MODEL_ID/models/model_normalized.obj``), whose textures sit in ``images/`` beside
    ``models/``: there the model's folder, so a ShapeNet mesh opened on its own keeps them."""
    if path.name == MESH_RELPATH.name and path.parent.name == MESH_RELPATH.parent.name:
        return path.parent.parent
    return path.parent


def obj_vertex_records(path: str | Path) -> np.ndarray:
    """The ``v`` records of an OBJ file exactly as written (x y z; optional colours dropped)."""
    path = Path(path)
    return _vertex_records(path, _obj_text(path))


def _read_plain_obj(path: Path, decoded: str, root: Path, budget: AssetBudget
                    ) -> tuple[trimesh.Scene, np.ndarray, AssetLedger] | None:
    """The scene and ``v`` records of :func:`clip2point.datasets.obj_reader.read_obj` (the scene
    ``trimesh.load`` gives, faster), with the ledger of its asset reads; ``None`` sends the file
    to trimesh. A parse error does too, with a fresh ledger there: trimesh then fails the object
    in its own words, as it did before this reader existed."""
    ledger = AssetLedger()
    try:
        with pil_limits_off():
            read = read_obj(path, decoded, ConfinedResolver(path, root, budget, ledger))
    except _READER_ERRORS:
        return None
    return None if read is None else (*read, ledger)


# Over ``_obj_text``'s canonical text, where every line starts after a "\n" (the only line
# break): ``[^\S\n]`` is the whitespace ``str.split`` splits on, minus the line break (both use
# Python's isspace). Patterns open with the literal "\n", which ``re`` finds by a fast scan for
# it; a ``^`` anchor is tried at every character and made these scans 2.5x slower.
_V_RECORD = re.compile(r"\nv[ \t]")
_V_COORDS = re.compile(r"\nv[ \t][^\S\n]*(\S+)[^\S\n]+(\S+)[^\S\n]+(\S+)")
_F_RECORD = re.compile(r"\nf[ \t][^\n]*")
_TOKEN = re.compile(r"\S+")


def _vertex_records(path: Path, text: str) -> np.ndarray:
    """The first three fields of every ``v`` line, parsed with ``float`` into a flat buffer.
    Found by regular expressions over the whole text, not line by line in Python: the
    per-line loop cost ~3 ms per real mesh, an eighth of its load (benchmarks/RESULTS.md)."""
    count = len(_V_RECORD.findall(text))
    if not count:
        raise MeshLoadError(path, "no vertex ('v') records in the OBJ file")
    rows = _V_COORDS.findall(text)
    if len(rows) != count:
        raise MeshLoadError(path, "a vertex ('v') record has fewer than 3 coordinates")
    try:
        flat = np.fromiter(map(float, chain.from_iterable(rows)), dtype=np.float64, count=3 * len(rows))
    except ValueError as exc:
        raise MeshLoadError(path, f"malformed vertex ('v') record: {exc}") from exc
    records = flat.reshape(-1, 3)
    _check_finite(path, records, "vertex ('v') records")
    return records


def _drop_visuals(parts: list[trimesh.Trimesh]) -> None:
    for part in parts:
        part.visual = trimesh.visual.ColorVisuals(mesh=part)


def _obj_triangle_count(text: str) -> int:
    """Triangles the ``f`` records make once polygons are fanned (n vertices -> n - 2)."""
    return sum(max(len(_TOKEN.findall(line)) - 3, 0) for line in _F_RECORD.findall(text))  # "\n" is no token


def _check_face_budget(path: Path, num_faces: int, max_faces: int | None) -> None:
    if max_faces is not None and num_faces > max_faces:
        raise MeshLoadError(path, f"{num_faces} faces is more than max_faces={max_faces}")


def _obj_text(path: Path) -> str:
    """The file's lines, each after a "\n" and with no other line break: ``splitlines`` breaks
    lines at "\r", form feeds and other separators too, and the regular expressions above see
    exactly those lines."""
    decoded = _obj_source(path)
    return _canonical_text(decoded, is_plain(decoded))


def _obj_source(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MeshLoadError(path, f"not a text OBJ file ({exc.reason} at byte {exc.start})") from exc


def _canonical_text(decoded: str, plain: bool) -> str:
    """``_obj_text`` of a decoded file. Plain text (``is_plain``: "\n" its only line break) is
    already split as ``splitlines`` would split it, which drops one final "\n": no pass needed."""
    if plain:
        return "\n" + (decoded[:-1] if decoded.endswith("\n") else decoded)
    return "\n" + "\n".join(decoded.splitlines())


def _check_file(path: Path, budget: AssetBudget) -> None:
    if not path.exists():
        raise MeshLoadError(path, "file does not exist")
    if not path.is_file():
        raise MeshLoadError(path, "not a regular file")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise MeshLoadError(path, f"unsupported format {path.suffix!r}; use one of {', '.join(SUPPORTED_SUFFIXES)}")
    size = path.stat().st_size
    if size == 0:
        raise MeshLoadError(path, "file is empty")
    if size > budget.max_file_bytes:
        raise MeshLoadError(path, f"over_budget: {size} bytes is more than the {budget.max_file_bytes}-byte "
                                  "budget (--max-file-bytes)")


def _read_scene(path: Path, root: Path | None = None, budget: AssetBudget = DEFAULT_BUDGET,
                ledger: AssetLedger | None = None) -> trimesh.Scene:
    """trimesh's parse with every asset read through a ``ConfinedResolver`` (inside ``root``,
    default ``default_asset_root``). A refused asset trimesh cannot do without (a glTF buffer: the
    geometry itself) fails the object, saying so."""
    if path.suffix.lower() == ".off":  # no assets; the reader ModelNet's sampling uses too
        return trimesh.Scene({path.name: trimesh.Trimesh(*off_io.read_off(path), process=False)})
    ledger = AssetLedger() if ledger is None else ledger
    resolver = ConfinedResolver(path, default_asset_root(path) if root is None else root, budget, ledger)
    try:
        with pil_limits_off():
            loaded = trimesh.load(path, force="scene", process=False, resolver=resolver)
    except AssetRefused as exc:
        status = next(s for s, d in ledger.problems if d == str(exc))
        raise MeshLoadError(path, f"{status}: {exc} (a buffer the geometry needs)") from exc
    except _READER_ERRORS as exc:
        raise MeshLoadError(path, f"cannot parse the file ({type(exc).__name__}: {exc})") from exc
    if not isinstance(loaded, trimesh.Scene):
        raise MeshLoadError(path, f"trimesh returned a {type(loaded).__name__}, not a scene")
    return loaded


def _triangle_parts(path: Path, scene: trimesh.Scene, budget: AssetBudget = DEFAULT_BUDGET,
                    ledger: AssetLedger | None = None) -> list[trimesh.Trimesh]:
    """Every triangle geometry of the scene with its node transform baked in (GLB/glTF graphs),
    so the rest of the pipeline sees one flat list in world coordinates.

    What ``Scene.dump`` returns, without its deep copy of every visual: the scene was just loaded
    and is dropped afterwards, so a geometry one node uses hands its visual over; only geometry
    several nodes instance is copied whole. The deep copy pickled each texture through ``PIL``,
    a second decoded image per texture that cost ~10 ms per textured object."""
    nodes = [(node, *scene.graph[node]) for node in scene.graph.nodes_geometry]
    uses = Counter(name for _, _, name in nodes)
    parts = []
    for node, transform, name in nodes:
        geometry = scene.geometry[name]
        if not isinstance(geometry, trimesh.Trimesh) or not len(geometry.faces):
            continue
        part = geometry.copy() if uses[name] > 1 else _handed_over(geometry)
        part.apply_transform(transform)
        part.metadata.update(name=name, node=node)
        parts.append(part)
    if not parts:
        raise MeshLoadError(path, "no faces (the file holds no triangle or polygon geometry)")
    _decode_textures(parts, budget, AssetLedger() if ledger is None else ledger)
    return parts


def _handed_over(geometry: trimesh.Trimesh) -> trimesh.Trimesh:
    """``geometry.copy()`` that takes the visual and attributes instead of deep-copying them. Like
    ``copy`` it starts with an empty cache, so vertex normals are recomputed from the faces
    exactly as ``Scene.dump`` gave them (an OBJ's own ``vn`` records do not survive either)."""
    part = geometry.copy(include_visual=False)
    part.visual = geometry.visual
    part.vertex_attributes.update(geometry.vertex_attributes)
    part.face_attributes.update(geometry.face_attributes)
    return part


_IMAGE_SLOTS = ("image", "baseColorTexture")  # SimpleMaterial (OBJ), PBRMaterial (glTF)


def _texture_images(part: trimesh.Trimesh) -> list[Image.Image]:
    material = getattr(part.visual, "material", None)
    images = (getattr(material, slot, None) for slot in _IMAGE_SLOTS)
    return [image for image in images if isinstance(image, Image.Image)]


def _decode_textures(parts: list[trimesh.Trimesh], budget: AssetBudget, ledger: AssetLedger) -> None:
    """Decode texture images now: ``PIL`` decodes lazily, which would bill the decode (and a
    broken texture's error) to whoever first touches the pixels, the RGB stage. An image over
    the pixel budget is dropped from its header, before any pixel is decoded; a broken one is
    dropped too: the part renders untextured and the ledger says why."""
    for part in parts:
        material = getattr(part.visual, "material", None)
        for slot in _IMAGE_SLOTS:
            image = getattr(material, slot, None)
            what = f"texture {image.info.get('file_path', slot) if isinstance(image, Image.Image) else ''} " \
                   f"of part {part.metadata.get('name')}"
            if isinstance(image, Image.Image) and not check_texture(image, what, budget, ledger):
                setattr(material, slot, None)  # the material's colour still applies, as for a missing file


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
