"""Merge the shard folders of several ``--num-nodes/--node-rank`` runs into one indexed folder.

Nodes own disjoint shard ids (shard k belongs to node k % num_nodes), so merging is copying each
completed shard (file first, marker last, each atomically, hard-linked when the filesystem
allows) and building one index. It refuses what would silently mix two datasets: folders made
with different configurations, and one shard id holding different content in two folders. The
same shard present twice with the same content (a re-run, a replica) is taken once.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any, Sequence

from clip2point.datasets.atomic_io import atomic_path, write_json_atomic
from clip2point.datasets.shard_format import ObjectFailure
from clip2point.datasets.shards import (
    CONFIG_NAME,
    build_index,
    completed_shard_ids,
    config_differences,
    ensure_job_config,
    marker_name,
    read_config,
    read_marker,
    read_skipped,
    write_skipped,
)
from clip2point.errors import ConfigError, ShardError

log = logging.getLogger(__name__)


def shard_identity(marker: dict[str, Any]) -> tuple:
    """What makes two copies of a shard the same: file checksum, object hashes, failures."""
    objects = tuple((o["object_id"], o["hash"]) for o in marker["objects"])
    failures = tuple(sorted((f["object_id"], f["status"]) for f in marker["failures"]))
    return marker.get("sha256"), objects, failures


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


def link_or_copy(src: Path, dst: Path) -> None:
    """Atomically place ``src`` at ``dst`` (a hard link when possible, else a copy)."""
    with atomic_path(dst) as tmp:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)


def _take_shard(source: Path, out: Path, shard_id: int, marker: dict[str, Any]) -> None:
    if marker.get("file"):
        src = source / marker["file"]
        if not src.is_file():
            raise ShardError(src, "the marker says this shard is complete but the file is missing; re-run its node")
        link_or_copy(src, out / marker["file"])
    write_json_atomic(out / marker_name(shard_id), marker)


def _merged_skipped(folders: Sequence[Path]) -> list[ObjectFailure]:
    records: dict[str, dict[str, Any]] = {}
    for folder in folders:
        for record in read_skipped(folder):
            if records.setdefault(record["object_id"], record) != record:
                raise ShardError(folder / "skipped.json", f"skips {record['object_id']} for another reason than a sibling folder")
    return [ObjectFailure.from_json(r) for r in records.values()]


def merge_shard_folders(out: str | Path, sources: Sequence[str | Path]) -> dict[str, Any]:
    """Copy every completed shard of ``sources`` into ``out`` and index it; with no sources (or
    only ``out``), index ``out`` in place (several nodes wrote into one shared folder)."""
    out = Path(out)
    sources = [Path(s) for s in sources if Path(s).resolve() != out.resolve()]
    for folder in sources:
        if not folder.is_dir():
            raise ShardError(folder, "node folder not found")
    if not sources:
        return build_index(out)
    config = common_config(sources)
    ensure_job_config(out, config)
    taken = {sid: shard_identity(read_marker(out / marker_name(sid))) for sid in completed_shard_ids(out)}
    origin = {sid: out for sid in taken}
    for source in sources:
        for shard_id in sorted(completed_shard_ids(source)):
            marker = read_marker(source / marker_name(shard_id))
            identity = shard_identity(marker)
            if shard_id in taken:
                if taken[shard_id] != identity:
                    raise ShardError(source / marker_name(shard_id), f"shard {shard_id} is also in {origin[shard_id]} "
                                     "with different content; these folders come from different runs")
                continue
            _take_shard(source, out, shard_id, marker)
            taken[shard_id], origin[shard_id] = identity, source
    skipped = _merged_skipped([out, *sources])
    if skipped:
        write_skipped(out, skipped)
    log.info("merged %d folders into %s", len(sources), out)
    return build_index(out)
