"""Resume never trusts a damaged shard: a completion marker whose file was later truncated,
overwritten or deleted sends the shard back to rendering, the damaged file kept under a new name;
a folder whose config.json is gone is judged by its shards' own configuration; the end-of-run
log names the failed objects; a full disk stops the job in one line, leaving only whole shards."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from job_helpers import SMALL, index_of, object_hashes, small_config, synthetic_cache

from clip2point.cli import main

from clip2point.datasets.shards.file_format import ObjectFailure
from clip2point.datasets.shards import build_index, read_marker, write_shard
from shard_fixtures import synthetic_object
from clip2point.errors import ConfigError
from clip2point.render.job import run as job
from clip2point.render.job.run import JobReport, run_render_job
from clip2point.datasets.shards.folder import ShardFolder

__all__ = ["synthetic_cache"]

LIMIT = 7  # 3 shards of 3, 3, 1 objects


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    run_render_job(small_config(out, limit=LIMIT), progress=False)
    return out


def test_resume_sets_aside_and_rerenders_damaged_shards(rendered: Path, caplog: pytest.LogCaptureFixture) -> None:
    hashes = object_hashes(rendered)
    (rendered / "shard-00000.h5").write_bytes((rendered / "shard-00000.h5").read_bytes()[:5000])
    garbage = b"\xff" * (rendered / "shard-00001.h5").stat().st_size  # same size: only the checksum sees it
    (rendered / "shard-00001.h5").write_bytes(garbage)
    (rendered / "shard-00002.h5").unlink()

    with caplog.at_level(logging.WARNING):
        report = run_render_job(small_config(rendered, limit=LIMIT), progress=False)

    assert (report.shards_already_done, report.shards_run, report.rendered) == (0, 3, LIMIT)
    assert f"{rendered / 'shard-00000.h5'}: it has 5000 bytes but its marker records" in caplog.text
    assert f"{rendered / 'shard-00001.h5'}: its xxh3-128 checksum differs from the one its marker records" in caplog.text
    assert f"{rendered / 'shard-00002.h5'}: the file is missing" in caplog.text
    assert object_hashes(rendered) == hashes and index_of(rendered)["counts"]["objects"] == LIMIT
    kept = sorted(p.name.split(".bad-")[0] for p in rendered.glob("*.bad-*"))
    assert kept == ["shard-00000.h5", "shard-00000.json", "shard-00001.h5", "shard-00001.json", "shard-00002.json"]
    assert next(rendered.glob("shard-00001.h5.bad-*")).read_bytes() == garbage  # nothing written is lost
    assert sorted(report.set_aside) == sorted(p.name for p in rendered.glob("*.bad-*"))
    assert run_render_job(small_config(rendered, limit=LIMIT), progress=False).shards_already_done == 3


def test_quick_resume_checks_size_and_header(rendered: Path) -> None:
    (rendered / "shard-00001.h5").write_bytes(b"\xff" * (rendered / "shard-00001.h5").stat().st_size)
    report = run_render_job(small_config(rendered, limit=LIMIT), progress=False, checksums=False)
    assert (report.shards_already_done, report.shards_run) == (2, 1)


def test_a_damaged_retry_shard_gives_its_objects_back_to_the_failures(tmp_path: Path) -> None:
    attrs = {"config": {"views": 2}}
    failure = ObjectFailure("obj-001", "01", "train", "failed", "render timeout")
    write_shard(tmp_path, 0, [synthetic_object("obj-000", synset="00", label=0, seed=0)], [failure], attrs=attrs)
    write_shard(tmp_path, 1, [synthetic_object("obj-001", synset="01", label=1, seed=1)], [], attrs=attrs,
                stats={"retry_of": {"obj-001": 0}})
    ShardFolder(tmp_path).supersede_retried()
    assert read_marker(tmp_path / "shard-00000.json")["failures"] == []
    (tmp_path / "shard-00001.h5").unlink()

    job._check_done_shards(tmp_path, [0, 1], checksums=True)

    marker = read_marker(tmp_path / "shard-00000.json")
    assert marker["failures"] == [failure.to_json()] and marker["superseded"] == []


def test_a_damaged_shard_takes_the_retry_shards_of_its_failures_along(tmp_path: Path) -> None:
    """Shard 0 is rendered again, so the retry shard holding its retried object must go too (else
    that object would be indexed twice); the other failure that retry shard superseded is live again."""
    attrs = {"config": {"views": 2}}
    failures = [ObjectFailure(f"obj-00{i}", "01", "train", "failed", "render timeout") for i in (1, 2)]
    write_shard(tmp_path, 0, [synthetic_object("obj-000")], failures[:1], attrs=attrs)
    write_shard(tmp_path, 2, [synthetic_object("obj-003")], failures[1:], attrs=attrs)
    write_shard(tmp_path, 5, [synthetic_object("obj-001", seed=1), synthetic_object("obj-002", seed=2)], [],
                attrs=attrs, stats={"retry_of": {"obj-001": 0, "obj-002": 2}})
    ShardFolder(tmp_path).supersede_retried()
    (tmp_path / "shard-00000.h5").write_bytes(b"")

    moved = job._check_done_shards(tmp_path, [0, 2, 5], checksums=True)

    assert sorted(name.split(".bad-")[0] for name in moved) == [
        "shard-00000.h5", "shard-00000.json", "shard-00005.h5", "shard-00005.json"]
    index = build_index(tmp_path)
    assert [o["object_id"] for o in index["objects"]] == ["obj-003"]
    assert [f["object_id"] for f in index["failures"]] == ["obj-002"]


def test_missing_config_json_is_checked_against_the_shards(rendered: Path) -> None:
    saved = json.loads((rendered / "config.json").read_text())
    (rendered / "config.json").unlink()
    with pytest.raises(ConfigError, match=r"config.json is missing and the shards in .* were made with another "
                       r"configuration \(1 keys differ: size: folder has 64, given 32\)"):
        run_render_job(small_config(rendered, limit=LIMIT, size=32), progress=False)
    assert not (rendered / "config.json").exists()
    report = run_render_job(small_config(rendered, limit=LIMIT), progress=False)
    assert report.shards_already_done == 3
    assert json.loads((rendered / "config.json").read_text()) == saved


def test_failure_summary_names_the_objects(caplog: pytest.LogCaptureFixture) -> None:
    report = JobReport("/x/out", "synthetic", 0, 1, 1, "loky", listed=12, skipped=0, node_objects=12,
                       shards_planned=1, shards_already_done=0,
                       failures=[{"object_id": f"obj-{i:02d}", "reason": f"reason {i}"} for i in range(12)])
    with caplog.at_level(logging.WARNING):
        job._log_summary(report)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert lines == [f"failed obj-{i:02d}: reason {i}" for i in range(10)] + [
        "... and 2 more failed objects, see /x/out/index.json"]


def test_full_disk_stops_the_job_with_one_line_and_resume_completes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """A disk that fills after the first shard: exit 2 and one line naming the folder, what the
    next shard needs and what is free; only whole shards on disk; a rerun with space finishes."""
    out, reference = tmp_path / "out", tmp_path / "reference"
    run_render_job(small_config(reference, limit=LIMIT), progress=False)
    real = shutil.disk_usage

    def filled_after_first_shard(path: str | Path) -> Any:
        usage = real(path)
        return usage._replace(free=4096) if (out / "shard-00000.json").exists() else usage

    monkeypatch.setattr(shutil, "disk_usage", filled_after_first_shard)
    args = ["render", "--out", str(out), "--size", str(SMALL["size"]), "--views", str(SMALL["num_views"]),
            "--synthetic-per-class", str(SMALL["synthetic_per_class"]), "--points", str(SMALL["num_points"]),
            "--depth-points", str(SMALL["depth_points"]), "--objects-per-shard", str(SMALL["objects_per_shard"]),
            "--limit", str(LIMIT), "--workers", "1", "--no-progress"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(
        rf"clip2point render: error: {re.escape(str(out))}: No space left on device: shard-00001.h5 with its marker "
        r"needs \d+ kB and 4 kB is free; 1 of this run's 3 shards are complete and whole: free some space and "
        r"rerun the same command to resume\n", err)
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "shard-00000.h5", "shard-00000.json",
                                                     "skipped.json"]  # no temporary file, no partial shard

    monkeypatch.setattr(shutil, "disk_usage", real)
    report = run_render_job(small_config(out, limit=LIMIT), progress=False)
    assert (report.shards_already_done, report.shards_run) == (1, 2)
    assert object_hashes(out) == object_hashes(reference) and index_of(out)["counts"]["objects"] == LIMIT
