"""Objaverse-LVIS zero-shot end to end: a miniature download folder (the collections tests'
writer), points sampled from its GLBs, scored through the CLI against every LVIS category with
top-1/3/5 and per-category accuracy; objects that cannot be scored are named, not fatal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import trimesh

from asset_fixtures import write_glb, write_objaverse_layout
from clip2point.cli import main
from clip2point.datasets.pointsets import PointSetOptions, load_pointset
from clip2point.errors import ConfigError

UIDS = {"mug": ("1a" * 16, "1b" * 16), "chair": ("2a" * 16,), "zebra": ("3a" * 16,)}


@pytest.fixture()
def lvis_root(tmp_path: Path) -> Path:
    staging = tmp_path / "staging"
    meshes: dict[str, Path | None] = {
        "1a" * 16: write_glb(staging / "a.glb", trimesh.creation.cylinder(radius=0.4, height=1.0)),
        "1b" * 16: write_glb(staging / "b.glb", trimesh.creation.annulus(r_min=0.2, r_max=0.5, height=0.3)),
        "2a" * 16: write_glb(staging / "c.glb", trimesh.creation.box(extents=(1.0, 2.0, 0.5))),
        "3a" * 16: None,  # listed, not downloaded: zebra keeps its class but has no objects
    }
    lvis = {category: list(uids) for category, uids in UIDS.items()} | {"accordion": []}
    return write_objaverse_layout(tmp_path / "objaverse", meshes, lvis)


def test_glbs_become_a_pointset_over_every_category(lvis_root: Path) -> None:
    ps = load_pointset("objaverse-lvis", lvis_root, "test", PointSetOptions(num_points=128, sampler="trimesh"))
    assert ps.class_names == ("accordion", "chair", "mug", "zebra")  # every key of the file
    assert dict(zip(ps.object_ids, ps.labels.tolist())) == {"1a" * 16: 2, "1b" * 16: 2, "2a" * 16: 1}
    assert ps.points.shape == (3, 128, 3) and ps.frame == "y-up"
    assert np.linalg.norm(ps.points, axis=-1).max() <= 1.0 + 1e-5  # load_mesh's normalisation
    assert [row["id"] for row in ps.info["not_scored"]] == ["3a" * 16]
    again = load_pointset("objaverse-lvis", lvis_root, "test", PointSetOptions(num_points=128, sampler="trimesh"))
    np.testing.assert_array_equal(ps.points, again.points)  # per-object seeds
    with pytest.raises(ConfigError, match="only a test split"):
        load_pointset("objaverse-lvis", lvis_root, "train")


def test_cli_scores_lvis_with_top_1_3_5(lvis_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "lvis.json"
    rc = main(["zeroshot", "--dataset", "objaverse-lvis", "--data", str(lvis_root), "--model", "c2p-tiny",
               "--num-points", "128", "--sampler", "trimesh", "--device", "cpu", "--topk", "1,3,5",
               "--out", str(out)])
    assert rc == 0
    result = json.loads(out.read_text())
    assert result["dataset"] == "objaverse-lvis" and result["count"] == 3
    assert result["class_names"] == ["accordion", "chair", "mug", "zebra"]
    assert result["classes_without_objects"] == ["accordion", "zebra"]
    assert set(result["per_class"]) == {"accordion", "chair", "mug", "zebra"}
    assert {"top1", "top3", "top5"} <= set(result) and result["top5"] == 100.0  # 4 classes
    assert result["top1"] == pytest.approx(result["accuracy"])
    assert [row["id"] for row in result["not_scored"]] == ["3a" * 16]


def test_shards_rendered_with_lvis_score_against_the_same_categories(lvis_root: Path, tmp_path: Path) -> None:
    shards = tmp_path / "shards"
    assert main(["render", "--objaverse", str(lvis_root), "--lvis", "--out", str(shards), "--size", "64",
                 "--views", "6", "--points", "2048", "--depth-points", "512", "--workers", "1", "--no-progress",
                 "--allow-failures"]) == 0
    out = tmp_path / "shards.json"
    assert main(["zeroshot", "--dataset", "shards", "--data", str(shards), "--model", "c2p-tiny", "--num-points",
                 "256", "--device", "cpu", "--topk", "1,3,5", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["class_names"] == ["accordion", "chair", "mug", "zebra"] and result["count"] == 3
    assert result["classes_without_objects"] == ["accordion", "zebra"] and "top3" in result
