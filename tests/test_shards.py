"""Shard format, atomic writer, markers, index and job-config guard."""

from __future__ import annotations

import errno
import json
import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import xxhash

from clip2point.cli import os_error_message
from clip2point.datasets.shards import file_format as shard_format
from clip2point.datasets.shards import merge as shard_merge
from clip2point.datasets.shards import writer as shards
from clip2point.datasets.shards.job_config import ensure_job_config
from clip2point.datasets.shards.file_format import ObjectFailure, open_shard, read_object
from clip2point.datasets.shards import (build_index, completed_shard_ids, read_marker, set_aside_shard, shard_problem,
                                        write_shard, write_skipped)
from shard_fixtures import synthetic_object
from clip2point.errors import ConfigError, ShardError
from clip2point.provenance import code_version

ATTRS = {"config": {"views": 2, "size": 32}, "class_names": ["airplane", "chair", "table"]}


def make_objects(start: int, count: int, split: str = "train") -> list:
    return [synthetic_object(f"obj-{i:03d}", label=i % 3, synset=f"0{i % 3}", split=split, seed=i)
            for i in range(start, start + count)]


def test_round_trip_is_exact_and_schema_is_plain_h5py(tmp_path: Path) -> None:
    objs = make_objects(0, 3)
    stats = write_shard(tmp_path, 4, objs[::-1], [], attrs=ATTRS)
    assert stats.file == tmp_path / "shard-00004.h5" and stats.num_objects == 3
    with open_shard(stats.file) as h5:
        for row, obj in enumerate(objs):  # rows are sorted by object id
            got = read_object(h5, row, stats.file)
            for name in shard_format.ARRAY_FIELDS:
                np.testing.assert_array_equal(got[name], getattr(obj, name))
                assert got[name].dtype == getattr(obj, name).dtype
            assert (got["object_id"], got["synset"], got["label"], got["split"]) == (
                obj.object_id, obj.synset, obj.label, obj.split)
            assert got["content_hash"] == obj.content_hash()
    with h5py.File(stats.file, "r") as h5:  # plain h5py, no clip2point code
        assert h5.attrs["schema_version"] == shard_format.SCHEMA_VERSION
        assert h5.attrs["format"] == "clip2point-shard" and h5.attrs["shard_id"] == 4
        assert json.loads(h5.attrs["config"]) == ATTRS["config"]
        assert "git_commit" in json.loads(h5.attrs["code_version"])
        assert h5["rgb"].shape == (3, 2, 32, 32, 3) and h5["rgb"].chunks == (1, 1, 32, 32, 3)
        assert h5["depth"].chunks == (1, 1, 32, 32) and h5["points"].chunks == (1, 64, 3)
        assert h5["rgb"].compression is None and h5["points"].compression is None
        assert h5["depth"].compression == "gzip" and h5["depth"].compression_opts == 1 and not h5["depth"].shuffle


@pytest.mark.parametrize("layout", [
    shard_format.COMPACT_LAYOUT,
    shard_format.ShardLayout(rgb="lzf", depth="none", points="gzip-3", chunk="object"),
])
def test_round_trip_in_other_layouts(tmp_path: Path, layout: shard_format.ShardLayout) -> None:
    objs = make_objects(0, 2)
    stats = write_shard(tmp_path, 0, objs, [], attrs=ATTRS, layout=layout)
    with open_shard(stats.file) as h5:
        for row, obj in enumerate(objs):
            got = read_object(h5, row, stats.file)
            for name in shard_format.ARRAY_FIELDS:
                np.testing.assert_array_equal(got[name], getattr(obj, name))
        if layout.chunk == "object":
            assert h5["rgb"].chunks == (1, 2, 32, 32, 3) and h5["points"].compression_opts == 3
        else:
            assert h5["rgb"].compression_opts == 1 and not h5["rgb"].shuffle  # shuffling bytes of uint8 is moot


def test_layout_validates_codecs() -> None:
    with pytest.raises(ConfigError, match=r"shard codec for depth must be one of none, lzf, gzip-1, .*; got 'zstd'"):
        shard_format.ShardLayout(depth="zstd")
    with pytest.raises(ConfigError, match=r"shard chunk must be 'view' or 'object'; got 'row'"):
        shard_format.ShardLayout(chunk="row")


def test_content_hash_tracks_array_equality() -> None:
    a, b = synthetic_object("a", seed=1), synthetic_object("b", seed=1)
    assert a.content_hash() == b.content_hash()  # ids are not content
    rgb = a.rgb.copy()
    rgb[0, 0, 0, 0] ^= 1
    changed = synthetic_object("a", seed=1).__class__(**{**a.__dict__, "rgb": rgb})
    assert changed.content_hash() != a.content_hash()
    as_f64 = shard_format.content_hash({**a.__dict__, "elev": a.elev.astype(np.float64)})
    assert as_f64 != a.content_hash()


def test_same_input_gives_identical_bytes(tmp_path: Path) -> None:
    one = write_shard(tmp_path / "a", 0, make_objects(0, 2), [], attrs=ATTRS)
    two = write_shard(tmp_path / "b", 0, make_objects(0, 2), [], attrs=ATTRS)
    assert one.checksum == two.checksum and one.checksum.startswith("xxh3-128:")
    assert one.file.read_bytes() == two.file.read_bytes()


def test_crash_mid_write_leaves_no_shard_marker_or_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = shard_format.write_shard_file

    def crash(h5, objects, hashes, attrs, layout):
        real(h5, objects, hashes, attrs, layout)
        h5.flush()
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(shards, "write_shard_file", crash)
    with pytest.raises(KeyboardInterrupt):
        write_shard(tmp_path, 0, make_objects(0, 2), [], attrs=ATTRS)
    assert list(tmp_path.iterdir()) == []
    assert completed_shard_ids(tmp_path) == set()


def _report_free(monkeypatch: pytest.MonkeyPatch, free: int) -> None:
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda path: real(path)._replace(free=free))


def test_full_disk_is_refused_before_anything_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _report_free(monkeypatch, 20_000)
    with pytest.raises(OSError) as caught:
        write_shard(tmp_path, 1, make_objects(0, 2), [], attrs=ATTRS)
    exc = caught.value
    assert exc.errno == errno.ENOSPC and exc.filename == str(tmp_path)
    assert re.fullmatch(r"No space left on device: shard-00001.h5 with its marker needs \d+ kB and 20 kB is free",
                        exc.strerror)
    assert os_error_message(exc) == f"{tmp_path}: {exc.strerror}"  # the CLI's one line
    assert list(tmp_path.iterdir()) == [] and completed_shard_ids(tmp_path) == set()


@pytest.mark.parametrize("failing", ["write", "fsync"])
def test_disk_full_mid_write_removes_the_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        failing: str) -> None:
    """Space taken after the check (another process): the write fails half-way, as one OSError
    naming the folder, and leaves no temporary file, shard or marker."""
    from clip2point import atomic_io

    def half_then_full(path: Path, data: bytes, **options: object) -> None:
        path.write_bytes(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")  # what write(2) gives: no file name

    if failing == "write":
        monkeypatch.setattr(shards, "write_file", half_then_full)
    else:
        monkeypatch.setattr(atomic_io, "fsync_file", lambda path: half_then_full(path, b""))
    with pytest.raises(OSError) as caught:
        write_shard(tmp_path, 0, make_objects(0, 2), [], attrs=ATTRS)
    exc = caught.value
    assert exc.errno == errno.ENOSPC and exc.filename == str(tmp_path)
    assert re.fullmatch(r"No space left on device while writing shard-00000.h5; \d+(\.\d)? [kMG]B is free", exc.strerror)
    assert "\n" not in os_error_message(exc)
    assert list(tmp_path.iterdir()) == []


def test_shard_bytes_are_what_hdf5_writes_to_disk(tmp_path: Path) -> None:
    """The shard is built in memory (HDF5's core driver) and written as plain bytes: the same file."""
    objs = make_objects(0, 3)
    stats = write_shard(tmp_path / "a", 0, objs, [], attrs=ATTRS)
    attrs = {"code_version": code_version(), **ATTRS, "shard_id": 0}  # as write_shard gives them
    with h5py.File(tmp_path / "direct.h5", "w") as h5:
        shard_format.write_shard_file(h5, objs, [o.content_hash() for o in objs], attrs, shard_format.DEFAULT_LAYOUT)
    assert stats.file.read_bytes() == (tmp_path / "direct.h5").read_bytes()


def test_stray_tmp_and_marker_less_shard_are_ignored(tmp_path: Path) -> None:
    write_shard(tmp_path, 0, make_objects(0, 2), [], attrs=ATTRS)
    (tmp_path / ".shard-00001.h5.tmp-999").write_bytes(b"half a file")
    (tmp_path / ".shard-00001.json.tmp-999").write_text("{")
    write_shard(tmp_path, 2, make_objects(2, 1), [], attrs=ATTRS)
    (tmp_path / "shard-00002.json").unlink()  # crash between the .h5 rename and the marker
    assert completed_shard_ids(tmp_path) == {0}
    index = build_index(tmp_path)
    assert [s["shard_id"] for s in index["shards"]] == [0]
    assert [o["object_id"] for o in index["objects"]] == ["obj-000", "obj-001"]


def test_all_failed_shard_has_marker_but_no_file(tmp_path: Path) -> None:
    failures = [ObjectFailure("bad", "03001627", "train", "failed", "MeshLoadError: no faces")]
    stats = write_shard(tmp_path, 7, [], failures, attrs=ATTRS)
    assert stats.file is None and stats.num_failed == 1 and stats.bytes == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard-00007.json"]
    assert completed_shard_ids(tmp_path) == {7}


def test_index_aggregates_markers_failures_and_skipped(tmp_path: Path) -> None:
    ensure_job_config(tmp_path, {"views": 2})
    write_shard(tmp_path, 0, make_objects(0, 3), [ObjectFailure("f1", "01", "test", "failed", "timeout")],
                attrs=ATTRS, stats={"seconds": 1.5})
    write_shard(tmp_path, 1, make_objects(3, 2, split="test"), [], attrs=ATTRS)
    write_skipped(tmp_path, [ObjectFailure("04379243-", "04379243", "train", "skipped", "reference skip list")])
    index = build_index(tmp_path)
    assert json.loads((tmp_path / "index.json").read_text()) == index
    assert index["counts"] == {"shards": 2, "objects": 5, "failed": 1, "skipped": 1,
                               "splits": {"test": 2, "train": 3}, "synsets": {"00": 2, "01": 2, "02": 1},
                               "bytes": sum(p.stat().st_size for p in tmp_path.glob("shard-*.h5"))}
    assert index["config"] == {"views": 2} and index["class_names"] == ATTRS["class_names"]
    assert [(o["object_id"], o["shard_id"], o["row"]) for o in index["objects"]] == [
        ("obj-000", 0, 0), ("obj-001", 0, 1), ("obj-002", 0, 2), ("obj-003", 1, 0), ("obj-004", 1, 1)]
    assert index["failures"] == [{"object_id": "f1", "synset": "01", "split": "test", "status": "failed",
                                  "reason": "timeout", "shard_id": 0}]
    assert index["skipped"][0]["reason"] == "reference skip list"
    assert index["shards"][0]["stats"] == {"seconds": 1.5}
    from clip2point.datasets.shards.digests import checksum_file
    assert index["shards"][1]["checksum"] == checksum_file(tmp_path / "shard-00001.h5") == \
        "xxh3-128:" + xxhash.xxh3_128((tmp_path / "shard-00001.h5").read_bytes()).hexdigest()


def test_index_refuses_an_object_in_two_shards(tmp_path: Path) -> None:
    write_shard(tmp_path, 0, make_objects(0, 2), [], attrs=ATTRS)
    write_shard(tmp_path, 1, make_objects(1, 2), [], attrs=ATTRS)
    with pytest.raises(ShardError, match=r"1 object ids appear more than once .*obj-001"):
        build_index(tmp_path)


def test_unreadable_marker_is_named(tmp_path: Path) -> None:
    (tmp_path / "shard-00003.json").write_text("{not json")
    with pytest.raises(ShardError, match=r"shard-00003.json: unreadable completion marker"):
        build_index(tmp_path)


def test_job_config_written_once_and_mismatch_refused(tmp_path: Path) -> None:
    config = {"views": 10, "size": (224, 224), "light": {"seed": 0}}
    path = ensure_job_config(tmp_path, config)
    assert json.loads(path.read_text())["config"] == {"views": 10, "size": [224, 224], "light": {"seed": 0}}
    assert ensure_job_config(tmp_path, config) == path  # tuples vs lists: same configuration
    with pytest.raises(ConfigError, match=r"2 keys differ: light.seed: folder has 0, given 1; views: folder has 10, "
                                          r"given 6\); rerun with the same flags to resume, or choose a new output folder"):
        ensure_job_config(tmp_path, {**config, "views": 6, "light": {"seed": 1}})


@pytest.mark.parametrize("field,value,match", [
    ("rgb", np.zeros((2, 8, 8, 3), np.float32), r"rgb must be a uint8 array"),
    ("depth", np.zeros((2, 8, 9), np.float32), r"shapes disagree"),
    ("elev", np.zeros(3, np.float32), r"elev must have shape \(2,\)"),
])
def test_rendered_object_validates(field: str, value: np.ndarray, match: str) -> None:
    base = synthetic_object("x", size=8).__dict__
    with pytest.raises(ValueError, match=match):
        type(synthetic_object("x", size=8))(**{**base, field: value})


def test_writer_refuses_mixed_shapes_and_missing_config(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"must share shapes: b has rgb \(2, 16, 16, 3\)"):
        write_shard(tmp_path, 0, [synthetic_object("a"), synthetic_object("b", size=16)], [], attrs=ATTRS)
    with pytest.raises(ValueError, match=r"needs attrs\['config'\]"):
        write_shard(tmp_path, 0, make_objects(0, 1), [], attrs={})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("damage,match", [
    ("text", r"not an HDF5 file"),
    ("truncate", r"cannot open as HDF5, the file is truncated or corrupt \(.*truncated file"),
    ("foreign", r"foreign HDF5 file: attribute 'format' is None"),
    ("schema", r"schema_version 99 is not supported"),
])
def test_open_shard_names_bad_files(tmp_path: Path, damage: str, match: str) -> None:
    stats = write_shard(tmp_path, 0, make_objects(0, 2), [], attrs=ATTRS)
    path = stats.file
    if damage == "text":
        path.write_text("hello")
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    elif damage == "foreign":
        path.unlink()
        with h5py.File(path, "w") as h5:
            h5["data"] = np.zeros(3)
    else:
        with h5py.File(path, "r+") as h5:
            h5.attrs["schema_version"] = 99
    with pytest.raises(ShardError, match=rf"^{path}: {match}"):
        open_shard(path)


def node_folder(root: Path, shard_ids: list[int], config: dict | None = None, first: int = 0) -> Path:
    """A folder as one --node-rank run leaves it: its own shards (3 objects each), config, skips."""
    ensure_job_config(root, config or {"views": 2})
    for sid in shard_ids:
        write_shard(root, sid, make_objects(first + 3 * sid, 3), [], attrs=ATTRS)
    write_skipped(root, [ObjectFailure("04379243-", "04379243", "train", "skipped", "reference skip list")])
    return root


def test_merge_node_folders(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from clip2point.cli import main

    a, b = node_folder(tmp_path / "a", [0, 2]), node_folder(tmp_path / "b", [1, 3])
    assert main(["shards", "merge", str(tmp_path / "out"), str(a), str(b)]) == 0
    assert capsys.readouterr().out.strip() == f"{tmp_path / 'out'}: 4 shards, 12 objects, 0 failed, 1 skipped -> {tmp_path / 'out' / 'index.json'}"
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert [s["shard_id"] for s in index["shards"]] == [0, 1, 2, 3]
    assert [o["object_id"] for o in index["objects"]] == [f"obj-{i:03d}" for i in range(12)]
    assert index["config"] == {"views": 2} and len(index["skipped"]) == 1
    for sid, src in ((0, a), (1, b), (2, a), (3, b)):
        name = f"shard-{sid:05d}.h5"
        assert (tmp_path / "out" / name).read_bytes() == (src / name).read_bytes()
    # merging again, or a replica of a node, changes nothing
    copy = tmp_path / "a-replica"
    shutil.copytree(a, copy)
    assert shard_merge.merge_shard_folders(tmp_path / "out", [a, b, copy]) == index


def test_merge_refuses_mixed_runs(tmp_path: Path) -> None:
    a = node_folder(tmp_path / "a", [0])
    other = node_folder(tmp_path / "other", [0], first=50)
    with pytest.raises(ShardError, match=r"other/shard-00000.json: shard 0 is also in .*/a with different content"):
        shard_merge.merge_shard_folders(tmp_path / "out", [a, other])
    six = node_folder(tmp_path / "six", [1], config={"views": 6})
    with pytest.raises(ConfigError, match=r"six and .*/a were made with different configurations \(views: folder has 2, given 6\)"):
        shard_merge.merge_shard_folders(tmp_path / "out2", [a, six])
    (tmp_path / "bare").mkdir()
    with pytest.raises(ConfigError, match=r"bare/config.json is missing"):
        shard_merge.merge_shard_folders(tmp_path / "out3", [a, tmp_path / "bare"])


def test_merge_in_place_indexes_a_shared_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from clip2point.cli import main

    shared = node_folder(tmp_path / "shared", [0, 1, 2])  # three nodes wrote here, nobody indexed
    assert not (shared / "index.json").exists()
    assert main(["shards", "merge", str(shared)]) == 0
    assert "3 shards, 9 objects" in capsys.readouterr().out
    assert json.loads((shared / "index.json").read_text())["counts"]["objects"] == 9


def test_a_foreign_or_damaged_index_names_the_file_and_the_fix(tmp_path: Path) -> None:
    from clip2point.datasets.shards import load_index

    (tmp_path / "index.json").write_text('{"format": "something-else"}')
    with pytest.raises(ShardError, match=r"index.json: not a clip2point shard index; rebuild it with `clip2point shards merge`"):
        load_index(tmp_path)
    (tmp_path / "index.json").write_text("{truncated")
    with pytest.raises(ShardError, match=r"index.json: unreadable shard index"):
        load_index(tmp_path)


def _damage(path: Path, how: str) -> None:
    """``missing``, ``truncated``, ``garbage`` (same size, header overwritten) or ``flipped``
    (one byte of the rgb data changed, the HDF5 structure intact)."""
    if how == "missing":
        path.unlink()
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[:5000])
    elif how == "garbage":
        data = bytearray(path.read_bytes())
        data[:64] = b"\xff" * 64
        path.write_bytes(bytes(data))
    else:
        with h5py.File(path, "r") as h5:
            offset = h5["rgb"].id.get_chunk_info(0).byte_offset
        data = bytearray(path.read_bytes())
        data[offset] ^= 0xFF
        path.write_bytes(bytes(data))


@pytest.mark.parametrize("how,checksum,match", [
    ("missing", True, r"^the file is missing$"),
    ("truncated", False, r"^it has 5000 bytes but its marker records \d+ \(truncated or overwritten\)$"),
    ("garbage", True, r"^its xxh3-128 checksum differs from the one its marker records"),
    ("garbage", False, r"not an HDF5 file"),
    ("flipped", True, r"^its xxh3-128 checksum differs from the one its marker records"),
    ("flipped", False, None),  # without the checksum a changed data byte passes: documented in shard_problem
])
def test_shard_problem_checks_a_file_against_its_marker(tmp_path: Path, how: str, checksum: bool,
                                                        match: str | None) -> None:
    stats = write_shard(tmp_path, 0, make_objects(0, 2), [], attrs=ATTRS)
    marker = read_marker(stats.marker)
    assert shard_problem(tmp_path, marker, checksum=checksum) is None
    _damage(stats.file, how)
    problem = shard_problem(tmp_path, marker, checksum=checksum)
    assert problem is None if match is None else re.search(match, problem), problem
    assert shard_problem(tmp_path, {"file": None}) is None  # all objects failed: no file to check


def test_set_aside_shard_keeps_the_bytes_under_a_new_name(tmp_path: Path) -> None:
    stats = write_shard(tmp_path, 3, make_objects(0, 2), [], attrs=ATTRS)
    content = stats.file.read_bytes()
    moved = set_aside_shard(tmp_path, 3)
    assert [p.name.split(".bad-")[0] for p in moved] == ["shard-00003.h5", "shard-00003.json"]
    assert moved[0].read_bytes() == content and completed_shard_ids(tmp_path) == set()
    write_shard(tmp_path, 3, make_objects(0, 2), [], attrs=ATTRS)
    again = set_aside_shard(tmp_path, 3)  # same second: a suffix, never an overwrite
    assert len({p.name for p in moved + again}) == 4 and moved[0].read_bytes() == content


def test_merge_refuses_a_damaged_shard(tmp_path: Path) -> None:
    a = node_folder(tmp_path / "a", [0, 2])
    _damage(a / "shard-00002.h5", "flipped")
    with pytest.raises(ShardError, match=r"a/shard-00002.h5: its xxh3-128 checksum differs .*; a damaged shard is never merged"):
        shard_merge.merge_shard_folders(tmp_path / "out", [a])
    assert not (tmp_path / "out").exists()  # checked before anything was written
    with pytest.raises(ShardError, match=r"a/shard-00002.h5: its xxh3-128 checksum differs"):
        shard_merge.merge_shard_folders(a, [])  # indexing in place checks too


def test_merge_takes_the_valid_copy_of_a_damaged_shard(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    a = node_folder(tmp_path / "a", [0, 2])
    replica = tmp_path / "replica"
    shutil.copytree(a, replica)
    _damage(a / "shard-00002.h5", "garbage")
    with caplog.at_level("WARNING"):
        index = shard_merge.merge_shard_folders(tmp_path / "out", [a, replica])
    assert f"{a / 'shard-00002.h5'}: its xxh3-128 checksum differs" in caplog.text
    assert f"taking the valid copy of shard 2 in {replica}" in caplog.text
    assert (tmp_path / "out" / "shard-00002.h5").read_bytes() == (replica / "shard-00002.h5").read_bytes()
    assert index["counts"]["objects"] == 6
    _damage(tmp_path / "out" / "shard-00000.h5", "truncated")  # a damaged copy already merged is replaced
    shard_merge.merge_shard_folders(tmp_path / "out", [replica])
    assert (tmp_path / "out" / "shard-00000.h5").read_bytes() == (replica / "shard-00000.h5").read_bytes()
    assert len(list((tmp_path / "out").glob("shard-00000.h5.bad-*"))) == 1


def test_missing_job_config_is_restored_from_the_shards_or_refused(tmp_path: Path) -> None:
    ensure_job_config(tmp_path, ATTRS["config"])
    write_shard(tmp_path, 0, make_objects(0, 2), [], attrs=ATTRS)
    saved = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").unlink()
    with pytest.raises(ConfigError, match=rf"{tmp_path}/config.json is missing and the shards in {tmp_path} were made "
                       r"with another configuration \(1 keys differ: size: folder has 32, given 64\); rerun with"):
        ensure_job_config(tmp_path, {"views": 2, "size": 64})
    assert not (tmp_path / "config.json").exists()
    ensure_job_config(tmp_path, ATTRS["config"])
    assert json.loads((tmp_path / "config.json").read_text())["config"] == saved["config"]
    (tmp_path / "config.json").unlink()
    (tmp_path / "shard-00000.h5").write_bytes(b"garbage")
    with pytest.raises(ConfigError, match=r"holds shards but config.json is missing and no readable shard file"):
        ensure_job_config(tmp_path, ATTRS["config"])


def test_isal_depth_is_a_plain_deflate_chunk_with_the_same_values(tmp_path: Path) -> None:
    """The default depth codec stores ISA-L's deflate under HDF5's gzip filter: plain h5py reads
    the same values, each chunk inflates with zlib, and the file says which codec wrote it."""
    import zlib

    objs = make_objects(0, 2)
    new = write_shard(tmp_path / "new", 0, objs, [], attrs=ATTRS)
    old = write_shard(tmp_path / "old", 0, objs, [], attrs=ATTRS, layout=shard_format.ShardLayout(depth="gzip-1"))
    assert shard_format.DEFAULT_LAYOUT.depth == "gzip-isal"
    with h5py.File(new.file, "r") as h5, h5py.File(old.file, "r") as h5_old:
        np.testing.assert_array_equal(h5["depth"][()], h5_old["depth"][()])
        assert h5["depth"].compression == "gzip" and h5["depth"].compression_opts == 1
        mask, chunk = h5["depth"].id.read_direct_chunk((1, 1, 0, 0))
        assert mask == 0 and zlib.decompress(chunk) == objs[1].depth[1].astype("<f4").tobytes()
        assert json.loads(h5.attrs["layout"]) == {"rgb": "none", "depth": "gzip-isal", "points": "none",
                                                  "chunk": "view", "shuffle": False}
    assert new.checksum != old.checksum  # other compressed bytes, the same arrays


def test_shards_written_before_the_isal_codec_still_read(tmp_path: Path) -> None:
    """A shard of the old default (zlib gzip-1 depth, no ``layout`` attribute) reads as before."""
    objs = make_objects(0, 2)
    stats = write_shard(tmp_path, 0, objs, [], attrs=ATTRS, layout=shard_format.ShardLayout(depth="gzip-1"))
    with h5py.File(stats.file, "r+") as h5:
        del h5.attrs["layout"]
    with open_shard(stats.file) as h5:
        for row, obj in enumerate(objs):
            got = read_object(h5, row, stats.file)
            assert got["content_hash"] == obj.content_hash()
            np.testing.assert_array_equal(got["depth"], obj.depth)


@pytest.mark.parametrize("chunk", ["view", "object"])
def test_isal_codec_on_every_array_and_chunking(tmp_path: Path, chunk: str) -> None:
    layout = shard_format.ShardLayout(rgb="gzip-isal", depth="gzip-isal", points="gzip-isal", chunk=chunk)
    objs = make_objects(0, 3)
    stats = write_shard(tmp_path, 0, objs, [], attrs=ATTRS, layout=layout)
    with h5py.File(stats.file, "r") as h5:
        for row, obj in enumerate(objs):
            for name in ("rgb", "depth", "points"):
                np.testing.assert_array_equal(h5[name][row], getattr(obj, name))


def test_isal_codec_refuses_byte_shuffle() -> None:
    with pytest.raises(ConfigError, match=r"shard codec gzip-isal cannot be combined with byte shuffle"):
        shard_format.ShardLayout(shuffle=True)


@pytest.mark.parametrize("chunk", ["view", "object"])
def test_raw_arrays_written_chunk_by_chunk_are_the_bytes_hdf5_writes(tmp_path: Path, chunk: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """``none`` arrays go to HDF5 as finished chunks, object by object: the file is byte for byte
    the one HDF5 writes from the stacked arrays."""
    layout = shard_format.ShardLayout(depth="none", chunk=chunk)
    objs = make_objects(0, 3)
    ours = write_shard(tmp_path / "ours", 0, objs, [], attrs=ATTRS, layout=layout)
    monkeypatch.setattr(shard_format, "writes_own_chunks", lambda codec: False)
    hdf5 = write_shard(tmp_path / "hdf5", 0, objs, [], attrs=ATTRS, layout=layout)
    assert ours.file.read_bytes() == hdf5.file.read_bytes()


def test_shard_files_are_written_with_their_pages_dropped_from_the_cache(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A shard's bytes are fsynced and then advised out of the page cache (write-once output:
    memory stays bounded, and the next write reuses the pages); the marker is written normally."""
    import os

    if not hasattr(os, "posix_fadvise"):
        pytest.skip("no posix_fadvise on this platform")
    advised = []
    real = os.posix_fadvise
    monkeypatch.setattr(os, "posix_fadvise", lambda fd, off, n, advice: advised.append(
        (os.readlink(f"/proc/self/fd/{fd}"), advice)) or real(fd, off, n, advice))
    write_shard(tmp_path, 0, make_objects(0, 2), [], attrs=ATTRS)
    assert [(Path(p).name.startswith(".shard-00000.h5.tmp-"), a) for p, a in advised] == [(True, os.POSIX_FADV_DONTNEED)]
    with h5py.File(tmp_path / "shard-00000.h5") as h5:  # and the file reads back whole
        assert h5["rgb"].shape[0] == 2


def test_a_marker_checksum_of_an_unknown_algorithm_is_a_named_problem(tmp_path: Path) -> None:
    stats = write_shard(tmp_path, 0, make_objects(0, 1), [], attrs=ATTRS)
    marker = dict(read_marker(stats.marker), checksum="md5:" + "0" * 32)
    problem = shard_problem(tmp_path, marker)
    assert problem == ("its marker's checksum cannot be checked (unknown checksum algorithm 'md5'; known: sha256, "
                       "xxh3-128): the marker is damaged")
