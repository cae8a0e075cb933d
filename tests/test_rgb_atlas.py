"""The reference's surface appearance, computed for the faithful shading: the per-face 4×4 texture
atlas with clamped UVs, and area-weighted vertex normals shared by position across parts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from clip2point.datasets.mesh_io import load_mesh
from clip2point.render.cameras import ViewPreset
from clip2point.render.rgb import RGBRenderer
from clip2point.render.rgb.atlas import atlas_texture, face_atlas, merged_vertex_normals


def _gradient() -> Image.Image:
    """Red = u and green = v exactly (256 columns/rows: k/255 is what a pixel stores), so a
    bilinear sample with the image corners at the corner pixel centres returns (u, v)."""
    ramp = np.arange(256, dtype=np.uint8)
    pixels = np.zeros((256, 256, 3), dtype=np.uint8)
    pixels[..., 0] = ramp[None, :]
    pixels[..., 1] = ramp[::-1, None]  # rows run top to bottom, v up
    return Image.fromarray(pixels)


def test_atlas_cells_hold_the_sub_triangle_centroids_with_uvs_clamped() -> None:
    uv = np.array([[-0.5, 0.2], [1.7, 0.2], [0.3, 0.9]])
    atlas = face_atlas(_gradient(), uv, np.array([[0, 1, 2]]))
    assert atlas.shape == (1, 4, 4, 3)
    clamped = np.clip(uv, 0.0, 1.0)
    for row in range(4):  # cell (row = w_y, column = w_x)
        for col in range(4):
            if row + col < 4:
                w0, w1 = (col + 1 / 3) / 4, (row + 1 / 3) / 4
            else:
                w0, w1 = (3 - col + 2 / 3) / 4, (3 - row + 2 / 3) / 4
            expected = w0 * clamped[0] + w1 * clamped[1] + (1 - w0 - w1) * clamped[2]
            np.testing.assert_allclose(atlas[0, row, col, :2], expected, atol=1e-6)


def test_atlas_tiles_sit_at_their_origins_in_gl_texel_coordinates() -> None:
    atlas = np.random.default_rng(0).random((5, 4, 4, 3)).astype(np.float32)
    pixels, origins = atlas_texture(atlas)
    gl = np.flip(pixels, axis=0)  # pyrender flips rows on upload: GL row y = source row H-1-y
    for face, (x, y) in enumerate(origins.astype(int)):
        np.testing.assert_array_equal(gl[y:y + 4, x:x + 4], np.round(atlas[face] * 255).astype(np.uint8))
    assert pixels.dtype == np.uint8 and pixels.shape[1] % 4 == 0


def test_normals_are_area_weighted_and_shared_by_position_across_parts() -> None:
    """A vertex shared by a large face (normal +z) in one part and a small one (normal +x) in
    another gets the area-weighted mean; a face stored twice, once per winding, cancels."""
    big = trimesh.Trimesh([[0, 0, 0], [4, 0, 0], [0, 4, 0]], [[0, 1, 2]], process=False)
    small = trimesh.Trimesh([[0, 0, 0], [0, 1, 0], [0, 0, 1]], [[0, 1, 2]], process=False)
    normals = merged_vertex_normals([big, small])
    expected = np.array([0.5, 0.0, 8.0])  # area 0.5 along +x plus area 8 along +z
    np.testing.assert_allclose(normals[0][0], expected / np.linalg.norm(expected), atol=1e-6)
    np.testing.assert_allclose(normals[1][0], normals[0][0])
    twice = trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2], [0, 2, 1]], process=False)
    assert np.abs(merged_vertex_normals([twice])[0]).max() < 1e-6


@pytest.mark.parametrize(("shading", "red_visible"), [("faithful", False), ("improved", True)])
def test_uvs_outside_the_unit_square_are_clamped_not_repeated(tmp_path: Path, shading: str, red_visible: bool) -> None:
    """A quad whose u runs 0.6 → 1.6 over a texture red left and blue right: clamped (the
    reference) it is all blue; repeat-wrapped (improved) its right part shows the red."""
    pixels = np.zeros((8, 8, 3), dtype=np.uint8)
    pixels[:, :4, 0] = 255
    pixels[:, 4:, 2] = 255
    Image.fromarray(pixels).save(tmp_path / "tex.png")
    (tmp_path / "quad.mtl").write_text("newmtl tex\nKd 1 1 1\nmap_Kd tex.png\n")
    (tmp_path / "quad.obj").write_text(
        "mtllib quad.mtl\nv -1 -1 0\nv 1 -1 0\nv 1 1 0\nv -1 1 0\nvt 0.6 0\nvt 1.6 0\nvt 1.6 1\nvt 0.6 1\n"
        "usemtl tex\nf 1/1 2/2 3/3\nf 1/1 3/3 4/4\n"
    )
    preset = ViewPreset("front", elev=(0.0,), azim=(0.0,))
    with RGBRenderer(64, shading=shading, light="0,0,1") as renderer:
        views = renderer.render(load_mesh(tmp_path / "quad.obj"), preset, light_seed=0)
    fg = views.rgb[views.mask].astype(int)
    reddish = (fg[:, 0] > 100) & (fg[:, 2] < 100)
    assert views.mask.mean() > 0.2 and (fg[:, 2] > 100).mean() > 0.3
    assert (reddish.mean() > 0.2) == red_visible
