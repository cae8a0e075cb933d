"""load_mesh on real meshes (ShapeNet quirks included) and on every way a file can be unusable."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import trimesh
from scipy.spatial import cKDTree

from clip2point.datasets.mesh_io import load_mesh, obj_vertex_records
from clip2point.errors import ConfigError, MeshLoadError

REAL_OBJS = [
    "pytorch3d_cow/cow.obj",
    "kaolin_armchair/armchair.obj",
    "classic/beetle.obj",
    "classic/spot.obj",
    "classic/teapot_pytorch3d.obj",
    "classic/suzanne.obj",
    "classic/alligator.obj",
]


def _v_records(path: Path) -> np.ndarray:
    """The slow obvious reference: every 'v' line's first three numbers."""
    rows = [line.split()[1:4] for line in path.read_text().splitlines() if line.split()[:1] == ["v"]]
    return np.array(rows, dtype=np.float64)


def _all_vertices(scene: trimesh.Scene) -> np.ndarray:
    return np.concatenate([g.vertices for g in scene.dump(concatenate=False)])


@pytest.mark.parametrize("name", REAL_OBJS)
def test_real_obj_is_normalised_on_the_v_records(shared_data: Path, name: str) -> None:
    path = shared_data / "meshes" / name
    loaded = load_mesh(path)
    records = _v_records(path)
    centre = records.mean(axis=0)
    radius = np.linalg.norm(records - centre, axis=1).max()
    expected = (records - centre) / radius
    # every loaded vertex (mesh and scene) is one of the file's records, normalised
    for vertices in (loaded.mesh.vertices, _all_vertices(loaded.scene)):
        gap, _ = cKDTree(expected).query(vertices)
        assert gap.max() < 1e-9
    assert np.linalg.norm(loaded.mesh.vertices, axis=1).max() == pytest.approx(1.0, abs=1e-12)
    assert loaded.num_faces == len(loaded.mesh.faces) > 0
    np.testing.assert_allclose(obj_vertex_records(path), records)


def test_cow_mean_differs_from_the_loaded_vertices(shared_data: Path) -> None:
    """trimesh splits the cow's vertices along UV seams: centring on its vertices would be off."""
    loaded = load_mesh(shared_data / "meshes/pytorch3d_cow/cow.obj")
    assert len(loaded.mesh.vertices) > len(_v_records(loaded.path))
    assert np.abs(loaded.mesh.vertices.mean(axis=0)).max() > 1e-3


def test_armchair_keeps_two_textured_materials(shared_data: Path) -> None:
    loaded = load_mesh(shared_data / "meshes/kaolin_armchair/armchair.obj")
    parts = list(loaded.scene.geometry.values())
    assert len(parts) == 2
    assert all(p.visual.material.image is not None for p in parts)
    assert loaded.num_faces == 18400  # 9,200 quads split into triangles
    assert loaded.warnings == ()
    assert (loaded.texture_status, loaded.texture_detail) == ("textured", "")


def test_obj_without_material_library_has_no_invented_texture(shared_data: Path) -> None:
    """spot.obj has UVs but no mtllib; trimesh invents a material that must not be rendered."""
    loaded = load_mesh(shared_data / "meshes/classic/spot.obj")
    assert all(g.visual.kind is None for g in loaded.scene.geometry.values())
    assert loaded.texture_status == "untextured_by_source"


def _shapenet_layout(tmp_path: Path, shared_data: Path) -> Path:
    """ShapeNetCore v2 layout: two materials, one texture under ../images/, one missing."""
    models = tmp_path / "02958343" / "1a2b3c" / "models"
    images = models.parent / "images"
    models.mkdir(parents=True)
    images.mkdir()
    shutil.copy(shared_data / "meshes/pytorch3d_cow/cow_texture.png", images / "texture1.png")
    lines = (shared_data / "meshes/pytorch3d_cow/cow.obj").read_text().splitlines()
    body = [ln for ln in lines if not ln.startswith(("mtllib", "usemtl"))]
    first_face = next(i for i, ln in enumerate(body) if ln.startswith("f "))
    half = first_face + (len(body) - first_face) // 2
    obj = ["# Created by assimp", "mtllib model_normalized.mtl", *body[:first_face],
           "usemtl material_0", *body[first_face:half], "usemtl material_1", *body[half:]]
    (models / "model_normalized.obj").write_text("\n".join(obj) + "\n")
    (models / "model_normalized.mtl").write_text(
        "newmtl material_0\nKa 0.2 0.2 0.2\nKd 0.8 0.1 0.1\nKs 0 0 0\nNs 10\nd 1\n"
        "map_Kd ../images/texture0.jpg\n\n"
        "newmtl material_1\nKa 0.2 0.2 0.2\nKd 1 1 1\nKs 0 0 0\nNs 10\nd 1\n"
        "map_Kd ../images/texture1.png\n"
    )
    return models / "model_normalized.obj"


def test_shapenet_missing_texture_warns_and_loads(tmp_path: Path, shared_data: Path, caplog) -> None:
    path = _shapenet_layout(tmp_path, shared_data)
    with caplog.at_level(logging.WARNING, logger="clip2point.datasets.mesh_io"):
        loaded = load_mesh(path)  # SYNSET/MODEL_ID is the asset root: images/ sits beside models/
    assert loaded.warnings == ("missing: ../images/texture0.jpg not found; rendering untextured there",)
    assert (loaded.texture_status, loaded.texture_detail) == ("missing", "missing: ../images/texture0.jpg not found")
    assert "texture0.jpg" in caplog.text and str(path) in caplog.text
    images = {g.visual.material.name: g.visual.material.image for g in loaded.scene.geometry.values()}
    assert images["material_0"] is None and images["material_1"] is not None
    assert loaded.num_faces == 5856


def test_undecodable_texture_warns_and_loads(tmp_path: Path, shared_data: Path) -> None:
    source = shared_data / "meshes/pytorch3d_cow"
    for name in ("cow.obj", "cow.mtl"):
        shutil.copy(source / name, tmp_path / name)
    (tmp_path / "cow_texture.png").write_bytes((source / "cow_texture.png").read_bytes()[:300])
    loaded = load_mesh(tmp_path / "cow.obj")
    assert loaded.texture_status == "undecodable"
    assert loaded.warnings == (f"undecodable: {loaded.texture_detail.partition(': ')[2]}; rendering untextured there",)
    assert loaded.texture_detail.startswith("undecodable: cow_texture.png")


def _box_at(offset: tuple[float, float, float], scale: float) -> trimesh.Trimesh:
    box = trimesh.creation.box(extents=(2.0, 1.0, 0.5))
    box.apply_scale(scale)
    box.apply_translation(offset)
    return box


@pytest.mark.parametrize("suffix", [".off", ".ply", ".stl", ".glb"])
def test_other_formats_are_normalised_on_their_vertices(tmp_path: Path, suffix: str) -> None:
    box = _box_at((5.0, -3.0, 2.0), 7.0)
    path = tmp_path / f"box{suffix}"
    box.export(path)
    loaded = load_mesh(path)
    vertices = loaded.mesh.vertices
    np.testing.assert_allclose(np.linalg.norm(vertices, axis=1).max(), 1.0, atol=1e-6)
    # a box's vertices are symmetric about its centre, so every format centres it exactly
    np.testing.assert_allclose(vertices.mean(axis=0), 0.0, atol=1e-6)
    assert loaded.mesh.area == pytest.approx(box.area / np.linalg.norm(box.vertices - box.centroid, axis=1).max() ** 2, rel=1e-5)


def test_glb_node_transforms_are_baked_in(tmp_path: Path) -> None:
    scene = trimesh.Scene()
    unit = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    scene.add_geometry(unit, node_name="left", transform=trimesh.transformations.translation_matrix((-4, 0, 0)))
    scene.add_geometry(unit, node_name="right", transform=trimesh.transformations.translation_matrix((4, 0, 0)))
    path = tmp_path / "pair.glb"
    scene.export(path)
    loaded = load_mesh(path)
    assert len(loaded.scene.geometry) == 2
    xs = np.sort(np.unique(np.round(loaded.mesh.vertices[:, 0], 6)))
    radius = np.sqrt(4.5**2 + 0.5**2 + 0.5**2)
    np.testing.assert_allclose(xs, np.array([-4.5, -3.5, 3.5, 4.5]) / radius, atol=1e-6)


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


TRIANGLE = "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.obj", "", "file is empty"),
        ("garbage.obj", bytes(range(256)) * 4, "not a text OBJ file"),
        ("words.obj", "this is not a mesh\n", r"no vertex \('v'\) records"),
        ("garbage.ply", b"\x00\x01garbage" * 50, "cannot parse the file"),
        ("garbage.glb", b"glTF" + bytes(200), "cannot parse the file .NotImplementedError: only GLTF 2"),
        ("noise.glb", bytes(range(200)), "cannot parse the file .ValueError: incorrect header"),
        ("nofaces.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\n", "no faces"),
        ("nan.obj", TRIANGLE.replace("v 1 0 0", "v 1 nan 0"), "1 vertex .* are NaN or infinite"),
        ("inf.obj", TRIANGLE.replace("v 0 1 0", "v 0 inf 0"), "are NaN or infinite"),
        ("badnumber.obj", TRIANGLE.replace("v 0 1 0", "v 0 one 0"), r"malformed vertex \('v'\) record"),
        ("flat.obj", "v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n", "zero surface area"),
        ("point.obj", "v 1 1 1\nv 1 1 1\nv 1 1 1\nf 1 2 3\n", r"zero surface area \(all vertices coincide\)"),
        ("mesh.xyz", "0 0 0\n", "unsupported format '.xyz'"),
    ],
)
def test_unusable_files_raise_with_a_specific_reason(tmp_path: Path, name: str, content, reason: str) -> None:
    path = _write(tmp_path / name, content)
    with pytest.raises(MeshLoadError, match=reason) as info:
        load_mesh(path)
    assert info.value.path == path
    assert str(info.value).startswith(str(path))


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(MeshLoadError, match="file does not exist"):
        load_mesh(tmp_path / "absent.obj")
    folder = tmp_path / "folder.obj"
    folder.mkdir()
    with pytest.raises(MeshLoadError, match="not a regular file"):
        load_mesh(folder)


def test_max_faces(shared_data: Path) -> None:
    path = shared_data / "meshes/classic/suzanne.obj"
    assert load_mesh(path, max_faces=968).num_faces == 968
    with pytest.raises(MeshLoadError, match="968 faces is more than max_faces=967"):
        load_mesh(path, max_faces=967)
    with pytest.raises(ConfigError, match="max_faces must be a positive integer"):
        load_mesh(path, max_faces=0)
    # quads count as two triangles, checked before parsing (armchair: 9,200 quads)
    with pytest.raises(MeshLoadError, match="18400 faces is more than max_faces=18399"):
        load_mesh(shared_data / "meshes/kaolin_armchair/armchair.obj", max_faces=18399)


def test_max_faces_applies_to_other_formats(tmp_path: Path) -> None:
    path = tmp_path / "box.ply"
    trimesh.creation.box().export(path)
    with pytest.raises(MeshLoadError, match="12 faces is more than max_faces=11"):
        load_mesh(path, max_faces=11)


def test_shapenet_textures_stay_inside_the_model_folder(tmp_path: Path, shared_data: Path) -> None:
    """The ShapeNet layout widens the asset root to SYNSET/MODEL_ID, not further; other layouts
    keep the mesh's own folder."""
    path = _shapenet_layout(tmp_path, shared_data)
    assert load_mesh(path, asset_root=path.parent).texture_status == "refused_outside"
    other = path.with_name("other.obj")
    shutil.copy(path, other)
    assert load_mesh(other).texture_status == "refused_outside"
    mtl = path.with_suffix(".mtl")
    mtl.write_text(mtl.read_text().replace("../images/texture1.png", "../../1a2b3d/images/texture1.png"))
    (tmp_path / "02958343" / "1a2b3d" / "images").mkdir(parents=True)
    shutil.copy(path.parents[1] / "images" / "texture1.png", tmp_path / "02958343" / "1a2b3d" / "images")
    assert load_mesh(path).texture_status == "refused_outside"  # another model's texture
