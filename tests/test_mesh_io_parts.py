"""load_mesh's scene flattening checked against trimesh's own ``Scene.dump`` (the slow obvious
reference it replaces), instanced geometry, and textures decoded at load time."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from clip2point.datasets import mesh_io
from clip2point.datasets.mesh_io import load_mesh
from clip2point.errors import MeshLoadError
from clip2point.datasets.obj_materials import material_libraries

MESHES = ["pytorch3d_cow/cow.obj", "kaolin_armchair/armchair.obj", "classic/suzanne.obj", "classic/teapot_pytorch3d.obj"]


def _reference_parts(path: Path) -> list[trimesh.Trimesh]:
    scene = mesh_io._read_scene(path)
    return [g for g in scene.dump(concatenate=False) if isinstance(g, trimesh.Trimesh) and len(g.faces)]


@pytest.mark.parametrize("relative", MESHES)
def test_parts_equal_scene_dump(shared_data: Path, relative: str) -> None:
    """Same vertices, faces, UVs and (recomputed, not the file's) vertex normals as Scene.dump."""
    path = shared_data / "meshes" / relative
    ours = mesh_io._triangle_parts(path, mesh_io._read_scene(path))
    reference = _reference_parts(path)
    assert [p.metadata["name"] for p in ours] == [p.metadata["name"] for p in reference]
    for mine, ref in zip(ours, reference):
        np.testing.assert_array_equal(mine.vertices, ref.vertices)
        np.testing.assert_array_equal(mine.faces, ref.faces)
        np.testing.assert_array_equal(mine.vertex_normals, ref.vertex_normals)
        assert mine.visual.kind == ref.visual.kind
        if ref.visual.kind == "texture":
            np.testing.assert_array_equal(mine.visual.uv, ref.visual.uv)


def test_instanced_geometry_is_copied_per_node() -> None:
    """One geometry under two nodes gives two parts, each moved by its own transform."""
    box = trimesh.creation.box()
    scene = trimesh.Scene()
    scene.add_geometry(box, geom_name="box", node_name="left", transform=trimesh.transformations.translation_matrix([-2, 0, 0]))
    scene.graph.update(frame_to="right", frame_from=scene.graph.base_frame, geometry="box",
                       matrix=trimesh.transformations.translation_matrix([3, 0, 0]))
    assert [scene.graph[node][1] for node in scene.graph.nodes_geometry] == ["box", "box"]
    parts = mesh_io._triangle_parts(Path("two-boxes.glb"), scene)
    assert [p.metadata["node"] for p in parts] == ["left", "right"]
    np.testing.assert_allclose([p.vertices[:, 0].mean() for p in parts], [-2.0, 3.0])
    np.testing.assert_allclose(box.vertices[:, 0].mean(), 0.0, atol=1e-12)  # the shared source is untouched


def test_textures_are_decoded_at_load(shared_data: Path) -> None:
    """Decoding belongs to the load stage, not to the first render that touches the pixels."""
    loaded = load_mesh(shared_data / "meshes" / "pytorch3d_cow" / "cow.obj")
    images = [p.visual.material.image for p in loaded.scene.geometry.values() if p.visual.kind == "texture"]
    assert images and all(getattr(image, "im", None) is not None for image in images)


def test_truncated_texture_renders_untextured_and_is_recorded(shared_data: Path, tmp_path: Path) -> None:
    """A texture whose pixels cannot be decoded loses the texture, not the object (issue 14)."""
    source = shared_data / "meshes" / "pytorch3d_cow"
    shutil.copytree(source, tmp_path / "cow")
    texture = tmp_path / "cow" / "cow_texture.png"
    assert Image.open(texture).format == "PNG"
    texture.write_bytes(texture.read_bytes()[:4096])  # header intact, pixel data cut off
    loaded = load_mesh(tmp_path / "cow" / "cow.obj")
    assert loaded.texture_status == "undecodable"
    assert "cow_texture.png" in loaded.texture_detail and "cannot be decoded" in loaded.texture_detail
    assert all(p.visual.material.image is None for p in loaded.scene.geometry.values())


@pytest.mark.parametrize(("vertex", "message"), [
    ("v 0 1", r"a vertex \('v'\) record has fewer than 3 coordinates"),
    ("v 0 1 zero", r"malformed vertex \('v'\) record: could not convert string to float: 'zero'"),
])
def test_bad_vertex_records_name_the_problem(tmp_path: Path, vertex: str, message: str) -> None:
    path = tmp_path / "bad.obj"
    path.write_text(f"v 0 0 0\nv 1 0 0\n{vertex}\nf 1 2 3\n")
    with pytest.raises(MeshLoadError, match=rf"bad\.obj: {message}"):
        load_mesh(path)


def test_vertex_records_keep_the_written_values(tmp_path: Path) -> None:
    path = tmp_path / "tri.obj"
    path.write_text("v 0.1 -2e-3 3\nv\t1 0 0 0.5 0.5 0.5\nv 0 1 0\nf 1 2 3\n")
    np.testing.assert_array_equal(mesh_io.obj_vertex_records(path), [[0.1, -2e-3, 3.0], [1, 0, 0], [0, 1, 0]])


def test_obj_scans_see_the_lines_splitlines_sees(tmp_path: Path) -> None:
    """The pre-parse scans (``v`` records, ``f`` triangle budget, ``mtllib``) run as regular
    expressions over the text; they must split lines exactly as ``str.splitlines`` does (old
    Mac "\\r" endings, form feeds) and ignore look-alikes (an indented ``v``, ``vt``)."""
    text = ("mtllib a.mtl  b.mtl\rv 0 0 0\r\nv\t1  0\t0 0.5 0.5 0.5\x0cvt 1 1\n v 9 9 9\nv 0 1 0 # c\n"
            "f 1 2 3 1\nf 1\n")
    path = tmp_path / "odd.obj"
    path.write_bytes(text.encode())
    np.testing.assert_array_equal(mesh_io.obj_vertex_records(path), [[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    scanned = mesh_io._obj_text(path)
    assert mesh_io._obj_triangle_count(scanned) == 2
    assert material_libraries(scanned) == ["a.mtl", "b.mtl"]
