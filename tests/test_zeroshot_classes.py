"""Zero-shot scores against the dataset's full class list, even where a copy of the dataset has
objects of only some classes, and says which classes have none."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from pointset_fixtures import make_off_folder

from clip2point.cli import main
from clip2point.datasets.modelnet import MODELNET10_CLASSES, MODELNET40_CLASSES, with_full_class_list
from clip2point.datasets.pointsets import PointSet


def _pointset(name: str, classes: tuple[str, ...], labels: list[int]) -> PointSet:
    clouds = np.zeros((len(labels), 4, 3), dtype=np.float32)
    return PointSet(name, "test", clouds, np.array(labels), classes, tuple(map(str, range(len(labels)))),
                    frame="z-up")


def test_labels_move_into_the_full_list() -> None:
    ps = with_full_class_list(_pointset("modelnet40", ("chair", "xbox"), [1, 0, 1]))
    assert ps.class_names == MODELNET40_CLASSES
    assert [ps.class_names[i] for i in ps.labels] == ["xbox", "chair", "xbox"]
    assert with_full_class_list(_pointset("modelnet10", ("toilet",), [0])).class_names == MODELNET10_CLASSES
    odd = _pointset("modelnet40", ("chair", "spaceship"), [0, 1])  # not ModelNet's classes: left as it is
    assert with_full_class_list(odd).class_names == ("chair", "spaceship")
    assert len(MODELNET40_CLASSES) == 40 and len(set(MODELNET40_CLASSES)) == 40


def test_one_class_folder_is_scored_against_all_forty(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = make_off_folder(tmp_path / "ModelNet40", ("chair",), per_split=1)
    out = tmp_path / "zs.json"
    with caplog.at_level(logging.WARNING):
        assert main(["zeroshot", "--dataset", "modelnet40", "--data", str(root), "--model", "c2p-tiny",
                     "--num-points", "128", "--device", "cpu", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["count"] == 1 and len(result["class_names"]) == 40 and len(result["per_class"]) == 40
    assert result["classes_without_objects"] == [c for c in MODELNET40_CLASSES if c != "chair"]
    assert "39 of the 40 classes have no test objects" in caplog.text


def test_pretraining_validation_scores_modelnet_against_all_forty(tmp_path: Path) -> None:
    from clip2point.train.validation import modelnet40_zero_shot_set

    root = make_off_folder(tmp_path / "ModelNet40", ("chair",), per_split=1)
    assert modelnet40_zero_shot_set(root, 64).class_names == MODELNET40_CLASSES
