"""Bad evaluation inputs name what is wrong: NaN clouds name their file and row or object, and
a corrupt point-set cache entry is reported and rebuilt instead of stopping the run."""

from __future__ import annotations

import logging
from pathlib import Path

import h5py
import numpy as np
import pytest

from clip2point.datasets.pointsets import PointSet, PointSetOptions, load_pointset
from clip2point.errors import PathError
from pointset_fixtures import make_shape_h5_folder


def _poison(path: Path, row: int) -> None:
    """Put one NaN coordinate into cloud ``row`` of an h5 file."""
    with h5py.File(path, "r+") as fh:
        data = fh["data"][...]
        data[row, 5, 1] = np.nan
        fh["data"][...] = data


def test_nan_in_a_modelnet_h5_names_the_file_and_row(tmp_path: Path) -> None:
    root = make_shape_h5_folder(tmp_path / "h5", train_per_class=1, test_per_class=1, points=64)
    _poison(root / "ply_data_test0.h5", 2)
    with pytest.raises(PathError, match=r"ply_data_test0\.h5: points contain NaN or infinite coordinates "
                                        r"in 1 object\(s\): row 2"):
        load_pointset("modelnet40", root, "test", PointSetOptions(num_points=64))


def test_nan_in_scanobjectnn_is_named_before_sampling(tmp_path: Path) -> None:
    from test_scanobjectnn import write_h5

    path = write_h5(tmp_path / "so" / "test_objectdataset.h5", 4, points=128)
    write_h5(tmp_path / "so" / "training_objectdataset.h5", 4, points=128)
    _poison(path, 3)
    with pytest.raises(PathError, match=r"test_objectdataset\.h5: points contain NaN .* row 3"):
        load_pointset("scanobjectnn", path, "test", PointSetOptions(num_points=64))


def test_a_point_set_names_its_source_and_bad_objects() -> None:
    points = np.zeros((5, 4, 3), np.float32)
    points[[1, 2, 3, 4], 0, 0] = [np.inf, np.nan, -np.inf, np.nan]
    with pytest.raises(PathError, match=r"^shards/x: points contain NaN or infinite coordinates in 4 "
                                        r"object\(s\): o1, o2, o3 and 1 more$"):
        PointSet("shards", "test", points, np.zeros(5), ("a",), tuple(f"o{i}" for i in range(5)), source="shards/x")


@pytest.mark.parametrize("garbage", [b"", b"not a zip file at all", b"PK\x03\x04truncated"])
def test_a_corrupt_cache_entry_is_named_and_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                    garbage: bytes) -> None:
    root = make_shape_h5_folder(tmp_path / "h5", train_per_class=1, test_per_class=2, points=64)
    options = PointSetOptions(num_points=32, cache_dir=tmp_path / "cache")
    first = load_pointset("modelnet40", root, "test", options)
    (entry,) = (tmp_path / "cache").glob("points-*.npz")
    entry.write_bytes(garbage)
    with caplog.at_level(logging.WARNING):
        again = load_pointset("modelnet40", root, "test", options)
    np.testing.assert_array_equal(again.points, first.points)
    assert f"{entry}: unreadable cache entry" in caplog.text
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [entry.name]  # rebuilt in place, no temp
    caplog.clear()
    load_pointset("modelnet40", root, "test", options)
    assert "unreadable" not in caplog.text  # the rebuilt entry is good


def test_nan_in_a_shard_names_the_folder_and_object(tmp_path: Path) -> None:
    from train_support import write_random_shards

    root = write_random_shards(tmp_path / "shards", train=4, test=5, num_points=96)
    with h5py.File(root / "shard-00001.h5", "r+") as fh:  # its one object is in the test split
        points = fh["points"][...]
        points[0, 0, 2] = np.inf  # a point the 32-point subset may well not draw: the whole cloud is checked
        fh["points"][...] = points
        oid = fh["object_id"][0].decode()
    message = f"^{root}: points contain NaN or infinite coordinates in 1 object\\(s\\): {oid}$"
    with pytest.raises(PathError, match=message):
        load_pointset("shards", root, "test", PointSetOptions(num_points=32))
