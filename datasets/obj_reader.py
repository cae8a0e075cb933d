"""A faster parse of the common OBJ file into exactly the scene ``trimesh.load`` builds.

Why: trimesh's OBJ reader was the largest CPU item of the generation job outside the RGB stage
(≈ 14 ms of a 23 ms load per real mesh), and the loader parsed the ``v`` records a second time
for the normalisation anchor (SPEC §4; ≈ 3 ms). Most of trimesh's time goes to Python loops
over every face line (a per-line token count to decide whether the faces form one flat array,
a ``^f`` split tried at every character); the numbers themselves are parsed in C.

What: :func:`read_obj` follows ``trimesh.exchange.obj.load_obj`` (trimesh 5.2) step by step and
calls trimesh's own helpers for every decision that shapes the result (material parsing, chunks
per ``usemtl``, the face columns' meaning, the vertex splitting along UV and normal seams of
``unmerge_faces``, names, visuals, the scene graph); only the text scans are done differently
(record blocks joined by one replace, face lines split at line breaks, one scan for the face
section, the per-line token count and the triangulation of mixed polygons in numpy). It also
hands back the ``v`` records as written, so the loader does not parse them again. It mirrors
one trimesh release (``VERIFIED_TRIMESH``, the lock's): under another, it declines every file,
and the tests that compare it with ``trimesh.load`` fail until it is checked again.

Exactness is the contract (the shards' bytes depend on the vertex order, UVs and faces):
anything this reader does not reproduce with certainty returns ``None`` and the caller uses
``trimesh.load``: non-ASCII text, line breaks other than "\n" (``str.splitlines`` and trimesh
would disagree), backslash continuations, ``v`` records other than ``v x y z``, rows of unequal
length, the ``+e``/``-e`` spellings trimesh rewrites. ``tests/test_obj_reader.py`` compares it
with ``trimesh.load`` on every shared real mesh, the synthetic set and crafted files.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import trimesh
from trimesh.exchange import obj as tm_obj
from trimesh.exchange.load import _load_kwargs
from trimesh.visual.material import SimpleMaterial
from trimesh.visual.texture import TextureVisuals, unmerge_faces

# Characters ``str.splitlines`` breaks at besides "\n" (ASCII), and trimesh's line continuation:
# a file with any of them is left to trimesh (see the module docstring).
# Each is looked for with ``in``, a character first (a memchr; one regular expression of
# alternatives scanned 10 ms per file, a two-character ``in`` ~1 ms per MB).
_ODD_CHARACTERS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e")
_ODD_PAIRS = (("\\", "\\\n"), ("\t", "\nv\t"))  # (a character, the text it must start to be odd)
_FACE_LINE = re.compile(r"\nf([^\n]*)")
_RECORDS = {key: re.compile(rf"\n{key} ([^\n]*)") for key in ("v", "vt", "vn")}
# str.split()'s whitespace among ASCII characters, and "/" (trimesh counts "1/2/3" as 3 tokens)
_SEPARATOR = np.zeros(256, dtype=bool)
_SEPARATOR[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32, ord("/")]] = True


VERIFIED_TRIMESH = "5.2."  # the release whose load_obj this module follows (requirements/lock.txt)
_ACTIVE = trimesh.__version__.startswith(VERIFIED_TRIMESH)


def is_plain(decoded: str) -> bool:
    """Whether :func:`read_obj` may read this file text: ASCII, "\n" the only line break, no
    backslash continuation, no tab after a ``v``. For such text ``str.splitlines`` and
    trimesh see the same lines, so ``"\n" + decoded`` (less one final "\n") is the loader's
    canonical text with no ``splitlines`` pass."""
    return decoded.isascii() and not decoded.startswith("v\t") and not any(c in decoded for c in _ODD_CHARACTERS) \
        and not any(c in decoded and odd in decoded for c, odd in _ODD_PAIRS)


def read_obj(path: Path, decoded: str, resolver: trimesh.resolvers.Resolver) -> tuple[trimesh.Scene, np.ndarray] | None:
    """``trimesh.load(path, force="scene", process=False, resolver=resolver)`` and the file's
    ``v`` records (x, y, z as written), from the file's text ``decoded`` (the caller checked
    :func:`is_plain`), or ``None`` when the file is outside what this reader reproduces
    exactly; then the caller must use trimesh. The resolver is asked for nothing before the
    geometry has parsed, so a ``None`` leaves no asset read behind."""
    if not _ACTIVE:
        return None
    text = "\n{}\n".format(decoded.strip())
    vertices = _vertex_arrays(text)
    if vertices is None:
        return None
    face_tuples = tm_obj._group_by(_preprocess_faces(text), True, False, False)
    chunks = []
    while face_tuples:  # load_obj pops: the last material's chunk comes first
        material, current_object, _, chunk = face_tuples.pop()
        chunks.append((material, current_object, _faces(chunk)))
    if not chunks or any(faces is None for _, _, faces in chunks):
        return None  # a point cloud, nothing, or faces trimesh parses its own way
    materials = _materials(text, resolver)
    geometry: dict[str, dict[str, Any]] = {}
    for material, current_object, faces in chunks:
        name = tm_obj.util.unique_name(_chunk_name(material, current_object, materials, resolver, path), geometry)
        geometry[name] = _geometry(*vertices, *faces, materials.get(material) if material is not None else None)
    graph = [{"geometry": k, "frame_to": k} for k in geometry]
    return _load_kwargs(process=False, geometry=geometry, graph=graph), vertices[0]


def _chunk_name(material: str | None, current_object: str | None, materials: dict[str, SimpleMaterial],
                resolver: trimesh.resolvers.Resolver, path: Path) -> str:
    """``load_obj``'s name for a chunk: the material's when there are several, else the last
    ``o`` name, else the resolver's file name, else the path trimesh opened."""
    if len(materials) > 1 and material is not None:
        return str(material)
    if current_object is not None:
        return current_object
    return next(i for i in (getattr(resolver, "file_name", None), str(path.resolve()), "geometry") if i is not None)


def _materials(text: str, resolver: trimesh.resolvers.Resolver) -> dict[str, SimpleMaterial]:
    """``load_obj``'s material step: the first ``mtllib`` line, read through the resolver."""
    position = text.find("mtllib")
    if position < 0:
        return {}
    mtl_path = text[position + 6:text.find("\n", position)].strip()
    try:
        parsed = tm_obj.parse_mtl(resolver[mtl_path], resolver=resolver)
        return {k: SimpleMaterial(**v) for k, v in parsed.items()}
    except Exception:  # noqa: BLE001  (trimesh logs and renders without materials; the ledger has the cause)
        return {}


def _vertex_arrays(text: str) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None] | None:
    """``_parse_vertices`` for files whose rows are regular: v (n, 3), vn (m, 3) or None, vt (p, 2)
    or None (a third texture coordinate dropped as trimesh drops it)."""
    starts = {k: text.find(f"\n{k} ") for k in ("v", "vt", "vn")}
    if starts["v"] < 0:
        return None
    ends = {k: text.find("\n", text.rfind(f"\n{k} ") + 2 + len(k)) for k, s in starts.items() if s >= 0}
    chunk = text[min(s for s in starts.values() if s >= 0):max(ends.values())]
    if "e" in chunk and ("+e" in chunk or "-e" in chunk):
        return None  # trimesh rewrites these to "e" before parsing; float() would not
    arrays: dict[str, np.ndarray] = {}
    for key in ends:
        count, first_row, joined = _rows(chunk, key)
        width = len(first_row.split())
        flat = _numbers(joined, np.float64)
        if flat is None or len(flat) != count * width:
            return None
        arrays[key] = flat.reshape(count, width)
    v, vn, vt = arrays["v"], arrays.get("vn"), arrays.get("vt")
    if v.shape[1] != 3 or (vn is not None and vn.shape[1] != 3) or (vt is not None and vt.shape[1] not in (2, 3)):
        return None
    return v, vn, None if vt is None else vt[:, :2]


_FACE_START = re.compile(r"\n(?:usemtl|o|f|g|s) ")


def _preprocess_faces(text: str) -> list[tuple[str | None, str | None, str | None, str]]:
    """trimesh's ``_preprocess_faces(text)`` (no object or group splits): (material, object,
    group, face text) per ``usemtl`` section. The same code, except that where the face text
    begins is one scan for any of its five keywords, not five scans of the text."""
    found = _FACE_START.search(text)
    f_start = found.start() if found else len(text)
    f_end = text.find("\n", text.rfind("\nf ") + 3)
    f_chunk = text[f_start:f_end] if f_end >= 0 else text[f_start:]
    idx_mtl = np.array([m.start(0) for m in re.finditer("usemtl ", f_chunk)], dtype=int)
    splits = np.unique(np.concatenate(([0, len(f_chunk)], idx_mtl)))
    current_obj = current_mtl = current_group = None
    face_tuples = []
    for start, end in zip(splits[:-1], splits[1:]):
        chunk = f_chunk[start:end].strip() + "\n"
        if chunk.startswith("o "):
            current_obj, chunk = chunk.split("\n", 1)
            current_obj = current_obj[2:].strip()
        elif chunk.startswith("usemtl"):
            current_mtl, chunk = chunk.split("\n", 1)
            current_mtl = current_mtl[6:].strip()
        elif chunk.startswith("g "):
            current_group, chunk = chunk.split("\n", 1)
            current_group = current_group[2:].strip()
        if chunk.startswith("f ") or "\nf" in chunk:
            face_tuples.append((current_mtl, current_obj, current_group, chunk))
    return face_tuples


def _rows(chunk: str, key: str) -> tuple[int, str, str]:
    """How many ``key`` records ``chunk`` holds, the first one's fields, and all their fields
    joined by whitespace: what trimesh's split on "\n{key} " gives. Where the records are one
    block of lines with nothing else between them (the usual file), the block's own text with
    each "\n{key} " replaced: one replace (and the length it lost counts the records), not a
    regular expression and a list."""
    head = f"\n{key} "
    first = chunk.find(head)
    end = chunk.find("\n", chunk.rfind(head) + 1)
    block = chunk[first:end if end >= 0 else len(chunk)]
    joined = block.replace(head, " ")
    if "\n" not in joined:  # every line of the block was a record
        line_end = block.find("\n", 1)
        count = (len(block) - len(joined)) // (len(head) - 1)
        return count, block[len(head):line_end if line_end >= 0 else len(block)], joined
    rows = _RECORDS[key].findall(chunk)
    return len(rows), rows[0], " ".join(rows)


def _faces(chunk: str) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None] | None:
    """One material's faces as ``load_obj`` parses them: vertex, texture and normal indices."""
    joined = _face_text(chunk)
    end = joined.find("\n")
    sample = joined[:end if end >= 0 else len(joined)].strip()
    columns = len(sample.replace("/", " ").split())
    if not columns:
        return None
    block = joined.replace("/", " ")  # whitespace is whitespace to fromstring
    pieces = _tokens_per_line(block)
    if not (pieces == columns).all():  # trimesh's slow path for mixed polygons, or ours where exact
        lines = joined.split("\n")
        mixed = _polygon_faces(lines, pieces)
        return mixed if mixed is not None else tm_obj._parse_faces_fallback([line.strip() for line in lines])
    array = _numbers(block, np.int64)
    if array is None or len(array) != len(pieces) * columns:
        return None
    array[array > 0] -= 1
    return tm_obj._parse_faces_vectorized(array=array, columns=columns, sample_line=sample)


_INDEX = r"[+-]?\d+"
# The reference forms of a face line (v, v/vt, v//vn, v/vt/vn) -> (whole-text pattern, numbers
# per reference, has vt, has vn); a line is indices of one form between whitespace.
_FORMS = tuple(
    (re.compile(rf"[^\S\n]*{ref}(?:[^\S\n]+{ref})*[^\S\n]*(?:\n[^\S\n]*{ref}(?:[^\S\n]+{ref})*[^\S\n]*)*"), *rest)
    for ref, *rest in ((_INDEX, 1, False, False), (f"{_INDEX}/{_INDEX}", 2, True, False),
                       (f"{_INDEX}//{_INDEX}", 2, False, True), (f"{_INDEX}/{_INDEX}/{_INDEX}", 3, True, True)))


def _polygon_faces(lines: list[str], pieces: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None] | None:
    """trimesh's ``_parse_faces_fallback`` (a Python loop over every reference: ~12 us per face)
    for faces of mixed sizes whose references all have one form, in numpy: a triangle stays, a
    quad (a, b, c, d) becomes (a, b, c) and (c, d, a), a larger polygon a fan from its first
    reference, a line of fewer than 3 is skipped; indices from 1 are moved to 0. ``pieces``:
    the numbers on each line. ``None`` for any other text (mixed forms): trimesh reads it."""
    text = "\n".join(lines)
    form = next((f for f in _FORMS if f[0].fullmatch(text)), None)
    numbers = _numbers(text.replace("/", " "), np.int64) if form is not None else None
    if form is None or numbers is None:
        return None
    _, per_ref, has_vt, has_vn = form
    refs = pieces // per_ref
    numbers = numbers.reshape(-1, per_ref)
    triangles = np.where(refs >= 3, refs - 2, 0)
    line = np.repeat(np.arange(len(refs)), triangles)
    k = np.arange(len(line)) - np.repeat(np.cumsum(triangles) - triangles, triangles)
    start = (np.cumsum(refs) - refs)[line]
    corners = np.stack([start, start + k + 1, start + k + 2], axis=1)
    quad = (refs[line] == 4) & (k == 1)
    corners[quad] = np.stack([start[quad] + 2, start[quad] + 3, start[quad]], axis=1)
    chosen = numbers[corners.reshape(-1)]

    def column(index: int) -> np.ndarray:
        out = chosen[:, index].reshape(-1, 3).copy()
        out[out > 0] -= 1
        return out

    if not len(chosen):  # no face at all: trimesh's empty lists are all of equal length
        return column(0), column(0), column(0)
    return column(0), column(1) if has_vt else None, column(per_ref - 1) if has_vn else None


def _face_text(chunk: str) -> str:
    """The text after the "f" of every line that starts with one (trimesh's ``^f`` split),
    joined by "\n". A chunk of nothing but such lines (the usual) is one replace of "\nf",
    no regular expression and no list of lines."""
    text = "\n" + chunk.rstrip("\n")
    joined = text.replace("\nf", "\n")
    if len(text) - len(joined) == text.count("\n"):  # every line began with "f"
        return joined[1:]
    return "\n".join(_FACE_LINE.findall("\n" + chunk))


def _numbers(text: str, dtype: type) -> np.ndarray | None:
    """trimesh's ``np.fromstring(text, sep=" ")``; ``None`` for a token it cannot parse (numpy 2
    raises, numpy 1 warns and stops early: the callers' length checks catch that)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return np.fromstring(text, sep=" ", dtype=dtype)
        except ValueError:
            return None


def _tokens_per_line(block: str) -> np.ndarray:
    """``len(line.split())`` for every line of ``block`` ("/" counts as a space too), in numpy: token
    starts (a non-separator after a separator or at the start) counted between line breaks."""
    data = np.frombuffer(block.encode("ascii"), dtype=np.uint8)
    separator = _SEPARATOR[data]
    starts = ~separator
    starts[1:] &= separator[:-1]
    bounds = np.concatenate(([0], np.flatnonzero(data == 10), [len(data)]))
    return np.diff(np.searchsorted(np.flatnonzero(starts), bounds))


def _geometry(v: np.ndarray, vn: np.ndarray | None, vt: np.ndarray | None, faces: np.ndarray,
              faces_tex: np.ndarray | None, faces_norm: np.ndarray | None,
              material_object: SimpleMaterial | None) -> dict[str, Any]:
    """The keyword arguments ``load_obj`` gives ``Trimesh`` for one chunk (process=False,
    ``maintain_order`` off, no vertex colours: the reader refuses ``v`` rows with colours)."""
    mesh: dict[str, Any] = {"file_type": "obj", "process": False}
    mask_vn = None
    if faces_tex is not None:
        if faces_norm is not None and len(faces_norm) == len(faces):
            new_faces, mask_v, mask_vt, mask_vn = unmerge_faces(faces, faces_tex, faces_norm, maintain_faces=False)
        else:
            new_faces, mask_v, mask_vt = unmerge_faces(faces, faces_tex, maintain_faces=False)
        try:
            uv = vt[mask_vt]
        except (TypeError, IndexError):
            uv = None
        mesh.update({"vertices": v[mask_v].copy(), "faces": new_faces})
    else:
        uv = None
        if vn is not None and np.shape(faces_norm) == faces.shape:
            new_faces, mask_v, mask_vn = unmerge_faces(faces, faces_norm, maintain_faces=False)
        else:
            mask_v = np.zeros(len(v), dtype=bool)
            mask_v[faces] = True
            inverse = np.zeros(len(v), dtype=np.int64)
            inverse[mask_v] = np.arange(mask_v.sum())
            new_faces = inverse[faces]
        mesh.update({"faces": new_faces, "vertices": v[mask_v].copy()})
    if mask_vn is not None:
        try:
            normals = vn[mask_vn]
            if normals.shape == mesh["vertices"].shape:
                mesh["vertex_normals"] = normals
        except (TypeError, IndexError):
            pass
    visual = None
    if material_object is not None:
        visual = TextureVisuals(uv=uv, material=material_object)
    elif uv is not None and len(uv) == len(mesh["vertices"]):
        visual = TextureVisuals(uv=uv)
    mesh["visual"] = visual
    return mesh

