"""Merge the shard folders of several ``--num-nodes/--node-rank`` runs into one indexed folder.

Nodes own disjoint shard ids (shard k belongs to node k % num_nodes), so merging is copying each
completed shard (file first, marker last, each atomically, hard-linked when the filesystem
allows) and building one index. It refuses what would silently mix two datasets: folders made
with different configurations, and one shard id holding different content in two folders. The
same shard present twice with the same content (a re-run, a replica) is taken once. Every shard
file is checked against its marker's size and checksum before anything is copied: a damaged copy
is never merged; when another folder holds a valid copy of that shard, that one is taken (with a
warning), else the merge stops naming the damaged file.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping, Sequence

from clip2point.datasets.shards.job_config import config_differences, ensure_job_config
from clip2point.datasets.shards.folder import ShardFolder
from clip2point.datasets.shards.digests import recorded_checksum
from clip2point.datasets.shards.file_format import ObjectFailure
from clip2point.datasets.shards.index import (
    build_index, completed_shard_ids, read_config, read_marker, read_skipped, shard_problem, write_skipped,
)
from clip2point.datasets.shards.records import CONFIG_NAME, marker_name
from clip2point.errors import ConfigError, ShardError

log = logging.getLogger(__name__)


def shard_identity(marker: dict[str, Any]) -> tuple:
    """What makes two copies of a shard the same: file checksum, object hashes, failures."""
    objects = tuple((o["object_id"], o["hash"]) for o in marker["objects"])
    failures = tuple(sorted((f["object_id"], f["status"]) for f in marker["failures"]))
    return recorded_checksum(marker), objects, failures


def common_config(folders: Sequence[Path]) -> dict[str, Any]:
    """The one job configuration of all folders, or ``ConfigError`` naming what differs."""
    configs = []
    for folder in folders:
        data = read_config(folder)
        if data is None:
            raise ConfigError(f"{folder / CONFIG_NAME} is missing; {folder} is not a generation job's output folder")
        configs.append((folder, data["config"]))
    first_folder, first = configs[0]
    for folder, config in configs[1:]:
        diffs = config_differences(first, config)
        if diffs:
            raise ConfigError(f"{folder} and {first_folder} were made with different configurations "
                              f"({'; '.join(diffs[:6])}); only shards of one job can be merged")
    return first


Copy = tuple[Path, dict[str, Any]]  # (folder, marker) of one copy of a shard


def _take_shard(source: Path, out: Path, shard_id: int, file: str | None, *, replaces_damaged: bool) -> None:
    """Place a checked shard in ``out`` through its folder (a damaged copy already in ``out`` is
    set aside first, not overwritten)."""
    folder = ShardFolder(out)
    if replaces_damaged:
        log.warning("%s: damaged copy of shard %d set aside as %s", out, shard_id,
                    " and ".join(p.name for p in folder.set_aside(shard_id).moved))
    folder.take_shard(ShardFolder(source), shard_id, file)


def _copies(folders: Sequence[Path], shard_id: int, done: Sequence[set[int]]) -> list[Copy]:
    """The copies of one shard, in folder order (one marker per folder read at a time)."""
    return [(folder, read_marker(folder / marker_name(shard_id))) for folder, ids in zip(folders, done)
            if shard_id in ids]


def _refuse_different_copies(shard_id: int, copies: list[Copy]) -> None:
    (first, marker), *rest = copies
    for folder, other in rest:
        if shard_identity(other) != shard_identity(marker):
            raise ShardError(folder / marker_name(shard_id), f"shard {shard_id} is also in {first} "
                             "with different content; these folders come from different runs")


def valid_copy(shard_id: int, copies: list[Copy]) -> Copy:
    """The first copy whose file matches its marker (size, checksum), warning about damaged copies
    passed over; ``ShardError`` naming the damaged file when no copy is valid."""
    damaged: list[tuple[Path, str]] = []
    for folder, marker in copies:
        problem = shard_problem(folder, marker, checksum=True)
        if problem is None:
            for path, why in damaged:
                log.warning("%s: %s; taking the valid copy of shard %d in %s", path, why, shard_id, folder)
            return folder, marker
        damaged.append((folder / marker["file"], problem))
    (path, why), others = damaged[0], [str(p) for p, _ in damaged[1:]]
    also = f" (the copies {', '.join(others)} are damaged too)" if others else ""
    raise ShardError(path, f"{why}; a damaged shard is never merged{also}; rerun the render command of the node "
                     "that made it (it sets the file aside and renders the shard again), then merge again")


def _merged_skipped(folders: Sequence[Path]) -> list[ObjectFailure]:
    records: dict[str, dict[str, Any]] = {}
    for folder in folders:
        for record in read_skipped(folder):
            if records.setdefault(record["object_id"], record) != record:
                raise ShardError(folder / "skipped.json", f"skips {record['object_id']} for another reason than a sibling folder")
    return [ObjectFailure.from_json(r) for r in records.values()]


def merge_shard_folders(out: str | Path, sources: Sequence[str | Path]) -> Mapping[str, Any]:
    """Copy every completed shard of ``sources`` into ``out`` and index it; with no sources (or
    only ``out``), index ``out`` in place (several nodes wrote into one shared folder). Either
    way every shard file is first checked against its marker (:func:`valid_copy`), all of them
    before anything is written. Streamed: one shard's markers are held at a time, and what is
    kept per shard for the copy step is its chosen folder and file name."""
    out = Path(out)
    sources = [Path(s) for s in sources if Path(s).resolve() != out.resolve()]
    for folder in sources:
        if not folder.is_dir():
            raise ShardError(folder, "node folder not found")
    config = common_config(sources) if sources else None
    folders = [out, *sources]
    done = [completed_shard_ids(folder) for folder in folders]
    chosen: dict[int, tuple[Path, str | None]] = {}
    for shard_id in sorted(set().union(*done)):  # check everything before writing anything
        copies = _copies(folders, shard_id, done)
        _refuse_different_copies(shard_id, copies)
        folder, marker = valid_copy(shard_id, copies)
        if folder != out:
            chosen[shard_id] = (folder, marker.get("file"))
    if config is not None:
        ensure_job_config(out, config)
    for shard_id, (folder, file) in chosen.items():
        _take_shard(folder, out, shard_id, file, replaces_damaged=shard_id in done[0])
    if not sources:
        return build_index(out)
    skipped = _merged_skipped(folders)
    if skipped:
        write_skipped(out, skipped)
    log.info("merged %d folders into %s", len(sources), out)
    return build_index(out)
