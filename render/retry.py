"""``--retry-failed``: re-render only the objects a folder records as failed, without touching
any completed shard's data.

Retried objects go into new shards (fresh ids after every existing one) whose marker names, per
object, the shard whose failure it supersedes (``stats.retry_of``). The old marker's failure is
then moved to its ``superseded`` list, so the index sees each object exactly once: that is the
folder's (``ShardFolder.supersede_retried``, run before and after every job, which finishes a
supersession a crash interrupted). This module plans the retry shards.
"""

from __future__ import annotations

import logging
from typing import Iterable

from clip2point.datasets.shards.folder import ShardFolder
from clip2point.render.worker import ShardTask

log = logging.getLogger(__name__)


def retry_shard_tasks(folder: ShardFolder, lookup: "RetryLookup", *, first_id: int, objects_per_shard: int) -> list[ShardTask]:
    """New shard tasks for every live failure, numbered from ``first_id`` (id-sorted, chunked)."""
    failed = folder.live_failures()
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
