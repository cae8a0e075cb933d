"""The job's bookkeeping at Objaverse's scale (issue 14, item 5): ``index.json`` is streamed to
the same bytes the in-memory index gives, and planning, the resume check + index and merging
grow their memory by a bounded amount per object (measured with tracemalloc, not timed)."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from clip2point.datasets.shards.index_stream import IndexTally
from clip2point.datasets.shards.job_config import ensure_job_config
from clip2point.datasets.shards.file_format import ObjectFailure
from clip2point.datasets.shards.merge import merge_shard_folders
from clip2point.datasets.shards import INDEX_NAME, build_index, collect_index, write_shard, write_skipped
from clip2point.errors import ShardError
from shard_fixtures import synthetic_object

REPO = Path(__file__).resolve().parents[1]
ATTRS = {"config": {"views": 2}, "class_names": ["a", "b"]}


def _benchmark():
    spec = importlib.util.spec_from_file_location("collection_scale", REPO / "benchmarks" / "collection_scale.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _folder(root: Path) -> Path:
    """Objects with metadata and non-ASCII text, live and skipped failures, an all-failed shard,
    a skip list, stats with floats and nesting: every kind of member the index writes."""
    ensure_job_config(root, {"views": 2, "note": "ünï"})
    meta = json.dumps({"source": "é\u2028", "n": 3, "f": 0.1})
    objects = [synthetic_object(f"o{i}") for i in range(3)]
    objects[1] = dataclasses.replace(objects[1], metadata=meta)
    write_shard(root, 0, objects, [ObjectFailure("f1", "01", "test", "failed", "timeout ü")], attrs=ATTRS,
                stats={"seconds": 1.5, "x": [1, {"y": None}]})
    write_shard(root, 1, [synthetic_object("p1")], [ObjectFailure("s1", "01", "test", "skipped", "rule")], attrs=ATTRS)
    write_shard(root, 3, [], [ObjectFailure("f2", "01", "test", "failed", "no mesh")], attrs=ATTRS)
    write_skipped(root, [ObjectFailure("s0", "04", "train", "skipped", "list")])
    return root


def test_streamed_index_has_the_bytes_of_the_index_in_memory(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "f")
    index = build_index(folder)
    expected = json.dumps(collect_index(folder), indent=1, sort_keys=True) + "\n"
    assert (folder / INDEX_NAME).read_text(encoding="utf-8") == expected
    assert index == json.loads(expected)  # the returned index reads its lists back from the file
    assert index["counts"]["objects"] == 4 and index["counts"]["skipped"] == 2
    assert sorted(p.name for p in folder.iterdir()) == [  # the spools left no file behind
        "config.json", "index.json", "shard-00000.h5", "shard-00000.json", "shard-00001.h5", "shard-00001.json",
        "shard-00003.json", "skipped.json"]
    empty = tmp_path / "empty"
    empty.mkdir()
    build_index(empty)
    assert (empty / INDEX_NAME).read_text() == json.dumps(collect_index(empty), indent=1, sort_keys=True) + "\n"
    merged = merge_shard_folders(tmp_path / "merged", [folder])
    assert (tmp_path / "merged" / INDEX_NAME).read_bytes() == (folder / INDEX_NAME).read_bytes()
    assert merged["counts"] == index["counts"]


def test_a_repeated_id_hash_alone_is_not_a_duplicate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The duplicate check holds hashes; two ids sharing one (a 64-bit collision) must not be
    refused, so the ids behind a repeated hash are compared exactly."""
    folder = _folder(tmp_path / "f")
    monkeypatch.setattr(IndexTally, "duplicate_suspects", lambda self: {hash("o1"), hash("f1"), hash("s0")})
    assert build_index(folder)["counts"]["objects"] == 4
    write_shard(folder, 4, [synthetic_object("o1")], [], attrs=ATTRS)
    with pytest.raises(ShardError, match=r"1 object ids appear more than once \(id: shards\) \[\('o1', \[0, 4\]\)\]"):
        build_index(folder)


# Bytes per object each phase's peak may grow by (slope between two sizes, so constant costs
# cancel). Measured 2026-12-02: plan 364-388 (the entries the job renders from), resume + index
# 388 (the plan it holds), merge 3-5 (8-byte id hashes). Before: 1,626 / 3,662 / 4,546.
BOUNDS = {"plan": 500, "resume_and_index": 600, "merge": 64}


@pytest.mark.slow
def test_bookkeeping_memory_grows_by_a_bounded_amount_per_object(tmp_path: Path) -> None:
    bench = _benchmark()
    small, large = 4_000, 16_000
    runs = {}
    for n in (small, large):
        (tmp_path / str(n)).mkdir()
        runs[n] = bench.run(n, 64, 1156, tmp_path / str(n), trace=True)
    slopes = {phase: (runs[large][f"{phase}_traced_peak_mb"] - runs[small][f"{phase}_traced_peak_mb"]) * 2**20
              / (large - small) for phase in BOUNDS}
    assert all(slopes[phase] < bound for phase, bound in BOUNDS.items()), slopes
