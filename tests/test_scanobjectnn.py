"""ScanObjectNN loader: variant files, split pairing, farthest point sampling to 1,024 points."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from clip2point.datasets.pointsets import PointSetOptions, load_pointset
from clip2point.datasets.scanobjectnn import SCANOBJECTNN_CLASSES
from clip2point.errors import PathError


def write_h5(path: Path, n: int, *, points: int = 2048, seed: int = 0, label_max: int = 14) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as fh:
        fh["data"] = rng.uniform(-1, 1, size=(n, points, 3)).astype(np.float32)
        fh["label"] = np.linspace(0, label_max, n).astype(np.int64)
        fh["mask"] = np.zeros((n, points), np.int64)  # real files carry extra datasets
    return path


def slow_fps(points: np.ndarray, n: int) -> np.ndarray:
    """Textbook farthest point sampling from index 0, one point at a time."""
    chosen = [0]
    dist = np.full(len(points), np.inf)
    for _ in range(n - 1):
        dist = np.minimum(dist, ((points - points[chosen[-1]]) ** 2).sum(1))
        chosen.append(int(np.argmax(dist)))
    return points[chosen]


def test_test_split_is_fps_reduced(tmp_path: Path) -> None:
    folder = tmp_path / "main_split_nobg"
    write_h5(folder / "training_objectdataset.h5", 5, seed=1)
    path = write_h5(folder / "test_objectdataset.h5", 3, points=300, seed=2)
    ps = load_pointset("scanobjectnn", folder, "test", PointSetOptions(num_points=64))
    assert ps.points.shape == (3, 64, 3)
    assert ps.class_names == SCANOBJECTNN_CLASSES and len(ps.class_names) == 15
    assert ps.frame == "y-up"
    assert ps.object_ids == ("test_objectdataset.h5:0", "test_objectdataset.h5:1", "test_objectdataset.h5:2")
    with h5py.File(path) as fh:
        raw = fh["data"][...]
        np.testing.assert_array_equal(ps.labels, fh["label"][...])
    for i in range(3):
        np.testing.assert_array_equal(ps.points[i], slow_fps(raw[i], 64))


def test_a_file_finds_its_other_split(tmp_path: Path) -> None:
    folder = tmp_path / "PB_T50_RS"
    train = write_h5(folder / "training_objectdataset_augmentedrot_scale75.h5", 4, points=1024)
    test = write_h5(folder / "test_objectdataset_augmentedrot_scale75.h5", 2, points=1024)
    ps = load_pointset("scanobjectnn", test, "train", PointSetOptions())
    assert len(ps) == 4 and ps.source == str(train)
    with h5py.File(train) as fh:  # already 1,024 points: kept as stored
        np.testing.assert_array_equal(ps.points, fh["data"][...])
    assert len(load_pointset("scanobjectnn", train, "test", PointSetOptions())) == 2


def test_ambiguous_or_missing_files_are_named(tmp_path: Path) -> None:
    folder = tmp_path / "h5_files"
    write_h5(folder / "test_objectdataset.h5", 2)
    write_h5(folder / "test_objectdataset_augmented25rot.h5", 2)
    with pytest.raises(PathError, match="h5_files: holds several variants \\(test_objectdataset.h5, "
                                        "test_objectdataset_augmented25rot.h5\\)"):
        load_pointset("scanobjectnn", folder, "test")
    with pytest.raises(PathError, match="training_objectdataset.h5: the train file beside test_objectdataset.h5"):
        load_pointset("scanobjectnn", folder / "test_objectdataset.h5", "train")
    with pytest.raises(PathError, match="h5_files: no training_\\*.h5 file"):
        load_pointset("scanobjectnn", folder, "train")
    odd = write_h5(tmp_path / "objects.h5", 2)
    with pytest.raises(PathError, match="objects.h5: not a ScanObjectNN file name"):
        load_pointset("scanobjectnn", odd, "test")


def test_bad_contents_are_named(tmp_path: Path) -> None:
    path = write_h5(tmp_path / "test_bad.h5", 3, label_max=20)
    with pytest.raises(PathError, match="test_bad.h5: labels span \\[0, 20\\]; ScanObjectNN has 15 classes"):
        load_pointset("scanobjectnn", path, "test")
    path = write_h5(tmp_path / "test_few.h5", 2, points=100)
    with pytest.raises(PathError, match="test_few.h5: clouds have 100 points, fewer than num_points=1024"):
        load_pointset("scanobjectnn", path, "test")
