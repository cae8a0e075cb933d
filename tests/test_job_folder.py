"""The generation job's output folder: it records the source its shards were made from and
refuses another dataset, and it refuses a folder holding files that are not a shard folder's.
Broken meshes keep these tests free of rendering: their objects fail at loading, which still
completes shards (the folder logic is the same)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from job_helpers import small_config, synthetic_cache, write_mesh, write_split

from clip2point.cli import main
from clip2point.errors import ConfigError
from clip2point.render.job.run import run_render_job

__all__ = ["synthetic_cache"]  # autouse fixture: a private synthetic-set cache per test session

NO_FACES = "v 0 0 0\nv 1 0 0\nv 0 1 0\n"


def _mesh_set(root: Path, ids: list[str]) -> Path:
    for object_id in ids:
        write_mesh(root, object_id, NO_FACES)
    write_split(root, ids, [])
    return root


def test_another_dataset_into_the_same_folder_is_refused_naming_both(tmp_path: Path) -> None:
    first = _mesh_set(tmp_path / "first", ["03001627-a1", "03001627-a2"])
    second = _mesh_set(tmp_path / "second", ["03001627-b1", "03001627-b2", "03001627-b3"])
    out = tmp_path / "out"
    run_render_job(small_config(out, shapenet_root=first), progress=False)
    recorded = json.loads((out / "config.json").read_text())["source"]
    assert recorded["kind"] == "shapenet" and recorded["root"] == str(first.resolve()) and recorded["objects"] == 2
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(ConfigError, match=rf"holds shards of shapenet {first.resolve()} \(2 objects, .*\), not of "
                                          rf"shapenet {second.resolve()} \(3 objects, .*rerun with --shapenet "
                                          rf"{first.resolve()} to resume it, or choose a new output folder"):
        run_render_job(small_config(out, shapenet_root=second), progress=False)
    assert sorted(p.name for p in out.iterdir()) == before
    run_render_job(small_config(out, shapenet_root=first), progress=False)  # the same source still resumes


def test_changed_split_files_of_the_same_root_are_refused(tmp_path: Path) -> None:
    root = _mesh_set(tmp_path / "set", ["03001627-a1", "03001627-a2"])
    run_render_job(small_config(tmp_path / "out", shapenet_root=root), progress=False)
    write_split(root, ["03001627-a1"], ["03001627-a2"])
    with pytest.raises(ConfigError, match="restore the split files it was made from"):
        run_render_job(small_config(tmp_path / "out", shapenet_root=root), progress=False)


def test_a_synthetic_folder_refuses_a_shapenet_source_on_the_command_line(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    run_render_job(small_config(out, limit=1), progress=False)
    root = _mesh_set(tmp_path / "set", ["03001627-a1"])
    args = ["render", "--out", str(out), "--shapenet", str(root), "--size", "64", "--views", "6", "--points", "2048",
            "--depth-points", "512", "--objects-per-shard", "3", "--limit", "1", "--no-progress", "--workers", "1"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds shards of the built-in synthetic set" in err
    assert "rerun without --shapenet, --manifest or --objaverse to resume it" in err


def test_the_mesh_folder_itself_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    root = _mesh_set(tmp_path / "set", ["03001627-a1"])
    with pytest.raises(ConfigError, match=rf"--out {root} holds files that are not a shard folder's \(03001627/, "
                                          r"test.txt, train.txt\); render into an empty or new folder"):
        run_render_job(small_config(root, shapenet_root=root), progress=False)
    assert sorted(p.name for p in root.iterdir()) == ["03001627", "test.txt", "train.txt"]


def test_a_folder_with_unrelated_files_is_refused_and_an_empty_one_is_used(tmp_path: Path) -> None:
    root = _mesh_set(tmp_path / "set", ["03001627-a1"])
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("x")
    with pytest.raises(ConfigError, match=r"\(todo.txt\)"):
        run_render_job(small_config(tmp_path / "notes", shapenet_root=root), progress=False)
    (tmp_path / "empty").mkdir()
    run_render_job(small_config(tmp_path / "empty", shapenet_root=root), progress=False)
    assert (tmp_path / "empty" / "index.json").is_file()


def test_a_folder_from_before_sources_were_recorded_resumes_and_records_it(tmp_path: Path) -> None:
    root = _mesh_set(tmp_path / "set", ["03001627-a1"])
    out = tmp_path / "out"
    run_render_job(small_config(out, shapenet_root=root), progress=False)
    data = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({k: v for k, v in data.items() if k != "source"}))
    run_render_job(small_config(out, shapenet_root=root), progress=False)
    assert json.loads((out / "config.json").read_text())["source"] == data["source"]
