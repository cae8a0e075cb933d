"""``--retry-failed``: re-render only the objects a folder records as failed, without touching
any completed shard's data.

Retried objects go into new shards (fresh ids after every existing one) whose marker names, per
object, the shard whose failure it supersedes (``stats.retry_of``). The old marker's failure is
then moved to its ``superseded`` list, so the index sees each object exactly once. The two
writes are not one atomic step; ``reconcile_retries`` runs before and after every job and
finishes a supersession a crash interrupted, which makes the pair effectively atomic.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

from clip2point.datasets.shards import completed_shard_ids, marker_name, read_marker, write_json_atomic
from clip2point.render.worker import ShardTask

log = logging.getLogger(__name__)


def read_markers(folder: Path) -> dict[int, dict]:
    return {sid: read_marker(folder / marker_name(sid)) for sid in sorted(completed_shard_ids(folder))}


def recorded_failures(folder: Path) -> dict[str, int]:
    """``object_id -> shard_id`` of every live (not superseded) failure in the folder."""
    return {f["object_id"]: sid for sid, marker in read_markers(folder).items()
            for f in marker["failures"] if f["status"] == "failed"}


def reconcile_retries(folder: Path) -> int:
    """Move failures that a retry shard re-rendered into the old marker's ``superseded`` list.

    Idempotent; returns how many failure records it moved. Reads one marker at a time and holds
    only the retry maps and the live failures' ids (an 800,000-object folder's markers held at
    once cost ~1.9 KB per object); only the markers it changes are read again."""
    superseded_by: dict[tuple[int, str], int] = {}
    failing: dict[int, set[str]] = {}
    for sid in sorted(completed_shard_ids(folder)):
        marker = read_marker(folder / marker_name(sid))
        for object_id, old in (marker.get("stats") or {}).get("retry_of", {}).items():
            superseded_by[(int(old), object_id)] = sid
        if marker["failures"]:
            failing[sid] = {f["object_id"] for f in marker["failures"]}
    moved = 0
    for sid in sorted(s for s, ids in failing.items() if any((s, i) in superseded_by for i in ids)):
        marker = read_marker(folder / marker_name(sid))
        stale = [f for f in marker["failures"] if (sid, f["object_id"]) in superseded_by]
        marker["failures"] = [f for f in marker["failures"] if (sid, f["object_id"]) not in superseded_by]
        marker["superseded"] = marker.get("superseded", []) + [
            dict(f, by_shard=superseded_by[(sid, f["object_id"])]) for f in stale]
        write_json_atomic(folder / marker_name(sid), marker)
        moved += len(stale)
    if moved:
        log.info("%s: %d failure records superseded by retry shards", folder, moved)
    return moved


def retry_shard_tasks(folder: Path, lookup: "RetryLookup", *, first_id: int, objects_per_shard: int) -> list[ShardTask]:
    """New shard tasks for every live failure, numbered from ``first_id`` (id-sorted, chunked)."""
    failed = recorded_failures(folder)
    known = [object_id for object_id in sorted(failed) if lookup.knows(object_id)]
    if len(known) < len(failed):
        log.warning("%d recorded failures are not in this job's plan and are left as they are",
                    len(failed) - len(known))
    tasks = []
    for k, start in enumerate(range(0, len(known), objects_per_shard)):
        chunk = known[start:start + objects_per_shard]
        entries, failures = lookup.split(chunk)
        tasks.append(ShardTask(first_id + k, entries, failures, tuple((i, failed[i]) for i in chunk)))
    return tasks


class RetryLookup:
    """What the plan knows about each object id: a mesh to render or a failure decided up front."""

    def __init__(self, entries: Iterable, pre_failed: Iterable) -> None:
        self._entries = {e.object_id: e for e in entries}
        self._failed = {f.object_id: f for f in pre_failed}

    def knows(self, object_id: str) -> bool:
        return object_id in self._entries or object_id in self._failed

    def split(self, ids: list[str]) -> tuple[tuple, tuple]:
        return (tuple(self._entries[i] for i in ids if i in self._entries),
                tuple(self._failed[i] for i in ids if i in self._failed))
