"""One OFF reader (``datasets.off_io.read_off``) serves the mesh loader and ModelNet's sampling:
both see the same triangles, in the same order, from the files ModelNet ships (comments, the
``OFF490 518 0`` header glued to its counts, quads and larger polygons)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clip2point.datasets import off_io
from clip2point.datasets.mesh_io import load_mesh
from clip2point.datasets.modelnet import sample_off

# A unit square (a quad) and a triangle above it, written as ModelNet writes some files: the magic
# word glued to the counts, comments, blank lines, a trailing edge count and a polygon listed
# before a triangle (trimesh's reader would put the triangle first).
HAND_WRITTEN = """OFF5 3 0
# a comment line
0 0 0
1 0 0   # a trailing comment
1 1 0

0 1 0
0.5 0.5 1
4 0 1 2 3
3 0 1 4
5 0 1 2 4 3
"""
VERTICES = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0.5, 0.5, 1]]
FACES = [[0, 1, 2], [0, 2, 3],  # the quad, fan-split in place
         [0, 1, 4],
         [0, 1, 2], [0, 2, 4], [0, 4, 3]]  # the pentagon


@pytest.fixture
def hand_written(tmp_path: Path) -> Path:
    path = tmp_path / "hand.off"
    path.write_text(HAND_WRITTEN, encoding="ascii")
    return path


def test_hand_written_off_reads_correctly(hand_written: Path) -> None:
    vertices, faces = off_io.read_off(hand_written)
    assert vertices.dtype == np.float64 and faces.dtype == np.int64
    np.testing.assert_array_equal(vertices, VERTICES)
    np.testing.assert_array_equal(faces, FACES)


def test_coff_colours_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "colour.off"
    path.write_text("COFF\n3 1 0\n0 0 0 255 0 0 255\n1 0 0 0 255 0 255\n0 1 0 0 0 255 255\n3 0 1 2 9 9 9\n")
    vertices, faces = off_io.read_off(path)
    np.testing.assert_array_equal(vertices, [[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(faces, [[0, 1, 2]])


def test_both_callers_go_through_the_one_reader(hand_written: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    real = off_io.read_off

    def spy(path: Path) -> tuple[np.ndarray, np.ndarray]:
        calls.append(Path(path))
        return real(path)

    monkeypatch.setattr(off_io, "read_off", spy)
    loaded = load_mesh(hand_written)
    points = sample_off(hand_written, 64, seed=0, sampler="trimesh")
    assert calls == [hand_written, hand_written]
    assert points.shape == (64, 3)
    # the loader keeps the reader's triangles in the reader's order (it only normalises vertices)
    np.testing.assert_array_equal(loaded.mesh.faces, FACES)
    assert loaded.num_faces == len(FACES)
