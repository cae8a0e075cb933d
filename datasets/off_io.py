"""The one OFF reader: an ``.off`` file to vertices and triangles, for the mesh loader
(``mesh_io.load_mesh``, which renders OFF files like any other mesh) and for ModelNet's point
sampling (``modelnet.sample_off``) alike, so both see the same triangles in the same order.

Our own parser rather than trimesh's: it names what is wrong with a file (truncated, a face
pointing past the vertices, a malformed count line) instead of a bare ``ValueError``, and it
fan-splits polygons in file order, which is the order ModelNet's sampled clouds (and their
caches) were made with. Many ModelNet files fuse the magic word and the counts into one line
(``OFF490 518 0``); that, ``#`` comments, blank lines and the ``COFF`` variant (colours after
the coordinates, ignored) are accepted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clip2point.errors import MeshLoadError

MAGIC = ("COFF", "OFF")  # longest first: "COFF" must not be read as "C" + "OFF"


def read_off(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Vertices float64 [V,3] and triangles int64 [F,3] of an OFF file (polygons fan-split
    as (0,1,2), (0,2,3), ... in file order); ``MeshLoadError`` naming the file otherwise."""
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii")
    except (UnicodeDecodeError, OSError) as exc:
        raise MeshLoadError(path, f"cannot read the OFF file ({exc})") from exc
    lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    magic = next((m for m in MAGIC if lines and lines[0].startswith(m)), None)
    if magic is None:
        raise MeshLoadError(path, "not an OFF file (the first line must start with 'OFF')")
    fused = lines[0][len(magic):].strip()
    header, body = (fused, lines[1:]) if fused else (lines[1] if len(lines) > 1 else "", lines[2:])
    counts = header.split()
    if len(counts) < 2 or not all(c.isdigit() for c in counts[:2]):
        raise MeshLoadError(path, f"malformed OFF header {header!r}; expected 'vertices faces edges'")
    nv, nf = int(counts[0]), int(counts[1])
    if len(body) < nv + nf:
        raise MeshLoadError(path, f"truncated: header promises {nv} vertices + {nf} faces, "
                                  f"file has {len(body)} data lines")
    return _parse_vertices(path, body[:nv]), _parse_faces(path, body[nv:nv + nf], nv)


def _parse_vertices(path: Path, rows: list[str]) -> np.ndarray:
    try:
        vertices = np.array([r.split()[:3] for r in rows], dtype=np.float64)
    except ValueError as exc:
        raise MeshLoadError(path, f"malformed vertex line ({exc})") from exc
    if vertices.ndim != 2 or vertices.shape[1] != 3 or not np.isfinite(vertices).all():
        raise MeshLoadError(path, "a vertex line does not hold 3 finite coordinates")
    return vertices


def _parse_faces(path: Path, rows: list[str], num_vertices: int) -> np.ndarray:
    triangles: list[list[int]] = []
    for row in rows:
        tokens = row.split()
        if not tokens or not tokens[0].isdigit() or len(tokens) < 1 + int(tokens[0]) or int(tokens[0]) < 3:
            raise MeshLoadError(path, f"malformed face line {row!r}")
        try:
            ids = [int(t) for t in tokens[1:1 + int(tokens[0])]]
        except ValueError:
            raise MeshLoadError(path, f"malformed face line {row!r}") from None
        triangles.extend([ids[0], ids[i], ids[i + 1]] for i in range(1, len(ids) - 1))
    faces = np.asarray(triangles, dtype=np.int64).reshape(-1, 3)
    if len(faces) == 0:
        raise MeshLoadError(path, "no faces")
    if faces.min() < 0 or faces.max() >= num_vertices:
        bad = int(faces.min()) if faces.min() < 0 else int(faces.max())
        raise MeshLoadError(path, f"a face refers to vertex {bad} of {num_vertices}")
    return faces
