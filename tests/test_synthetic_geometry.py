"""Building blocks of the synthetic set checked against closed-form geometry, plus the
texture images' determinism."""

from __future__ import annotations

import io

import numpy as np
import pytest
import trimesh
from PIL import Image

from clip2point.datasets.synthetic.geometry import _triangulate, arc, extrude, lathe, place, planar_uv, tube
from clip2point.datasets.synthetic.materials import PATTERNS, Texture, png_bytes, save_texture, texture_image
from clip2point.datasets.synthetic.primitives import (
    ball,
    box,
    compose,
    rod,
    rotation,
    signed_volume,
    subdivide,
    transformed,
)

L_SHAPE = np.array([(0, 0), (3, 0), (3, 1), (1, 1), (1, 2), (0, 2)], dtype=float)  # area 4, non-convex


def _shoelace(poly: np.ndarray) -> float:
    return 0.5 * float(np.sum(poly[:, 0] * np.roll(poly[:, 1], -1) - np.roll(poly[:, 0], -1) * poly[:, 1]))


def _ngon_area(n: int, r: float) -> float:
    return 0.5 * n * r * r * np.sin(2 * np.pi / n)


def test_ear_clipping_covers_a_non_convex_polygon_exactly() -> None:
    tris = _triangulate(L_SHAPE)
    assert tris.shape == (len(L_SHAPE) - 2, 3)
    areas = [_shoelace(L_SHAPE[t]) for t in tris]
    assert min(areas) > 0  # every triangle counter-clockwise, none degenerate
    assert sum(areas) == pytest.approx(_shoelace(L_SHAPE))


def test_ear_clipping_rejects_a_self_intersecting_outline() -> None:
    bow_tie = np.array([(0, 0), (2, 2), (2, 0), (0, 2)], dtype=float)
    with pytest.raises(ValueError, match="polygon is not simple"):
        _triangulate(bow_tie)


@pytest.mark.parametrize("axes", ["xyz", "zyx", "xzy", "yxz"])
@pytest.mark.parametrize("clockwise", [False, True])
def test_extrude_is_a_closed_outward_prism(axes: str, clockwise: bool) -> None:
    outline = L_SHAPE[::-1] if clockwise else L_SHAPE
    mesh = extrude(outline, 0.5, axes=axes, offset=2.0)
    assert mesh.is_watertight
    assert mesh.volume == pytest.approx(4 * 0.5)  # positive: normals point outwards
    depth_axis = "xyz".index(axes[2])
    assert mesh.bounds[:, depth_axis] == pytest.approx([1.75, 2.25])


def test_place_permutes_axes_and_keeps_orientation() -> None:
    mesh = extrude(L_SHAPE, 1.0)
    moved = place(mesh, "zxy")
    np.testing.assert_allclose(moved.vertices[:, [2, 0, 1]], mesh.vertices)
    assert moved.volume == pytest.approx(mesh.volume)
    with pytest.raises(ValueError, match="permutation of 'xyz'"):
        place(mesh, "xxy")


def test_lathe_of_a_closed_profile_is_a_cylinder_with_unit_uvs() -> None:
    mesh, uv = lathe([(0.0, 0.0), (1.0, 0.0), (1.0, 2.0), (0.0, 2.0)], sections=64)
    assert mesh.volume == pytest.approx(np.pi * 2.0, rel=2e-3)  # inscribed 64-gon
    assert len(uv) == len(mesh.vertices)
    assert uv.min() == 0.0 and uv.max() == 1.0
    np.testing.assert_allclose(mesh.bounds, [[-1, 0, -1], [1, 2, 1]], atol=1e-9)
    assert not (mesh.area_faces <= 1e-12).any()  # pole triangles dropped


def test_open_lathe_is_a_single_sided_shell() -> None:
    mesh, _ = lathe([(1.0, 0.0), (0.5, 1.0)], sections=32)
    assert not mesh.is_watertight
    slant = np.hypot(0.5, 1.0)
    assert mesh.area == pytest.approx(np.pi * (1.0 + 0.5) * slant, rel=5e-3)  # frustum side


def test_partial_lathe_faces_minus_z_and_spans_its_turn() -> None:
    mesh, uv = lathe([(1.0, 0.0), (1.0, 1.0)], sections=16, turn=(45.0, 135.0))
    assert mesh.vertices[:, 2].max() <= -np.sqrt(0.5) + 1e-9  # only the front quarter
    np.testing.assert_allclose(mesh.vertices[:, 2].min(), -1.0)
    assert uv[:, 0].min() == 0.0 and uv[:, 0].max() == 1.0
    assert mesh.area == pytest.approx(np.pi / 2, rel=2e-3)


def test_lathe_rejects_a_bad_profile() -> None:
    with pytest.raises(ValueError, match=r"lathe profile must be \[N>=2, 2\]"):
        lathe([(1.0, 0.0)])


def test_straight_tube_is_a_closed_cylinder() -> None:
    mesh = tube([(0, 0, 0), (0, 0, 1), (0, 0, 3)], 0.5, sections=48)
    assert mesh.is_watertight
    assert mesh.volume == pytest.approx(_ngon_area(48, 0.5) * 3.0)


def test_bent_tube_follows_its_arc() -> None:
    path = arc((0, 0, 0), 1.0, 0.0, 180.0, plane="xy", steps=40)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 1.0)
    mesh = tube(path, 0.05, sections=12)
    radial = np.linalg.norm(mesh.vertices[:, :2], axis=1)
    assert radial.min() > 0.94 and radial.max() < 1.06
    # Pappus: section area times the length of the centre line (a 40-point polyline of the arc)
    centre_line = np.linalg.norm(np.diff(path, axis=0), axis=1).sum()
    assert mesh.volume == pytest.approx(_ngon_area(12, 0.05) * centre_line, rel=5e-3)


def test_planar_uv_splits_corners_and_stays_in_the_unit_square() -> None:
    mesh = extrude(L_SHAPE, 1.0)
    split, uv = planar_uv(mesh)
    assert len(split.vertices) == 3 * len(mesh.faces) == len(uv)
    assert uv.min() >= 0.0 and uv.max() <= 1.0
    assert split.area == pytest.approx(mesh.area)
    top = np.flatnonzero(mesh.face_normals[:, 2] > 0.99)
    # faces looking along z are projected onto x, y: u tracks x / 3, v tracks y / 2
    corners = split.vertices[split.faces[top]].reshape(-1, 3)
    np.testing.assert_allclose(uv[split.faces[top].ravel()], corners[:, :2] / [3.0, 2.0])


@pytest.mark.parametrize("pattern", PATTERNS)
def test_textures_are_deterministic_and_two_toned(pattern: str) -> None:
    tex = Texture(pattern, (0.9, 0.1, 0.1), (0.1, 0.1, 0.9), seed=7)
    blobs = []
    for _ in range(2):
        buf = io.BytesIO()
        save_texture(tex, buf)
        blobs.append(buf.getvalue())
    assert blobs[0] == blobs[1]
    pixels = np.asarray(texture_image(tex), dtype=np.float64)
    assert pixels.shape == (128, 128, 3)
    # every pixel is a mix (1-w)*base + w*accent: R + B = 255 and G = 25.5 up to rounding
    assert np.abs(pixels[..., 0] + pixels[..., 2] - 255.0).max() <= 1.0
    assert np.abs(pixels[..., 1] - 25.5).max() <= 0.5
    assert pixels[..., 0].std() > 10.0  # a pattern, not a flat colour
    other = np.asarray(texture_image(Texture(pattern, (0.9, 0.1, 0.1), (0.1, 0.1, 0.9), seed=8)))
    if pattern in ("wood", "fabric"):
        assert not np.array_equal(pixels, other)  # the seed matters where the pattern is random


def test_texture_spec_validation() -> None:
    with pytest.raises(ValueError, match=r"unknown texture pattern 'marble'"):
        Texture("marble", (1, 1, 1), (0, 0, 0))


@pytest.mark.parametrize("shape", [(128, 128), (3, 70_000), (1, 1)])
def test_our_png_decodes_to_exactly_its_pixels(shape: tuple[int, int]) -> None:
    """The stored-block PNG writer: any decoder gets the very pixels back, also when the image
    needs several deflate blocks (3 rows of 70,000 pixels: 630 kB)."""
    rgb = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    data = png_bytes(rgb)
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        assert img.format == "PNG" and img.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(img), rgb)
    assert png_bytes(rgb) == data


def _closed_and_outward(mesh: trimesh.Trimesh) -> None:
    assert mesh.is_watertight and mesh.is_winding_consistent
    assert signed_volume(mesh.vertices, mesh.faces) > 0


@pytest.mark.parametrize("p1", [(0.0, 2.0, 0.0), (3.0, 0.0, 0.0), (0.0, 0.0, -1.0), (1.0, 1.0, 1.0)])
def test_rod_is_a_closed_outward_prism_of_its_section(p1: tuple[float, float, float]) -> None:
    mesh = rod((0.0, 0.0, 0.0), p1, 0.5, sections=12)
    _closed_and_outward(mesh)
    assert mesh.volume == pytest.approx(_ngon_area(12, 0.5) * float(np.linalg.norm(p1)))
    radial = mesh.vertices[:24] - np.outer(mesh.vertices[:24] @ np.asarray(p1) / np.dot(p1, p1), p1)
    np.testing.assert_allclose(np.linalg.norm(radial, axis=1), 0.5)


def test_box_and_ball_are_closed_outward_and_the_right_size() -> None:
    cube = box((1.0, 2.0, 3.0), (1.0, 1.0, 1.0))
    _closed_and_outward(cube)
    np.testing.assert_allclose(cube.bounds, [[0.5, 0.0, -0.5], [1.5, 2.0, 2.5]])
    sphere = ball(2.0, (1.0, 0.0, 0.0), subdivisions=2)
    _closed_and_outward(sphere)
    assert len(sphere.faces) == 320
    np.testing.assert_allclose(np.linalg.norm(sphere.vertices - (1.0, 0.0, 0.0), axis=1), 2.0)


def test_subdivide_splits_each_triangle_in_four_sharing_midpoints() -> None:
    cube = box((2.0, 2.0, 2.0))
    verts, faces = subdivide(cube.vertices, cube.faces)
    assert len(faces) == 4 * 12 and len(verts) == 8 + 18  # 18 edges, one midpoint each
    _closed_and_outward(trimesh.Trimesh(verts, faces, process=False))


def test_transforms_match_the_matrix_product_and_keep_faces_outward() -> None:
    mesh = extrude(L_SHAPE, 0.5)
    turn = compose(rotation(0.7, (1.0, 2.0, 3.0)), np.diag([1.0, 1.0, 1.0, 1.0]))
    moved = transformed(mesh, turn)
    np.testing.assert_allclose(moved.vertices, mesh.vertices @ turn[:3, :3].T, atol=1e-12)
    mirror = transformed(mesh, np.diag([-1.0, 1.0, 1.0, 1.0]))
    _closed_and_outward(mirror)
    assert np.isclose(signed_volume(mirror.vertices, mirror.faces), signed_volume(mesh.vertices, mesh.faces))
