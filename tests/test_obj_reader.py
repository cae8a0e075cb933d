"""The fast OBJ reader builds exactly the scene ``trimesh.load`` builds, or declines."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import trimesh

from clip2point.datasets import mesh_io
from clip2point.datasets.asset_guard import DEFAULT_BUDGET, AssetLedger, ConfinedResolver
from clip2point.datasets.obj_reader import is_plain, read_obj
from clip2point.datasets.synthetic import write_synthetic_set
from obj_compare import assert_same_scene

REAL = ["pytorch3d_cow/cow.obj", "kaolin_armchair/armchair.obj", "classic/teapot_pytorch3d.obj", "classic/spot.obj",
        "classic/suzanne.obj", "classic/beetle.obj", "classic/homer.obj", "classic/fandisk.obj",
        "classic/alligator.obj"]


def _resolver(path: Path) -> ConfinedResolver:
    return ConfinedResolver(path, mesh_io.default_asset_root(path), DEFAULT_BUDGET, AssetLedger())


def _assert_reads_like_trimesh(path: Path) -> None:
    decoded = path.read_text(encoding="utf-8")
    assert is_plain(decoded), path
    read = read_obj(path, decoded, _resolver(path))
    assert read is not None, f"{path}: the reader declined a plain file"
    reference = trimesh.load(path, force="scene", process=False, resolver=_resolver(path))
    assert_same_scene(read[0], reference)
    assert read[1].tobytes() == mesh_io.obj_vertex_records(path).tobytes()


@pytest.mark.parametrize("name", REAL)
def test_real_meshes_read_exactly_as_trimesh_reads_them(shared_data: Path, name: str) -> None:
    _assert_reads_like_trimesh(shared_data / "meshes" / name)


def test_synthetic_set_reads_exactly_as_trimesh_reads_it(tmp_path: Path) -> None:
    root = write_synthetic_set(tmp_path / "set", per_class=1, seed=0)
    paths = sorted(root.rglob("*.obj"))
    assert len(paths) >= 50
    for path in paths:
        _assert_reads_like_trimesh(path)


CRAFTED = {
    "mixed_polygons": "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nv 0.5 2 0\nf 1 2 3 4\nf 3 5 4\nf 1 2 3 4 5\n",
    "materials_objects_groups": (
        "mtllib m.mtl\no first\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\n"
        "vn 0 0 1\ng a\nusemtl red\nf 1/1/1 2/2/1 3/3/1\ns off\no second\nusemtl blue\nf 1/1/1 3/3/1 4/4/1\n"
        "usemtl red\nf 2/2/1 3/3/1 4/4/1\n"),
    "normals_only": "v 0 0 0\nv 1 0 0\nv 0 1 0\nvn 0 0 1\nvn 0 0 -1\nf 1//1 2//2 3//1\n",
    "negative_indices": "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 1.5e-3\nf -4 -3 -2\nf 2 4 3\n",
    "uvw": "v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0 0\nvt 1 0 0.5\nvt 0 1 1\nf 1/1 2/2 3/3\n",
    "interleaved_records": "v 0 0 0\nvt 0 0\nv 1 0 0\nvt 1 0\n# a comment\nv 0 1 0\nvt 0 1\nf 1/1 2/2 3/3\n",
    "uv_without_material": "v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nf 1/3 2/2 3/1\n# the end\n",
    "missing_library": "mtllib absent.mtl\nusemtl x\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n",
    "one_material_named": "mtllib m.mtl\nusemtl red\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\nf 3 2 1\n",
}
MTL = "newmtl red\nKd 1 0 0\nKa 0.1 0.1 0.1\nNs 10\nd 0.5\nnewmtl blue\nKd 0 0 1\nmap_Kd tex.png\n"


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_files_read_exactly_as_trimesh_reads_them(tmp_path: Path, shared_data: Path, name: str) -> None:
    (tmp_path / "m.mtl").write_text(MTL)
    shutil.copy(shared_data / "meshes/pytorch3d_cow/cow_texture.png", tmp_path / "tex.png")
    path = tmp_path / f"{name}.obj"
    path.write_text(CRAFTED[name])
    _assert_reads_like_trimesh(path)


@pytest.mark.parametrize("text", [
    "v 0 0 0\r\nv 1 0 0\r\nv 0 1 0\r\nf 1 2 3\r\n",  # another line break: splitlines and trimesh differ
    "v 0 0 0 \\\n 1\nv 1 0 0\nv 0 1 0\nf 1 2 3\n",  # a continuation
    "v\t0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 2 3 4\n",  # a record trimesh does not see
    "# café\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n",  # not ASCII
])
def test_text_the_reader_cannot_vouch_for_is_not_plain(text: str) -> None:
    assert not is_plain(text)


@pytest.mark.parametrize("text", [
    "v 0 0 0 1 0 0\nv 1 0 0 0 1 0\nv 0 1 0 0 0 1\nf 1 2 3\n",  # vertex colours
    "v 0 0 0\nv 1 0 0\nv 0 1 0 1\nf 1 2 3\n",  # rows of unequal length
    "v 1-e3 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n",  # trimesh rewrites "-e"
    "v 0 0 0\nv 1 0 0\nv 0 1 0\n",  # no faces: a point cloud
    "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 x\n",  # not an index
])
def test_files_outside_the_subset_are_left_to_trimesh(tmp_path: Path, text: str) -> None:
    path = tmp_path / "odd.obj"
    path.write_text(text)
    assert is_plain(text) and read_obj(path, text, _resolver(path)) is None


@pytest.mark.parametrize("name", ["pytorch3d_cow/cow.obj", "kaolin_armchair/armchair.obj", "classic/beetle.obj"])
def test_load_mesh_gives_the_same_mesh_through_either_reader(shared_data: Path, name: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = shared_data / "meshes" / name
    fast = mesh_io.load_mesh(path)
    monkeypatch.setattr(mesh_io, "is_plain", lambda decoded: False)
    slow = mesh_io.load_mesh(path)
    assert_same_scene(fast.scene, slow.scene)
    np.testing.assert_array_equal(fast.mesh.vertices, slow.mesh.vertices)
    np.testing.assert_array_equal(fast.mesh.faces, slow.mesh.faces)
    assert (fast.warnings, fast.texture_status, fast.texture_detail) == (slow.warnings, slow.texture_status,
                                                                        slow.texture_detail)


def test_mixed_polygons_triangulate_exactly_as_trimesh_does() -> None:
    """Faces of mixed sizes, each reference form, random indices (negative ones too): the numpy
    path gives trimesh's ``_parse_faces_fallback`` arrays, or declines mixed forms."""
    import random

    from trimesh.exchange import obj as tm_obj

    from clip2point.datasets.obj_reader import _polygon_faces, _tokens_per_line

    rng = random.Random(1)
    forms = {"v": "{}", "vt": "{}/{}", "vn": "{}//{}", "all": "{}/{}/{}"}

    def ref(form: str) -> str:
        return forms[form].format(*(rng.choice([rng.randint(1, 99), -rng.randint(1, 5)]) for _ in range(3)))

    compared = 0
    for _ in range(400):
        form = rng.choice(sorted(forms))
        lines = [" " + " ".join(ref(form) for _ in range(rng.choice([1, 2, 3, 4, 4, 5, 7]))) + rng.choice(["", "\t"])
                 for _ in range(rng.randint(1, 10))]
        if rng.random() < 0.1:
            lines[0] += " " + ref(rng.choice(sorted(forms)))  # perhaps another form: then declined
        got = _polygon_faces(lines, _tokens_per_line("\n".join(lines).replace("/", " ")))
        want = tm_obj._parse_faces_fallback([line.strip() for line in lines])
        if got is None:
            continue
        compared += 1
        for ours, theirs in zip(got, want):
            assert (ours is None) == (theirs is None)
            if theirs is not None:
                assert ours.dtype == theirs.dtype and ours.shape == theirs.shape and np.array_equal(ours, theirs)
    assert compared > 300


@pytest.mark.parametrize("text", [*CRAFTED.values(), "v 0 0 0\n", "f 1 2 3\n", "\nusemtl a\nusemtl b\n",
                                  "v 1 1 1\ns 1\ng x\no y\nusemtl m\nf 1 1 1\nusemtl n\nf 1 1 1\nusemtl m\n"])
def test_face_sections_are_trimeshs(text: str) -> None:
    from trimesh.exchange import obj as tm_obj

    from clip2point.datasets.obj_reader import _preprocess_faces

    text = "\n{}\n".format(text.strip())
    assert _preprocess_faces(text) == tm_obj._preprocess_faces(text, False, False)


def test_the_reader_declines_everything_under_another_trimesh(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import clip2point.datasets.obj_reader as obj_reader

    path = shared_data / "meshes/classic/spot.obj"
    assert obj_reader.read_obj(path, path.read_text(), _resolver(path)) is not None
    monkeypatch.setattr(obj_reader, "_ACTIVE", False)
    assert obj_reader.read_obj(path, path.read_text(), _resolver(path)) is None
