"""Few-shot DPA (SPEC §7) on the built-in synthetic ShapeNet-style mesh set rather than on
procedural clouds: meshes written by ``write_synthetic_set``, read back with ``load_mesh``,
surface-sampled, projected to depth and encoded by the random-weight tiny CLIP towers that
``test_fewshot`` uses, so the whole mesh -> points -> views -> adapter chain must carry class
information."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from clip2point.datasets.mesh_io import load_mesh
from clip2point.datasets.pointsets import PointSet
from clip2point.datasets.sampling import DEPTH_POINTS, sample_surface
from clip2point.datasets.synthetic import resolve_classes, write_synthetic_set
from clip2point.datasets.synthetic.shapes import model_id
from clip2point.datasets.taxonomy import synset_name
from clip2point.eval.encoders import Encoders, text_features
from clip2point.eval.features import FeatureStore, prepare_points
from clip2point.eval.fewshot import FewShotSettings, run_fewshot_on_features
from clip2point.eval.settings import ViewSettings
from fewshot_fixtures import one_thread, tiny  # noqa: F401  (shared fixtures: the tiny towers, one torch thread)

CLASSES = ("airplane", "car", "chair", "lamp", "table")  # five clearly different shapes: chance is 20%
PER_CLASS, TRAIN_PER_CLASS = 30, 14  # objects 0-13 of a class are the few-shot pool, 14-29 (16) are test
SET_SEED = 0
SETTINGS = FewShotSettings(shots=8, val_per_class=4, seeds=(0, 1, 2), epochs=30, batch_size=4)


def synthetic_pointsets(root: Path) -> tuple[PointSet, PointSet]:
    """Train-pool and test ``PointSet``s of surface samples of every object of the set in ``root``.

    The set's own split holds out one object in five, too few test objects at this size, so the
    split is by object index instead (object i is the same mesh whatever the set size)."""
    synsets = resolve_classes(CLASSES)
    names = tuple(synset_name(s) for s in synsets)
    parts: dict[str, tuple[list[np.ndarray], list[int], list[str]]] = {"train": ([], [], []), "test": ([], [], [])}
    for label, synset in enumerate(synsets):
        for index in range(PER_CLASS):
            object_id = f"{synset}/{model_id(synset, index, SET_SEED)}"
            mesh = load_mesh(root / object_id / "models" / "model_normalized.obj")
            clouds, labels, ids = parts["train" if index < TRAIN_PER_CLASS else "test"]
            clouds.append(sample_surface(mesh.mesh, DEPTH_POINTS, seed=index))
            labels.append(label)
            ids.append(object_id)
    train, test = (PointSet("synthetic", split, np.stack(c), np.array(lab), names, tuple(ids))
                   for split, (c, lab, ids) in parts.items())
    return train, test


@pytest.fixture(scope="module")
def set_features(tiny: Encoders, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:  # noqa: F811
    """6-view features of both towers for the train pool and the test objects, and the prompts."""
    root = write_synthetic_set(tmp_path_factory.mktemp("synthetic") / "set", per_class=PER_CLASS, seed=SET_SEED,
                               classes=CLASSES)
    train, test = synthetic_pointsets(root)
    assert train.class_names == CLASSES and len(train) == len(CLASSES) * TRAIN_PER_CLASS
    assert len(test) == len(CLASSES) * (PER_CLASS - TRAIN_PER_CLASS)
    towers = {p: (tiny.visual[p], tiny.ids[p]) for p in ("clip", "pretrained")}
    store = FeatureStore()
    out: dict[str, object] = {"texts": text_features(tiny, CLASSES, "image of a {}")}
    for ps in (train, test):
        out[ps.split] = (store.features(towers, prepare_points(ps), ViewSettings(num_views=6)), ps.labels)
    return out


@pytest.mark.parametrize("paths", [("clip",), ("pretrained", "clip")])
def test_dpa_learns_the_synthetic_mesh_set_far_above_chance(set_features: dict, paths: tuple[str, ...]) -> None:
    """5 synthetic classes (chance 20%), 8 shots + 4 validation objects per class, 16 test
    objects per class, random-weight tiny CLIP. Asserted: every seed >= 55% and the mean >= 65%.
    Measured (seeds 0, 1, 2; deterministic on CPU): CLIP path 93.8, 78.8, 87.5% (mean 86.7%);
    dual path 87.5, 82.5, 85.0% (mean 85.0%). Over seeds 3-11 no seed fell below 72.5% and no
    three-seed mean below 80.8%, so the bounds leave room for other torch/BLAS builds."""
    (train, train_labels), (test, test_labels) = set_features["train"], set_features["test"]
    result = run_fewshot_on_features(train, train_labels, test, test_labels, set_features["texts"], CLASSES,
                                     replace(SETTINGS, paths=paths))
    assert [s.seed for s in result.seeds] == [0, 1, 2]
    assert all(s.report.confusion.sum() == len(test_labels) for s in result.seeds)
    assert min(result.accuracies) >= 55.0, result.accuracies
    assert result.mean >= 65.0, result.accuracies
