"""RGBRenderer: shapes, determinism, colours, one-sided (faithful) and two-sided (improved)
shading, and the aligned (orthographic) mode against the depth projector."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import torch
from scipy import ndimage

from clip2point.datasets.mesh_io import LoadedMesh, load_mesh
from clip2point.datasets.sampling import sample_surface
from clip2point.errors import ConfigError
from clip2point.render.cameras import ViewPreset, get_view_preset
from clip2point.render.depth import project_depth
from clip2point.render.gl import import_pyrender
from clip2point.render.rgb import RGBRenderer, RGBSettings
from clip2point.render.rgb.light import light_directions
from clip2point.render.rgb.scene import build_pyrender_mesh

SIZE = 96


@pytest.fixture(scope="module")
def renderer() -> Iterator[RGBRenderer]:
    with RGBRenderer(SIZE) as r:
        yield r


@pytest.fixture(scope="module")
def cow(shared_data: Path) -> LoadedMesh:
    return load_mesh(shared_data / "meshes/pytorch3d_cow/cow.obj")


def test_views_shape_dtype_and_white_background(renderer: RGBRenderer, cow: LoadedMesh) -> None:
    views = renderer.render(cow, get_view_preset(6), light_seed=0)
    assert views.rgb.shape == (6, SIZE, SIZE, 3) and views.rgb.dtype == np.uint8
    assert views.mask.shape == (6, SIZE, SIZE) and views.mask.dtype == bool
    assert (views.rgb[~views.mask] == 255).all()
    coverage = views.mask.mean(axis=(1, 2))
    assert ((coverage > 0.1) & (coverage < 0.6)).all()


def test_same_seed_same_pixels_across_renderers(renderer: RGBRenderer, cow: LoadedMesh, shared_data: Path) -> None:
    preset = get_view_preset(10)
    first = renderer.render(cow, preset, light_seed=7)
    renderer.render(load_mesh(shared_data / "meshes/classic/suzanne.obj"), preset, light_seed=7)
    with RGBRenderer(SIZE) as fresh:
        again = fresh.render(cow, preset, light_seed=7)
    np.testing.assert_array_equal(first.rgb, again.rgb)
    np.testing.assert_array_equal(first.mask, again.mask)
    relit = renderer.render(cow, preset, light_seed=8)  # closing `fresh` left this context alive
    np.testing.assert_array_equal(first.mask, relit.mask)
    assert not np.array_equal(first.rgb, relit.rgb)


def test_textured_cow_shows_its_texture(renderer: RGBRenderer, cow: LoadedMesh) -> None:
    """The texture is white (grey ~240) with dark patches (~60): shaded by at least the ambient
    0.5 and at most 0.8 + specular, both must show; a white material would have no patches."""
    views = renderer.render(cow, get_view_preset(10), light_seed=0)
    grey = views.rgb[views.mask].mean(axis=1)
    assert (grey < 60).mean() > 0.03  # dark patches
    assert (grey >= 110).mean() > 0.5  # white hide
    assert 100 < grey.mean() < 160


def _material_color(shared_data: Path, tmp_path: Path, kd: str) -> LoadedMesh:
    """The cow with an untextured material of diffuse colour ``kd`` (0-1 floats, as in .mtl)."""
    folder = tmp_path / "kd"
    folder.mkdir()
    obj = (shared_data / "meshes/pytorch3d_cow/cow.obj").read_text()
    (folder / "cow.obj").write_text(obj)
    (folder / "cow.mtl").write_text(f"newmtl material_1\nKd {kd}\nmap_Kd ../images/missing.jpg\n")
    return load_mesh(folder / "cow.obj")


def test_material_colour_is_read_as_0_to_1(renderer: RGBRenderer, shared_data: Path, tmp_path: Path) -> None:
    loaded = _material_color(shared_data, tmp_path, "0.8 0.1 0.1")
    assert loaded.warnings  # the missing texture is reported, the colour still applies
    views = renderer.render(loaded, get_view_preset(6), light_seed=0)
    fg = views.rgb[views.mask].astype(np.float64)
    red, green, blue = fg.mean(axis=0)
    assert red > 90 and red > 4 * green and green == pytest.approx(blue, abs=2)


def test_untextured_parts_merge_into_one_primitive(tmp_path: Path, shared_data: Path) -> None:
    """Two coloured materials become one primitive with per-vertex colours; the textured one
    keeps its own primitive, texture and UVs."""
    shutil.copy(shared_data / "meshes/pytorch3d_cow/cow_texture.png", tmp_path / "tex.png")
    (tmp_path / "parts.mtl").write_text(
        "newmtl red\nKd 1 0 0\nnewmtl green\nKd 0 1 0\nnewmtl tex\nKd 0.2 0.2 0.2\nmap_Kd tex.png\n"
    )
    (tmp_path / "parts.obj").write_text(
        "mtllib parts.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nvt 0 0\nvt 1 0\nvt 0 1\n"
        "usemtl red\nf 1 2 3\nusemtl green\nf 1 2 4\nusemtl tex\nf 1/1 3/2 4/3\n"
    )
    mesh = build_pyrender_mesh(import_pyrender(), load_mesh(tmp_path / "parts.obj"), shading="improved")
    textured, coloured = mesh.primitives
    assert textured.material.baseColorTexture is not None and textured.texcoord_0.shape == (3, 2)
    np.testing.assert_allclose(textured.material.baseColorFactor, [1, 1, 1, 1])  # texture alone
    assert coloured.material.baseColorTexture is None and coloured.texcoord_0 is None
    colours = {tuple(c) for c in np.round(coloured.color_0, 6)}
    assert colours == {(1.0, 0.0, 0.0, 1.0), (0.0, 1.0, 0.0, 1.0)}
    assert len(coloured.indices) == 2


def _quad(tmp_path: Path) -> LoadedMesh:
    """A single-sided square in the plane z = 0, front faces towards +z."""
    path = tmp_path / "quad.obj"
    path.write_text("v -1 -1 0\nv 1 -1 0\nv 1 1 0\nv -1 1 0\nf 1 2 3\nf 1 3 4\n")
    return load_mesh(path)


@pytest.mark.parametrize("shading", ["faithful", "improved"])
@pytest.mark.parametrize("seed", range(4))
def test_front_and_back_faces_are_lit_as_the_shading_says(tmp_path: Path, seed: int, shading: str) -> None:
    """Front (camera on +z) and back (camera on −z) of a single-sided quad: the centre pixel
    equals albedo·(ambient + diffuse·max(n·l, 0)) + specular. Faithful (PyTorch3D): white, and
    the back keeps the front's normal, so it is lit only when the light is in front; improved:
    0.7 grey, and the normal of the back faces the camera."""
    preset = ViewPreset("front_back", elev=(0.0, 0.0), azim=(0.0, 180.0))
    with RGBRenderer(SIZE, shading=shading) as renderer:
        views = renderer.render(_quad(tmp_path), preset, light_seed=seed)
    assert views.mask.all(axis=(1, 2)).tolist() == [False, False] and views.mask[:, SIZE // 2, SIZE // 2].all()
    s = RGBSettings()
    to_light = light_directions("random", preset, seed)
    albedo = 1.0 if shading == "faithful" else 0.7
    for view, to_camera in enumerate(([0.0, 0.0, 1.0], [0.0, 0.0, -1.0])):
        n = np.array([0.0, 0.0, 1.0]) if shading == "faithful" else np.array(to_camera)
        nl = max(float(n @ to_light[view]), 0.0)
        reflected = -to_light[view] + 2 * float(n @ to_light[view]) * n
        specular = max(float(reflected @ np.array(to_camera)), 0.0) ** 64 if nl > 0 else 0.0
        expected = np.clip(albedo * (s.ambient + s.diffuse * nl) + 0.2 * specular, 0, 1) * 255
        centre = views.rgb[view, SIZE // 2 - 1 : SIZE // 2 + 1, SIZE // 2 - 1 : SIZE // 2 + 1].reshape(-1, 3)
        np.testing.assert_allclose(centre.mean(axis=0), expected, atol=1.5)


def test_single_sided_beetle_is_drawn_and_lit(renderer: RGBRenderer, shared_data: Path) -> None:
    views = renderer.render(load_mesh(shared_data / "meshes/classic/beetle.obj"), get_view_preset(10), light_seed=0)
    fg = views.rgb[views.mask]
    assert views.mask.mean(axis=(1, 2)).min() > 0.05
    assert (fg.max(axis=1) < 40).mean() < 0.01  # no black (unlit back faces)


def _disc_dilate(mask: np.ndarray, radius_px: float) -> np.ndarray:
    r = int(np.ceil(radius_px))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    disc = xx**2 + yy**2 <= radius_px**2
    return np.stack([ndimage.binary_dilation(m, disc) for m in mask])


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a & b).sum(axis=(-2, -1)) / (a | b).sum(axis=(-2, -1))


def _aligned_masks(loaded: LoadedMesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Depth projector mask, orthographic RGB mask grown by the projector's disc radius, RGB mask."""
    preset = get_view_preset(10)
    with RGBRenderer(224, camera="orthographic") as ortho:
        rgb_mask = ortho.render(loaded, preset, light_seed=0).mask
    points = torch.from_numpy(sample_surface(loaded.mesh, 8192, seed=0))[None]
    depth_mask = project_depth(points, *preset.tensors()).mask[0].numpy()
    return depth_mask, _disc_dilate(rgb_mask, 0.02 * 224 / 2), rgb_mask


@pytest.mark.parametrize("name", ["pytorch3d_cow/cow.obj", "kaolin_armchair/armchair.obj", "classic/beetle.obj"])
def test_orthographic_mode_shares_the_depth_projector_camera(shared_data: Path, name: str) -> None:
    """Aligned mode: the depth map of points sampled from the mesh covers the RGB mask grown by
    the projector's disc radius (0.02 NDC), view by view."""
    depth_mask, grown, rgb_mask = _aligned_masks(load_mesh(shared_data / "meshes" / name))
    assert _iou(depth_mask, grown).min() >= 0.95
    assert _iou(depth_mask, rgb_mask).mean() >= 0.85  # the discs alone widen the silhouette


def test_aligned_check_would_catch_a_flip(cow: LoadedMesh) -> None:
    """The cow's side views tell head from tail and every view tells up from down."""
    depth_mask, grown, _ = _aligned_masks(cow)
    assert _iou(depth_mask[[8, 9]], grown[[8, 9], :, ::-1]).max() < 0.9
    assert _iou(depth_mask, grown[:, ::-1, :]).max() < 0.9


def test_msaa_samples_change_only_edges(cow: LoadedMesh, renderer: RGBRenderer) -> None:
    preset = get_view_preset(6)
    with RGBRenderer(SIZE, msaa_samples=4) as smooth:
        msaa = smooth.render(cow, preset, light_seed=0)
    plain = renderer.render(cow, preset, light_seed=0)
    assert _iou(msaa.mask, plain.mask).min() > 0.9


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"size": 4}, r"--size must be an integer in \[8, 4096\]; got 4 \(pixels per side\)"),
        ({"yfov_deg": 180.0}, r"yfov_deg must be a number in \(0, 180\); got 180.0 \(degrees\)"),
        ({"znear": 5.0, "zfar": 1.0}, r"zfar must be a number in \(5, inf\]; got 1.0 \(beyond znear\)"),
        ({"camera": "fisheye"}, r"--camera must be one of perspective, orthographic; got 'fisheye'"),
        ({"ambient": 1.5}, r"ambient must be a number in \[0, 1\]; got 1.5"),
        ({"diffuse": -0.1}, r"diffuse must be a number in \[0, 1\]; got -0.1"),
        ({"msaa_samples": 3}, "msaa_samples must be one of 0, 2, 4, 8; got 3"),
        ({"max_texture_size": 8}, r"max_texture_size must be an integer >= 16; got 8 \(pixels\)"),
        ({"shading": "pbr"}, "--shading must be one of faithful, improved; got 'pbr'"),
    ],
)
def test_settings_are_validated(settings: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RGBSettings(**settings)


def test_close_is_idempotent_and_final(cow: LoadedMesh) -> None:
    r = RGBRenderer(SIZE)
    r.close()
    r.close()
    with pytest.raises(RuntimeError, match=r"called after close\(\)"):
        r.render(cow, get_view_preset(6), light_seed=0)
