"""Untrusted meshes (issue 14): nothing is read from outside the object's folder, every asset is
read within a byte and pixel budget, and each lost texture is recorded with its file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clip2point.datasets.asset_guard import AssetBudget, is_remote_or_absolute
from clip2point.datasets.mesh_io import load_mesh
from clip2point.errors import MeshLoadError
from asset_fixtures import (
    png_declaring, textured_box, write_glb, write_glb_with_uri, write_png, write_textured_obj,
)


def _images(loaded) -> list:
    return [getattr(g.visual, "material", None) and (getattr(g.visual.material, "image", None)
            or getattr(g.visual.material, "baseColorTexture", None)) for g in loaded.scene.geometry.values()]


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside every object's folder that must never be read."""
    return write_png(tmp_path / "secret" / "secret.png")


def test_texture_inside_the_folder_is_used(tmp_path: Path) -> None:
    write_png(tmp_path / "obj" / "skin.png")
    loaded = load_mesh(write_textured_obj(tmp_path / "obj", "skin.png"))
    assert (loaded.texture_status, loaded.texture_detail) == ("textured", "")
    assert all(image is not None for image in _images(loaded))


@pytest.mark.parametrize("reference", ["ABSOLUTE", "../../../../../../../../ABSOLUTE", "../secret/secret.png",
                                       "file://ABSOLUTE"])
def test_texture_outside_the_folder_is_refused(tmp_path: Path, secret: Path, reference: str) -> None:
    obj = write_textured_obj(tmp_path / "obj", reference.replace("ABSOLUTE", str(secret).lstrip("/")
                                                                  if reference.startswith("..") else str(secret)))
    loaded = load_mesh(obj)
    assert loaded.texture_status == "refused_outside"
    assert "outside" in loaded.texture_detail or "absolute or a URI" in loaded.texture_detail
    assert all(image is None for image in _images(loaded))


def test_symlink_out_of_the_folder_is_refused(tmp_path: Path, secret: Path) -> None:
    folder = tmp_path / "obj"
    folder.mkdir()
    os.symlink(secret, folder / "skin.png")
    loaded = load_mesh(write_textured_obj(folder, "skin.png"))
    assert loaded.texture_status == "refused_outside"
    assert str(secret) in loaded.texture_detail


def test_material_library_outside_the_folder_is_refused(tmp_path: Path, secret: Path) -> None:
    (secret.parent / "evil.mtl").write_text(f"newmtl skin\nKd 1 1 1\nmap_Kd {secret.name}\n")
    loaded = load_mesh(write_textured_obj(tmp_path / "obj", "x.png", mtllib="../secret/evil.mtl"))
    assert loaded.texture_status == "refused_outside"
    assert "evil.mtl" in loaded.texture_detail
    assert all(g.visual.kind is None for g in loaded.scene.geometry.values())  # no invented placeholder


def test_missing_texture_is_recorded(tmp_path: Path) -> None:
    loaded = load_mesh(write_textured_obj(tmp_path / "obj", "gone.png"))
    assert (loaded.texture_status, loaded.texture_detail) == ("missing", "missing: gone.png not found")


def test_texture_over_the_pixel_budget_is_dropped_before_decoding(tmp_path: Path) -> None:
    png_declaring(tmp_path / "obj" / "huge.png", 30_000, 30_000)  # the 30,000 x 30,000 texture
    loaded = load_mesh(write_textured_obj(tmp_path / "obj", "huge.png"))
    assert loaded.texture_status == "over_budget"
    assert "huge.png is 30000x30000 pixels" in loaded.texture_detail


def test_pixel_budget_is_the_jobs_setting(tmp_path: Path) -> None:
    write_png(tmp_path / "obj" / "skin.png", size=64)
    obj = write_textured_obj(tmp_path / "obj", "skin.png")
    assert load_mesh(obj).texture_status == "textured"
    loaded = load_mesh(obj, budget=AssetBudget(max_texture_pixels=63 * 63))
    assert loaded.texture_status == "over_budget" and "64x64" in loaded.texture_detail


def test_file_byte_budget_bounds_textures_and_meshes(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "skin.png")  # incompressible: larger than the OBJ
    obj = write_textured_obj(tmp_path / "obj", "skin.png")
    (tmp_path / "skin.png").rename(tmp_path / "obj" / "skin.png")
    texture_bytes = (tmp_path / "obj" / "skin.png").stat().st_size
    assert texture_bytes > obj.stat().st_size
    loaded = load_mesh(obj, budget=AssetBudget(max_file_bytes=texture_bytes - 1))
    assert loaded.texture_status == "over_budget" and "skin.png" in loaded.texture_detail
    with pytest.raises(MeshLoadError, match=r"over_budget: \d+ bytes is more than the 10-byte budget"):
        load_mesh(obj, budget=AssetBudget(max_file_bytes=10))


def test_glb_with_embedded_texture_is_textured(tmp_path: Path) -> None:
    loaded = load_mesh(write_glb(tmp_path / "a.glb", textured_box()))
    assert (loaded.texture_status, loaded.texture_detail) == ("textured", "")


def test_glb_without_texture_is_untextured_by_source(tmp_path: Path) -> None:
    import trimesh
    loaded = load_mesh(write_glb(tmp_path / "a.glb", trimesh.creation.box()))
    assert loaded.texture_status == "untextured_by_source"


@pytest.mark.parametrize("uri", ["SECRET", "file://SECRET", "../secret/secret.png", "http://example.com/x.png",
                                 "https://example.com/x.png"])
def test_glb_image_uri_outside_is_never_fetched(tmp_path: Path, secret: Path, uri: str) -> None:
    folder = tmp_path / "obj"
    write_png(folder / "x.png")  # a same-named file inside must not be used as a fallback either
    glb = write_glb_with_uri(folder / "a.glb", textured_box(), image_uri=uri.replace("SECRET", str(secret)))
    loaded = load_mesh(glb)
    assert loaded.texture_status == "refused_outside"
    assert all(image is None for image in _images(loaded))


def test_glb_image_uri_inside_is_read(tmp_path: Path) -> None:
    write_png(tmp_path / "obj" / "tex" / "skin.png")
    loaded = load_mesh(write_glb_with_uri(tmp_path / "obj" / "a.glb", textured_box(), image_uri="tex/skin.png"))
    assert loaded.texture_status == "textured"


def test_glb_buffer_outside_fails_the_object_saying_why(tmp_path: Path, secret: Path) -> None:
    glb = write_glb_with_uri(tmp_path / "obj" / "a.glb", textured_box(), buffer_uri=str(secret))
    with pytest.raises(MeshLoadError, match="refused_outside: .* absolute or a URI"):
        load_mesh(glb)


def test_undecodable_embedded_image_is_recorded(tmp_path: Path) -> None:
    glb = write_glb_with_uri(tmp_path / "obj" / "a.glb", textured_box(), image_uri="junk.png")
    (tmp_path / "obj" / "junk.png").write_bytes(b"not an image at all")
    loaded = load_mesh(glb)
    assert loaded.texture_status == "undecodable" and "junk.png" in loaded.texture_detail


def test_remote_or_absolute_names() -> None:
    for name in ("/etc/x", "file:///x", "http://h/x", "s3://b/x", "C:\\x", "~/x", "\\\\host\\x"):
        assert is_remote_or_absolute(name), name
    for name in ("x.png", "../images/x.png", "sub/x.png", "data.bin"):
        assert not is_remote_or_absolute(name), name


def test_embedded_image_trimesh_drops_silently_is_recorded(tmp_path: Path) -> None:
    """An image inside the file that PIL cannot open: trimesh drops it without a trace, the
    loader notices from the glTF's own image list."""
    glb = write_glb_with_uri(tmp_path / "a.glb", textured_box(), image_uri="data:image/png;base64,bm90IGFuIGltYWdl")
    loaded = load_mesh(glb)
    assert loaded.texture_status == "undecodable"
    assert loaded.texture_detail == "undecodable: the 1 images a.glb declares could not be read as images"


@pytest.mark.parametrize(("reference", "status"), [("skin.png", "textured"), ("SECRET", "refused_outside"),
                                                   ("../secret/secret.png", "refused_outside")])
def test_ply_texture_file_is_confined_too(tmp_path: Path, secret: Path, reference: str, status: str) -> None:
    folder = tmp_path / "obj"
    write_png(folder / "skin.png")
    data = textured_box().export(file_type="ply", encoding="ascii")
    reference = reference.replace("SECRET", str(secret))
    (folder / "a.ply").write_bytes(data.replace(b"end_header", f"comment TextureFile {reference}\nend_header".encode()))
    assert load_mesh(folder / "a.ply").texture_status == status


def _edited_glb(path: Path, edit) -> Path:
    from asset_fixtures import _glb_bytes, _glb_chunks

    tree, rest = _glb_chunks(write_glb(path, textured_box()).read_bytes())
    edit(tree)
    path.write_bytes(_glb_bytes(tree, rest))
    return path


@pytest.mark.parametrize("edit", [
    lambda t: t["bufferViews"][0].update(byteOffset=10**9),  # trimesh fails an assert here
    lambda t: t["accessors"][0].update(count=10**9),
    lambda t: t["accessors"][1].update(componentType=9999),
    lambda t: t["images"][0].update(bufferView=77),
])
def test_broken_glb_is_a_mesh_load_error_not_a_crash(tmp_path: Path, edit) -> None:
    with pytest.raises(MeshLoadError, match=r"a\.glb: cannot parse the file"):
        load_mesh(_edited_glb(tmp_path / "a.glb", edit))


@pytest.mark.parametrize("cut", [5, 12, 20, 40, 500])
def test_truncated_glb_is_a_mesh_load_error(tmp_path: Path, cut: int) -> None:
    data = write_glb(tmp_path / "a.glb", textured_box()).read_bytes()
    (tmp_path / "a.glb").write_bytes(data[:cut])
    with pytest.raises(MeshLoadError, match=r"a\.glb: cannot parse the file"):
        load_mesh(tmp_path / "a.glb")
