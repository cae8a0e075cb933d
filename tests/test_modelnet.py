"""ModelNet loaders: .off folders (incl. the fused ``OFF490 518 0`` header) and the PointNet .h5 files."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from clip2point.datasets import modelnet
from clip2point.datasets.modelnet import MODELNET10_CLASSES, sample_off
from clip2point.datasets.off_io import read_off
from clip2point.datasets.pointsets import PointSetOptions, load_pointset
from clip2point.errors import MeshLoadError, PathError
from pointset_fixtures import CUBE_F, CUBE_V, make_off_folder, write_off

def test_fused_header_reads_like_a_normal_one(tmp_path: Path) -> None:
    normal = read_off(write_off(tmp_path / "a.off"))
    fused = read_off(write_off(tmp_path / "b.off", fused=True))
    np.testing.assert_array_equal(normal[0], CUBE_V)
    np.testing.assert_array_equal(normal[1], CUBE_F)
    np.testing.assert_array_equal(fused[0], normal[0])
    np.testing.assert_array_equal(fused[1], normal[1])


def test_polygons_are_fan_triangulated_and_comments_skipped(tmp_path: Path) -> None:
    path = tmp_path / "quad.off"
    path.write_text("OFF\n# a comment\n5 1 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n0.5 1.5 0\n\n5 0 1 2 4 3\n")
    vertices, faces = read_off(path)
    assert vertices.shape == (5, 3)
    np.testing.assert_array_equal(faces, [[0, 1, 2], [0, 2, 4], [0, 4, 3]])


@pytest.mark.parametrize("text, message", [
    ("", "not an OFF file"),
    ("PLY\n", "not an OFF file"),
    ("OFF\nfoo bar\n", "malformed OFF header"),
    ("OFF\n3 1 0\n0 0 0\n1 0 0\n", "truncated: header promises 3 vertices \\+ 1 faces"),
    ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n", "a face refers to vertex 7 of 3"),
    ("OFF\n3 1 0\n0 0 0\n1 0 x\n0 1 0\n3 0 1 2\n", "malformed vertex line"),
    ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n2 0 1\n", "malformed face line"),
    ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 x\n", "malformed face line"),
    ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 -1\n", "a face refers to vertex -1 of 3"),
])
def test_bad_off_files_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.off"
    path.write_text(text)
    with pytest.raises(MeshLoadError, match=f"bad.off: {message}"):
        read_off(path)


def test_zero_area_mesh_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "flat.off"
    path.write_text("OFF\n3 1 0\n0 0 0\n1 0 0\n2 0 0\n3 0 1 2\n")
    with pytest.raises(MeshLoadError, match="flat.off: zero surface area"):
        sample_off(path, 16, seed=0)


@pytest.mark.parametrize("sampler", ["open3d", "trimesh"])
def test_samples_lie_on_the_surface_and_are_seeded(tmp_path: Path, sampler: str) -> None:
    path = write_off(tmp_path / "cube.off")
    a = sample_off(path, 1024, seed=3, sampler=sampler)
    b = sample_off(path, 1024, seed=3, sampler=sampler)
    c = sample_off(path, 1024, seed=4, sampler=sampler)
    assert a.shape == (1024, 3) and a.dtype == np.float32
    np.testing.assert_allclose(np.abs(a).max(axis=1), 1.0, atol=1e-6)  # every point on a cube face
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # uniform over area: each of the 6 faces gets about 1/6 of the points
    face_of = np.argmax(np.concatenate([a, -a], axis=1), axis=1)
    assert np.bincount(face_of, minlength=6).min() > 1024 / 6 * 0.7


def test_off_folder_loads_with_labels_ids_and_frame(tmp_path: Path) -> None:
    root = make_off_folder(tmp_path / "ModelNet40", ("chair", "airplane"))
    ps = load_pointset("modelnet40", root, "test", PointSetOptions(num_points=64))
    assert ps.points.shape == (4, 64, 3)
    assert ps.class_names == ("airplane", "chair")
    np.testing.assert_array_equal(ps.labels, [0, 0, 1, 1])
    assert ps.object_ids[0] == "airplane/test/airplane_0001.off"
    assert ps.frame == "z-up"
    # the second file of each class is a cube of half-size 2 with a fused header
    np.testing.assert_allclose(np.abs(ps.points[1]).max(axis=1), 2.0, atol=1e-5)


def test_object_clouds_do_not_depend_on_other_files(tmp_path: Path) -> None:
    root = make_off_folder(tmp_path / "mn", ("chair", "airplane"))
    before = load_pointset("modelnet40", root, "train", PointSetOptions(num_points=32))
    (root / "airplane" / "train" / "airplane_0001.off").unlink()
    after = load_pointset("modelnet40", root, "train", PointSetOptions(num_points=32))
    np.testing.assert_array_equal(after.points, before.points[1:])


def test_parallel_workers_give_the_same_clouds(tmp_path: Path) -> None:
    root = make_off_folder(tmp_path / "mn", ("chair",), per_split=3)
    one = load_pointset("modelnet40", root, "train", PointSetOptions(num_points=32))
    two = load_pointset("modelnet40", root, "train", PointSetOptions(num_points=32, workers=2))
    np.testing.assert_array_equal(one.points, two.points)


def test_modelnet10_is_taken_out_of_a_modelnet40_folder(tmp_path: Path) -> None:
    root = make_off_folder(tmp_path / "mn", MODELNET10_CLASSES + ("airplane", "xbox"), per_split=1)
    ps = load_pointset("modelnet10", root, "test", PointSetOptions(num_points=16))
    assert ps.class_names == MODELNET10_CLASSES
    np.testing.assert_array_equal(ps.labels, np.arange(10))
    assert ps.object_ids[0] == "bathtub/test/bathtub_0001.off"


def test_cache_skips_sampling_on_the_second_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_off_folder(tmp_path / "mn", ("chair",))
    options = PointSetOptions(num_points=32, cache_dir=tmp_path / "cache")
    first = load_pointset("modelnet40", root, "test", options)
    assert len(list((tmp_path / "cache").glob("points-modelnet40-test-*.npz"))) == 1

    def no_sampling(*args: object) -> None:
        raise AssertionError("sampled again despite the cache")

    monkeypatch.setattr(modelnet, "_sample_job", no_sampling)
    second = load_pointset("modelnet40", root, "test", options)
    np.testing.assert_array_equal(second.points, first.points)
    np.testing.assert_array_equal(second.labels, first.labels)
    assert (second.class_names, second.object_ids, second.frame, second.info) == (
        first.class_names, first.object_ids, "z-up", first.info)


def test_missing_folders_are_named(tmp_path: Path) -> None:
    with pytest.raises(PathError, match="nowhere: modelnet40 data not found"):
        load_pointset("modelnet40", tmp_path / "nowhere", "test")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PathError, match="empty: no CLASS/test/ folders and no ply_data_\\*.h5 files"):
        load_pointset("modelnet40", tmp_path / "empty", "test")


# ---------------------------------------------------------------------------- h5


def make_h5_folder(root: Path, counts: dict[str, int], names: tuple[str, ...] = ("airplane", "bathtub", "bed")) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "shape_names.txt").write_text("\n".join(names) + "\n")
    rng = np.random.default_rng(0)
    for i, (stem, n) in enumerate(counts.items()):
        with h5py.File(root / f"{stem}.h5", "w") as fh:
            data = rng.normal(size=(n, 2048, 3)).astype(np.float32)
            data[:, 0, 0] = i  # marks the file a cloud came from
            fh["data"] = data
            fh["label"] = (np.arange(n) % len(names)).astype(np.uint8)[:, None]
    return root


def test_h5_files_are_read_in_numeric_order_and_truncated(tmp_path: Path) -> None:
    root = make_h5_folder(tmp_path / "h5", {"ply_data_train0": 3, "ply_data_train10": 2, "ply_data_train2": 1,
                                              "ply_data_test0": 4})
    ps = load_pointset("modelnet40", root, "train", PointSetOptions(num_points=1024))
    assert ps.points.shape == (6, 1024, 3)
    np.testing.assert_array_equal(ps.points[:, 0, 0], [0, 0, 0, 2, 1, 1])  # train0, train2, train10
    np.testing.assert_array_equal(ps.labels, [0, 1, 2, 0, 0, 1])
    with h5py.File(root / "ply_data_train0.h5") as fh:
        np.testing.assert_array_equal(ps.points[:3], fh["data"][:, :1024])
    assert ps.object_ids[3] == "ply_data_train2.h5:0"
    assert ps.frame == "y-up" and ps.class_names == ("airplane", "bathtub", "bed")


def test_h5_modelnet10_subset(tmp_path: Path) -> None:
    names = MODELNET10_CLASSES[:5] + ("airplane",) + MODELNET10_CLASSES[5:]
    root = make_h5_folder(tmp_path / "h5", {"ply_data_test0": 22}, names)
    ps = load_pointset("modelnet10", root, "test", PointSetOptions(num_points=8))
    assert ps.class_names == MODELNET10_CLASSES
    assert len(ps) == 20  # the two airplanes dropped
    assert ps.labels.max() == 9


def test_h5_errors_name_the_file(tmp_path: Path) -> None:
    root = make_h5_folder(tmp_path / "h5", {"ply_data_test0": 2})
    with pytest.raises(PathError, match="h5: no ply_data_train\\*.h5 files"):
        load_pointset("modelnet40", root, "train")
    with h5py.File(root / "ply_data_test1.h5", "w") as fh:
        fh["data"] = np.zeros((1, 2048, 3), np.float32)
    with pytest.raises(PathError, match="ply_data_test1.h5: no label dataset; found \\['data'\\]"):
        load_pointset("modelnet40", root, "test")
    (root / "ply_data_test1.h5").write_bytes(b"not hdf5")
    with pytest.raises(PathError, match="ply_data_test1.h5: not a readable HDF5 file"):
        load_pointset("modelnet40", root, "test")
    (root / "ply_data_test1.h5").unlink()
    (root / "shape_names.txt").unlink()
    with pytest.raises(PathError, match="shape_names.txt: missing"):
        load_pointset("modelnet40", root, "test")
