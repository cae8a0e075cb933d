"""The generation job: planning, determinism across workers and nodes, failure accounting,
retries, configuration checks and the CLI."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from job_helpers import (
    BROKEN_MESHES, assert_same_shards, copy_model, index_of, object_hashes, small_config, synthetic_cache, write_mesh, write_split,
)

from clip2point.cli import main
from clip2point.datasets.shards.merge import merge_shard_folders
from clip2point.datasets.shapenet import build_shapenet_index
from clip2point.errors import ConfigError
from clip2point.render import worker as worker_module
from clip2point.render.job.run import plan_job, run_render_job, synthetic_source
from clip2point.render.job.config import RenderJobConfig
from clip2point.datasets.mesh_io import load_mesh
from clip2point.render.worker import depth_subset
from clip2point.seeds import SHARD_SEEDS, derive_seed

__all__ = ["synthetic_cache"]  # autouse fixture: a private synthetic-set cache per test session


def test_derived_seed_is_stable_and_distinct() -> None:
    assert derive_seed(0, "02691156-aaa", SHARD_SEEDS) == derive_seed(0, "02691156-aaa", SHARD_SEEDS)
    assert len({derive_seed(s, i, SHARD_SEEDS) for s in (0, 1) for i in ("a", "b", "c")}) == 6
    assert 0 <= derive_seed(7, "x", SHARD_SEEDS) < 2 ** 63


def test_depth_subset_is_a_seeded_subset_of_distinct_stored_points() -> None:
    points = np.arange(300, dtype=np.float32).reshape(100, 3)
    subset = depth_subset(points, 40, seed=5)
    assert subset.shape == (40, 3)
    assert len({tuple(p) for p in subset}) == 40 and {tuple(p) for p in subset} <= {tuple(p) for p in points}
    np.testing.assert_array_equal(subset, depth_subset(points, 40, seed=5))
    assert not np.array_equal(subset, depth_subset(points, 40, seed=6))


@pytest.mark.parametrize(("overrides", "message"), [
    ({"num_views": 8}, r"--views must be one of 10, 6; got 8 \(the paper's presets\)"),
    ({"size": 4}, r"--size must be an integer in \[16, 2048\]"),
    ({"depth_points": 9000}, r"--depth-points must be an integer in \[1, 8192\]"),
    ({"objects_per_shard": 0}, "--objects-per-shard must be an integer >= 1"),
    ({"seed": -1}, "--seed must be an integer >= 0"),
    ({"max_faces": 0}, "--max-faces must be an integer >= 1"),
    ({"timeout_s": 0.0}, r"--timeout must be a finite number > 0; got 0.0 \(seconds, or leave it out\)"),
    ({"split_dir": "splits"}, "--split-dir needs --shapenet ROOT"),
    ({"light": "sideways"}, r"--light 'sideways': use one of random, headlight, fixed or a non-zero direction X,Y,Z"),
    ({"shading": "pbr"}, r"--shading must be one of faithful, improved; got 'pbr'"),
])
def test_config_validation_says_how_to_fix(tmp_path: Path, overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RenderJobConfig(out=tmp_path, **overrides)


def test_plan_chunks_sorted_objects_into_fixed_shards(tmp_path: Path) -> None:
    config = small_config(tmp_path / "out", objects_per_shard=4)
    plan = plan_job(config)
    ids = [e.object_id for t in plan.tasks for e in t.entries]
    index = build_shapenet_index(synthetic_source(config))
    assert ids == sorted(e.object_id for e in index.entries) and len(ids) == len(index.entries)
    assert [t.shard_id for t in plan.tasks] == list(range(len(plan.tasks)))
    assert all(t.num_objects == 4 for t in plan.tasks[:-1]) and 1 <= plan.tasks[-1].num_objects <= 4
    assert {e.split for e in index.entries} == {"train", "test"}
    assert len(plan_job(small_config(tmp_path / "o2", limit=5)).tasks) == 2


def test_output_is_independent_of_workers_and_node_split(tmp_path: Path) -> None:
    """1 worker, 2 loky workers and a 2-node split (merged) give identical objects and shards."""
    run_render_job(small_config(tmp_path / "one", limit=8), workers=1, progress=False)
    run_render_job(small_config(tmp_path / "two", limit=8), workers=2, progress=False)
    for rank in (0, 1):
        report = run_render_job(small_config(tmp_path / f"node{rank}", limit=8), num_nodes=2, node_rank=rank,
                                progress=False)
        assert report.shards_planned == (2 if rank == 0 else 1)
    merge_shard_folders(tmp_path / "merged", [tmp_path / "node0", tmp_path / "node1"])

    reference = object_hashes(tmp_path / "one")
    assert len(reference) == 8
    assert object_hashes(tmp_path / "two") == reference
    assert object_hashes(tmp_path / "merged") == reference
    assert_same_shards(tmp_path / "two", tmp_path / "one")
    assert_same_shards(tmp_path / "merged", tmp_path / "one")


def test_shard_content_matches_the_configuration(tmp_path: Path) -> None:
    config = small_config(tmp_path / "out", limit=3)
    run_render_job(config, progress=False)
    with h5py.File(tmp_path / "out" / "shard-00000.h5") as h5:
        rgb, depth, points = h5["rgb"][()], h5["depth"][()], h5["points"][()]
        elev = h5["elev"][0]
        assert json.loads(h5.attrs["config"]) == config.identity()
    assert rgb.shape == (3, 6, 64, 64, 3) and depth.shape == (3, 6, 64, 64) and points.shape == (3, 2048, 3)
    np.testing.assert_array_equal(elev, [0, 0, 0, 0, 90, -90])
    assert np.linalg.norm(points, axis=-1).max() <= 1.0 + 1e-5
    for obj in range(3):
        assert (rgb[obj] < 250).any(axis=-1).mean() > 0.02  # the object is drawn, on white
        assert (rgb[obj][:, 0, 0] == 255).all()
        assert (depth[obj] > 0).mean() > 0.01 and (depth[obj] >= 0).all()


def test_light_and_shading_are_recorded_and_change_only_the_rgb(tmp_path: Path) -> None:
    """The shard configuration records the light and the shading; they change the RGB views
    and nothing else of an object (points and depth maps are the same bytes)."""
    arrays = {}
    for name, overrides in {"default": {}, "other": {"light": "0,0,1", "shading": "improved"}}.items():
        config = small_config(tmp_path / name, limit=2, **overrides)
        run_render_job(config, progress=False)
        with h5py.File(tmp_path / name / "shard-00000.h5") as h5:
            recorded = json.loads(h5.attrs["config"])
            arrays[name] = {key: h5[key][()] for key in ("rgb", "depth", "points")}
        assert {k: recorded[k] for k in ("light", "shading")} == {k: config.identity()[k] for k in ("light", "shading")}
    assert config.identity()["light"] == "0,0,1" and RenderJobConfig(out=tmp_path).identity()["light"] == "random"
    for key in ("depth", "points"):
        np.testing.assert_array_equal(arrays["default"][key], arrays["other"][key])
    assert not np.array_equal(arrays["default"]["rgb"], arrays["other"]["rgb"])


def _broken_tree(tmp_path: Path) -> tuple[Path, list[str], str]:
    """ShapeNet layout: three good synthetic models, four broken meshes, a listed-but-absent
    model and one skip-list entry. Returns (root, good ids, id of the good model with most faces)."""
    source = synthetic_source(small_config(tmp_path / "unused"))
    good = [e.object_id for e in build_shapenet_index(source).entries[:3]]
    root = tmp_path / "shapenet"
    paths = {object_id: copy_model(source, object_id, root) for object_id in good}
    for object_id, text in BROKEN_MESHES.items():
        write_mesh(root, object_id, text)
    write_split(root, train=[*good[:2], *BROKEN_MESHES, "02958343-absent"],
                test=[good[2], "03001627-u45c7b89f-d996-4c29-aecf-4b760d1fb2b6"])
    largest = max(good, key=lambda i: load_mesh(paths[i]).num_faces)
    return root, good, largest


def test_every_object_is_rendered_skipped_or_failed_with_its_reason(tmp_path: Path) -> None:
    root, good, largest = _broken_tree(tmp_path)
    limit = load_mesh(root / largest.replace("-", "/", 1) / "models" / "model_normalized.obj").num_faces - 1
    config = small_config(tmp_path / "out", shapenet_root=root, max_faces=limit)
    report = run_render_job(config, progress=False)

    index = index_of(tmp_path / "out")
    rendered = {o["object_id"] for o in index["objects"]}
    reasons = {f["object_id"]: f["reason"] for f in index["failures"]}
    assert rendered == set(good) - {largest}
    assert [s["object_id"] for s in index["skipped"]] == ["03001627-u45c7b89f-d996-4c29-aecf-4b760d1fb2b6"]
    assert "paper skip list" in index["skipped"][0]["reason"]
    assert set(reasons) == {*BROKEN_MESHES, "02958343-absent", largest}
    assert "not a text OBJ file" in reasons["03001627-garbage"]
    assert reasons["03001627-empty"] == "file is empty"
    assert "NaN or infinite" in reasons["03001627-nanvertex"]
    assert "no faces" in reasons["03001627-nofaces"]
    assert "does not exist" in reasons["02958343-absent"]
    assert f"is more than max_faces={limit}" in reasons[largest]
    assert (report.rendered, report.failed, report.skipped) == (2, 6, 1)
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["failed"] == 6 and set(saved["stage_seconds"]) == {"load", "sample", "rgb", "depth", "write"}
    assert set(saved["stage_cpu_seconds"]) == set(saved["stage_seconds"])
    assert saved["stage_cpu_seconds"]["load"] > 0 and saved["stage_cpu_seconds"]["rgb"] > 0


def test_retry_failed_rerenders_only_failures_and_keeps_each_object_once(tmp_path: Path) -> None:
    root, good, largest = _broken_tree(tmp_path)
    limit = load_mesh(root / largest.replace("-", "/", 1) / "models" / "model_normalized.obj").num_faces - 1
    out = tmp_path / "out"
    run_render_job(small_config(out, shapenet_root=root, max_faces=limit), progress=False)
    before = {p.name: p.read_bytes() for p in out.glob("shard-*.h5")}

    report = run_render_job(small_config(out, shapenet_root=root), retry_failed=True, progress=False)

    index = index_of(out)
    assert (report.rendered, report.failed, report.shards_run) == (1, 5, 2)  # 6 failures, 3 per shard
    assert {p.name: p.read_bytes() for p in out.glob("shard-*.h5") if p.name in before} == before
    ids = [o["object_id"] for o in index["objects"]] + [f["object_id"] for f in index["failures"]]
    assert sorted(ids) == sorted({*good, *BROKEN_MESHES, "02958343-absent"})  # each exactly once
    assert {f["object_id"] for f in index["failures"]} == {*BROKEN_MESHES, "02958343-absent"}
    superseded = [f for m in out.glob("shard-*.json") for f in json.loads(m.read_text()).get("superseded", [])]
    assert len(superseded) == 6 and all(f["by_shard"] >= 3 for f in superseded)
    fresh = tmp_path / "fresh"
    run_render_job(small_config(fresh, shapenet_root=root), progress=False)
    assert object_hashes(out)[largest] == object_hashes(fresh)[largest]


def test_timeout_fails_objects_with_the_reason(tmp_path: Path) -> None:
    report = run_render_job(small_config(tmp_path / "out", limit=2, timeout_s=1e-6), progress=False)
    assert report.failed == 2 and report.rendered == 0
    assert all(f["reason"].startswith("render timeout: more than 1e-06 s") for f in report.failures)


def test_gl_error_rebuilds_the_context_and_retries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from OpenGL.error import GLError

    real_render = worker_module.RGBRenderer.render
    calls = {"n": 0}

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise GLError(err=1285, result=None, cArguments=(), description=b"out of memory")
        return real_render(self, *args, **kwargs)

    monkeypatch.setattr(worker_module.RGBRenderer, "render", flaky)
    report = run_render_job(small_config(tmp_path / "out", limit=3), progress=False)
    assert (report.rendered, report.failed, report.gl_rebuilds) == (3, 0, 1)
    monkeypatch.setattr(worker_module.RGBRenderer, "render", real_render)
    run_render_job(small_config(tmp_path / "clean", limit=3), progress=False)
    assert object_hashes(tmp_path / "out") == object_hashes(tmp_path / "clean")


def test_other_configuration_in_the_same_folder_is_refused(tmp_path: Path) -> None:
    run_render_job(small_config(tmp_path / "out", limit=2), progress=False)
    with pytest.raises(ConfigError, match=r"another configuration .*seed: folder has 0, given 1"):
        run_render_job(small_config(tmp_path / "out", limit=2, seed=1), progress=False)


def test_cli_exit_status_and_log(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                 capsys: pytest.CaptureFixture) -> None:
    root, _, _ = _broken_tree(tmp_path)
    args = ["render", "--out", str(tmp_path / "out"), "--shapenet", str(root), "--size", "64", "--views", "6",
            "--points", "2048", "--depth-points", "512", "--objects-per-shard", "3", "--workers", "1", "--no-progress"]
    with caplog.at_level(logging.INFO):
        assert main(args) == 1
    assert "owns 8 objects in 3 shards" in caplog.text and "rendering 8 objects" in caplog.text
    assert json.loads(capsys.readouterr().out)["failed"] == 5
    assert main([*args, "--allow-failures"]) == 0
    assert main([*args, "--views", "10"]) == 2
    assert "holds shards made with another configuration" in capsys.readouterr().err


def test_stage_clock_counts_cpu_time_apart_from_wall_time() -> None:
    """A stage that waits (a loaded machine, a disk) costs wall time but no CPU: the benchmark's
    non-RGB/RGB CPU ratio must not count the neighbours' load."""
    clock = worker_module._StageClock()
    with clock.stage("write"):
        time.sleep(0.2)
    with clock.stage("load"):
        sum(i * i for i in range(300_000))
    assert clock.seconds["write"] >= 0.2 and clock.cpu_seconds["write"] < 0.05
    assert clock.cpu_seconds["load"] > 0
