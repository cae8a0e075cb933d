"""ScanObjectNN loader: variant files, split pairing, farthest point sampling to 1,024 points."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from clip2point.cli import main
from clip2point.datasets.pointsets import PointSetOptions, load_pointset
from clip2point.datasets.scanobjectnn import SCANOBJECTNN_CLASSES, declared_variants
from clip2point.errors import ConfigError, PathError
from clip2point.eval.evalsets import data_record, load_eval_split
from clip2point.eval.settings import DataSettings


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


# ---------------------------------------------------------------------------- named variants


def write_release(root: Path) -> Path:
    """The official h5_files layout in miniature; each file has its own object count."""
    counts = {"main_split_nobg/%s_objectdataset.h5": (5, 2), "main_split/%s_objectdataset.h5": (6, 3),
              "main_split/%s_objectdataset_augmentedrot_scale75.h5": (7, 4)}
    for pattern, (train, test) in counts.items():
        write_h5(root / (pattern % "training"), train, points=64, seed=train)
        write_h5(root / (pattern % "test"), test, points=64, seed=test)
    return root


@pytest.mark.parametrize("variant, folder, suffix, counts", [
    ("obj_only", "main_split_nobg", "", (5, 2)), ("obj_bg", "main_split", "", (6, 3)),
    ("pb_t50_rs", "main_split", "_augmentedrot_scale75", (7, 4))])
def test_variant_picks_its_published_file(tmp_path: Path, variant: str, folder: str, suffix: str,
                                          counts: tuple[int, int]) -> None:
    root = write_release(tmp_path / "h5_files")
    for start in (root, root / folder):  # the release folder or the variant's own folder
        data = DataSettings("scanobjectnn", start, num_points=64, variant=variant)
        test = load_eval_split(data, "test")
        assert test.source == str(root / folder / f"test_objectdataset{suffix}.h5") and len(test) == counts[1]
        both = load_eval_split(data, "all")
        assert both.split == "all" and len(both) == sum(counts) and len(set(both.object_ids)) == sum(counts)
        assert data_record(data, "all", both)["variant"] == variant


def test_a_file_named_for_another_variant_is_refused_unless_forced(tmp_path: Path) -> None:
    root = write_release(tmp_path / "h5_files")
    nobg = root / "main_split_nobg" / "test_objectdataset.h5"
    with pytest.raises(PathError, match="test_objectdataset.h5: its name says ScanObjectNN variant obj_only, not "
                                        "--variant obj_bg; pass --force-variant"):
        load_eval_split(DataSettings("scanobjectnn", nobg, num_points=64, variant="obj_bg"), "test")
    forced = DataSettings("scanobjectnn", nobg, num_points=64, variant="obj_bg", force_variant=True)
    assert load_eval_split(forced, "test").source == str(nobg)
    assert data_record(forced, "test")["variant"] == "obj_bg" and data_record(forced, "test")["forced_variant"]
    unnamed = DataSettings("scanobjectnn", nobg, num_points=64)  # no --variant: what the file's name says
    assert data_record(unnamed, "all", load_eval_split(unnamed, "all"))["variant"] == "obj_only"
    plain = root / "main_split" / "test_objectdataset.h5"
    with pytest.raises(PathError, match="variant obj_bg, not --variant pb_t50_rs"):
        load_eval_split(DataSettings("scanobjectnn", plain, num_points=64, variant="pb_t50_rs"), "test")
    with pytest.raises(PathError, match="main_split_nobg: no test_objectdataset_augmentedrot_scale75.h5 .*it holds "
                                        "test_objectdataset.h5, training_objectdataset.h5"):
        load_eval_split(DataSettings("scanobjectnn", root / "main_split_nobg", num_points=64, variant="pb_t50_rs"),
                        "test")


@pytest.mark.parametrize("path, declared", [
    ("main_split_nobg/test_objectdataset.h5", ("obj_only",)), ("main_split/training_objectdataset.h5", ("obj_bg",)),
    ("mine/test_objectdataset.h5", ("obj_only", "obj_bg")),
    ("x/test_objectdataset_augmentedrot_scale75.h5", ("pb_t50_rs",)),
    ("main_split_nobg/test_objectdataset_augmentedrot_scale75.h5", ("pb_t50_rs_nobg",)),
    ("main_split/test_objectdataset_augmented25rot.h5", ("pb_t25_r",)), ("x/test_scans.h5", ())])
def test_declared_variants_follow_the_release_names(path: str, declared: tuple[str, ...]) -> None:
    assert declared_variants(Path(path)) == declared


def test_variant_flags_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--variant obj_bg applies to --dataset scanobjectnn only, not modelnet40"):
        DataSettings("modelnet40", tmp_path, variant="obj_bg")
    with pytest.raises(ConfigError, match="--force-variant needs --variant"):
        DataSettings("scanobjectnn", tmp_path, force_variant=True)


def test_zeroshot_records_variant_split_and_topk(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = write_release(tmp_path / "h5_files")
    out = tmp_path / "zs.json"
    assert main(["zeroshot", "--dataset", "scanobjectnn", "--data", str(root), "--variant", "pb_t50_rs", "--split",
                 "all", "--model", "c2p-tiny", "--num-points", "64", "--views", "6", "--device", "cpu",
                 "--topk", "1,3,5", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert (result["dataset"], result["variant"], result["split"], result["count"]) == ("scanobjectnn", "pb_t50_rs",
                                                                                       "all", 11)
    assert result["config"]["data"]["variant"] == "pb_t50_rs" and result["config"]["split"] == "all"
    assert result["top1"] == result["accuracy"] <= result["top3"] <= result["top5"]
    assert "scanobjectnn pb_t50_rs all" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # argparse: usage line and our sentence
        main(["zeroshot", "--dataset", "scanobjectnn", "--data", str(root), "--topk", "0"])
    assert "--topk must be one or more integers >= 1; got (0,)" in capsys.readouterr().err
