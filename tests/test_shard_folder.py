"""The shard folder's one owner (``datasets.shards.folder.ShardFolder``) and its typed records: a
marker read through it is the JSON it came from, rewrites change only what they mean to change,
a retry's superseded failure comes back when the retry shard is set aside, and no module outside
the owner edits a marker in place."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

import pytest
from shard_fixtures import synthetic_object
from test_architecture import discover_modules

from clip2point.datasets.shards.folder import ShardFolder, source_record
from clip2point.datasets.shards.file_format import ObjectFailure
from clip2point.datasets.shards.records import Marker, Superseded
from clip2point.datasets.shards import write_shard
from clip2point.errors import ConfigError, ShardError

ATTRS = {"config": {"views": 2}, "class_names": ["a", "b"]}


def failure(object_id: str, reason: str = "render timeout") -> ObjectFailure:
    return ObjectFailure(object_id, "01", "train", "failed", reason)


def test_a_marker_read_through_the_folder_is_the_json_it_came_from(tmp_path: Path) -> None:
    stats = write_shard(tmp_path, 3, [synthetic_object("obj-000"), synthetic_object("obj-001", seed=1)],
                        [failure("obj-002")], attrs=ATTRS, stats={"seconds": {"draw": 0.5}, "retry_of": {}})
    folder, raw = ShardFolder(tmp_path), stats.marker.read_bytes()
    marker = folder.marker(3)

    assert marker.to_json() == json.loads(raw)
    assert (marker.shard_id, marker.file, marker.bytes, marker.object_ids) == (3, "shard-00003.h5", stats.bytes,
                                                                              ("obj-000", "obj-001"))
    assert marker.failures == (failure("obj-002"),) and marker.superseded is None and marker.class_names == ("a", "b")
    assert "superseded" not in marker.to_json()  # a fresh marker has no such key, and a rewrite adds none
    folder.write_marker(marker)
    assert stats.marker.read_bytes() == raw


def test_unknown_marker_keys_survive_a_rewrite(tmp_path: Path) -> None:
    stats = write_shard(tmp_path, 0, [synthetic_object("obj-000")], [], attrs=ATTRS)
    data = json.loads(stats.marker.read_text()) | {"written_by": "a later version"}
    stats.marker.write_text(json.dumps(data))
    marker = ShardFolder(tmp_path).marker(0)
    assert marker.extra == {"written_by": "a later version"} and marker.to_json() == data


def test_a_malformed_marker_is_named(tmp_path: Path) -> None:
    stats = write_shard(tmp_path, 0, [synthetic_object("obj-000")], [], attrs=ATTRS)
    data = json.loads(stats.marker.read_text())
    del data["objects"]
    stats.marker.write_text(json.dumps(data))
    with pytest.raises(ShardError, match=rf"^{stats.marker}: malformed completion marker \(KeyError\('objects'\)\); "
                                         "delete it to re-render the shard$"):
        ShardFolder(tmp_path).marker(0)


def _retried(tmp_path: Path) -> ShardFolder:
    """Shard 0 failed obj-001; retry shard 1 rendered it (``retry_of``)."""
    write_shard(tmp_path, 0, [synthetic_object("obj-000")], [failure("obj-001")], attrs=ATTRS)
    write_shard(tmp_path, 1, [synthetic_object("obj-001", seed=1)], [], attrs=ATTRS, stats={"retry_of": {"obj-001": 0}})
    return ShardFolder(tmp_path)


def test_a_retry_supersedes_the_failure_once(tmp_path: Path) -> None:
    folder = _retried(tmp_path)
    assert folder.live_failures() == {"obj-001": 0}

    assert folder.supersede_retried() == 1
    assert folder.supersede_retried() == 0  # idempotent: nothing left to move

    old = folder.marker(0)
    assert old.failures == () and old.superseded == (Superseded(failure("obj-001"), 1),)
    assert old.to_json()["superseded"] == [failure("obj-001").to_json() | {"by_shard": 1}]
    assert folder.live_failures() == {}


def test_setting_a_retry_shard_aside_restores_the_failure_it_superseded(tmp_path: Path) -> None:
    folder = _retried(tmp_path)
    folder.supersede_retried()
    folder.shard_path(1).write_bytes(b"")

    moved, restored = folder.set_aside_damaged([0, 1])

    assert [(s.shard_id, [n.split(".bad-")[0] for n in s.names]) for s in moved] == [
        (1, ["shard-00001.h5", "shard-00001.json"])]
    assert moved[0].problem is not None and moved[0].problem.startswith("it has 0 bytes but its marker records")
    assert restored == {0: (failure("obj-001"),)}
    assert folder.done_ids() == {0}
    marker = folder.marker(0)
    assert marker.failures == (failure("obj-001"),) and marker.superseded == ()
    assert folder.live_failures() == {"obj-001": 0}  # --retry-failed renders it again


def test_a_damaged_shard_takes_its_retry_shards_along_transitively(tmp_path: Path) -> None:
    """Shard 0's failure was retried in 5, failed there again and was retried in 7: rendering 0
    again must drop both copies, or the object would be indexed twice."""
    write_shard(tmp_path, 0, [synthetic_object("obj-000")], [failure("obj-001")], attrs=ATTRS)
    write_shard(tmp_path, 5, [], [failure("obj-001", "again")], attrs=ATTRS, stats={"retry_of": {"obj-001": 0}})
    write_shard(tmp_path, 7, [synthetic_object("obj-001", seed=1)], [], attrs=ATTRS, stats={"retry_of": {"obj-001": 5}})
    folder = ShardFolder(tmp_path)
    assert folder.supersede_retried() == 2
    assert folder.with_their_retries({0}) == {0, 5, 7} and folder.with_their_retries({5}) == {5, 7}
    folder.shard_path(0).unlink()

    moved, restored = folder.set_aside_damaged(sorted(folder.done_ids()))

    assert [(s.shard_id, s.problem) for s in moved] == [(0, "the file is missing"), (5, None), (7, None)]
    assert folder.done_ids() == set() and restored == {}


def test_marker_records_supersede_and_restore_in_order() -> None:
    marker = Marker(0, None, None, 0, failures=(failure("a"), failure("b"), failure("c")))
    moved = marker.supersede({"c": 4, "a": 3})
    assert moved.failures == (failure("b"),)
    assert moved.superseded == (Superseded(failure("a"), 3), Superseded(failure("c"), 4))
    back, restored = moved.restore({4})
    assert back.failures == (failure("b"), failure("c")) and back.superseded == (Superseded(failure("a"), 3),)
    assert restored == (failure("c"),) and moved.restore({9}) == (moved, ())
    assert marker.supersede({"z": 1}) is marker and "superseded" not in marker.supersede({}).to_json()
    with pytest.raises(dataclasses.FrozenInstanceError):
        marker.failures = ()  # type: ignore[misc]


def test_skip_list_and_config_round_trip(tmp_path: Path) -> None:
    folder = ShardFolder(tmp_path)
    assert folder.skipped() == [] and folder.config() is None and not folder.is_shard_folder()
    skips = [ObjectFailure(i, "01", "test", "skipped", "rule") for i in ("z", "a")]
    folder.write_skipped(skips)
    assert folder.skipped() == sorted(skips, key=lambda s: s.object_id) and folder.is_shard_folder()

    source = source_record("shapenet", tmp_path / "meshes", [("a", "train"), ("b", "test")])
    folder.write_config({"config": {"views": 2}, "code_version": None})
    folder.record_source(source)
    assert folder.config() == {"config": {"views": 2}, "code_version": None, "source": source}
    folder.check_source(source, keys=tuple(source))
    other = source_record("shapenet", tmp_path / "other", [("a", "train")])
    with pytest.raises(ConfigError, match=rf"holds shards of shapenet {tmp_path / 'meshes'} \(2 objects, .*rerun "
                                          rf"with --shapenet {tmp_path / 'meshes'} to resume it"):
        folder.check_source(other)


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "shard-00000.h5.bad-20260101T000000Z").write_bytes(b"")
    assert ShardFolder(tmp_path).foreign_entries() == ["notes.txt"]
    with pytest.raises(ConfigError, match=r"holds files that are not a shard folder's \(notes.txt\)"):
        ShardFolder(tmp_path).refuse_foreign_files()


OWNER = {"clip2point.datasets.shards.folder", "clip2point.datasets.shards.records"}
MARKER_KEYS = {"failures", "superseded", "objects", "stats", "file", "checksum", "sha256", "bytes", "shard_id"}


def test_no_module_outside_the_owner_edits_a_marker_in_place() -> None:
    """``marker["failures"] = ...`` (or ``+=``) anywhere but the owner is a second writer of the
    folder's state; the owner's records are frozen, so it writes none either."""
    found = []
    for name, path in discover_modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for target in targets:
                if (isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant)
                        and target.slice.value in MARKER_KEYS and "marker" in ast.unparse(target.value).lower()):
                    found.append(f"{name}:{node.lineno}: {ast.unparse(target)}")
    assert [f for f in found if f.split(":")[0] not in OWNER] == []


def test_no_module_outside_the_owner_writes_a_marker_file() -> None:
    """A marker file is written only by the owner: no ``write_json_atomic``/``atomic_path`` of a
    path naming a marker elsewhere (``shards merge`` asks ``ShardFolder.take_shard``)."""
    writers = {"write_json_atomic", "atomic_path"}
    found = []
    for name, path in discover_modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and node.args and ast.unparse(node.func).split(".")[-1] in writers
                    and "marker" in ast.unparse(node.args[0]).lower()):
                found.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    assert [f for f in found if f.split(":")[0] not in OWNER] == []
