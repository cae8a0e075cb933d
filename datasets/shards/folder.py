"""A shard folder's state, and its one owner: :class:`ShardFolder`.

A generation job's folder holds ``config.json`` (the pinned job configuration, code version and
source), ``shard-NNNNN.h5`` each followed by its completion marker ``shard-NNNNN.json``,
``skipped.json`` (objects dropped by a rule), ``index.json`` and the job's ``report*.json``.
A shard is done exactly when its marker exists (the writer renames the file into place first and
writes the marker last, both atomically). ``ShardFolder`` alone reads and writes that state, as
the typed records of :mod:`clip2point.datasets.shards.records`: which shards are done, their
markers, whether a file still matches its marker, setting a damaged shard aside, the failures a
retry shard superseded (and restoring them), the skip list, the pinned configuration and its
source. The render job plans, partitions, runs and reports, and asks the folder; nothing else
edits a marker. (The h5 bytes are :mod:`~clip2point.datasets.shards`'s ``write_shard``; the
configuration's compare-and-restore policy is :mod:`~clip2point.datasets.shards.job_config`.)

The folder refuses what does not belong in it: anything a job of ours does not write means
``--out`` points at the wrong folder. And two runs with the same flags but different sources
(``--shapenet A`` then ``--shapenet B``) have the same configuration, so ``config.json`` also
records the *source* (kind, resolved root, digest of the object list); without it a second
dataset "resumed" into the first one's folder and rendered nothing. Hidden ``.NAME.tmp-PID``
files are leftovers of a crash and are ignored (and overwritten) by design.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from clip2point.atomic_io import atomic_path, set_aside, write_json_atomic
from clip2point.datasets.shards.digests import checksum_matches, checksum_name
from clip2point.datasets.shards.file_format import READABLE_SCHEMA_VERSIONS, ObjectFailure, open_shard
from clip2point.datasets.shards.records import (
    CONFIG_NAME, INDEX_NAME, MARKER_FORMAT, MARKER_RE, SKIPPED_NAME, Marker, SetAside, marker_name, shard_file_name,
)
from clip2point.errors import ConfigError, ShardError

__all__ = ["ShardFolder", "read_marker", "read_versioned_json", "source_record"]

log = logging.getLogger(__name__)

# Every name a generation job or ``shards merge`` writes; hidden names are crash leftovers
# (``.NAME.tmp-PID``) and set-aside shards keep their name plus ``.bad-STAMP``.
_OURS = re.compile(r"^(config|index|skipped|report(-node\d+)?)\.json$|^shard-\d{5,}\.(h5|json)(\.bad-.+)?$|^\.")
_MARKER_FIX = "delete it to re-render the shard"


def read_versioned_json(path: Path, fmt: str, what: str, fix: str) -> dict[str, Any]:
    """A JSON file of ours: readable, of format ``fmt`` and of a schema version this code reads
    (``READABLE_SCHEMA_VERSIONS``: from 1 to 2 only the digests changed, which
    ``digests.recorded_checksum`` reads either way), else a ``ShardError`` naming the file,
    ``what`` it should be, and the ``fix``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ShardError(path, f"unreadable {what} ({exc}); {fix}") from exc
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise ShardError(path, f"not a clip2point {what}; {fix}")
    if data.get("schema_version") not in READABLE_SCHEMA_VERSIONS:
        raise ShardError(path, f"{what} schema_version {data.get('schema_version')} is not one this code reads "
                               f"({', '.join(map(str, READABLE_SCHEMA_VERSIONS))})")
    return data


def read_marker(path: Path) -> dict[str, Any]:
    """A marker file's JSON, checked enough that the index can trust its fields."""
    return read_versioned_json(path, MARKER_FORMAT, "completion marker", _MARKER_FIX)


class ShardFolder:
    """The state of one shard folder at ``path`` (which need not exist yet)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"ShardFolder({str(self.path)!r})"

    def shard_path(self, shard_id: int) -> Path:
        return self.path / shard_file_name(shard_id)

    def marker_path(self, shard_id: int) -> Path:
        return self.path / marker_name(shard_id)

    # -- done shards and their markers ------------------------------------------------------

    def done_ids(self) -> set[int]:
        """Shards whose marker exists (the only definition of done)."""
        if not self.path.is_dir():
            return set()
        return {int(m.group(1)) for p in self.path.iterdir() if (m := MARKER_RE.match(p.name))}

    def marker(self, shard_id: int) -> Marker:
        """Shard ``shard_id``'s marker; ``ShardError`` naming the file when it is not one of ours."""
        path = self.marker_path(shard_id)
        data = read_marker(path)
        try:
            return Marker.from_json(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise ShardError(path, f"malformed completion marker ({exc!r}); {_MARKER_FIX}") from exc

    def iter_markers(self) -> Iterator[Marker]:
        """Every done shard's marker in id order, one at a time: an 800,000-object folder's
        markers held at once cost ~1.9 KB per object, so passes over them keep only what they need."""
        for shard_id in sorted(self.done_ids()):
            yield self.marker(shard_id)

    def write_marker(self, marker: Marker) -> Path:
        """Write (or rewrite) a marker atomically: a crash leaves the old one or the new one."""
        return write_json_atomic(self.marker_path(marker.shard_id), marker.to_json())

    # -- does a done shard's file still match its marker? ------------------------------------

    def problem(self, marker: Marker, *, checksum: bool = True) -> str | None:
        """Why the file ``marker`` vouches for is no longer the file that was written (None when
        it still is): see :meth:`file_problem`."""
        return self.file_problem(marker.file, marker.bytes, marker.checksum, checksum=checksum)

    def file_problem(self, name: str | None, size: int | None, recorded: str | None, *,
                     checksum: bool = True) -> str | None:
        """Why file ``name`` is not the one a marker recorded with ``size`` and checksum
        ``recorded`` (``"ALGORITHM:HEX"``, :mod:`~clip2point.datasets.shards.digests`). A marker
        only proves the file was whole once; a later truncation, overwrite or deletion must not
        pass for done work (resume) or be copied on (merge).

        Cheap checks first: the file exists and has the recorded size (catches deletion and
        truncation). Then, with ``checksum``, the file's checksum against the marker's, which
        catches any changed byte. Per 95 MB shard, page cache warm, CPU: 19 ms with XXH3-128
        (schema 2, mostly the read itself), 67 ms with sha256 (schema 1): ~20 s against ~65 s
        for the ShapeNet job's ~90 GB, so a cold resume waits for the disk. Without ``checksum``
        (or for a marker without one), the file must open as a shard of our schema: 2-3 ms per
        shard, catches a damaged header but not changed data."""
        if not name:
            return None  # every object of the shard failed: the marker is the whole shard
        path = self.path / name
        if not path.is_file():
            return "the file is missing"
        found = path.stat().st_size
        if found != size:
            return f"it has {found} bytes but its marker records {size} (truncated or overwritten)"
        if checksum and recorded:
            try:
                matches = checksum_matches(path, recorded)
            except ValueError as exc:
                return f"its marker's checksum cannot be checked ({exc}): the marker is damaged"
            if not matches:
                return (f"its {checksum_name(recorded)} checksum differs from the one its marker records "
                        "(changed or corrupted since it was written)")
            return None
        try:
            open_shard(path).close()
        except ShardError as exc:
            return exc.reason
        return None

    def set_aside(self, shard_id: int, problem: str | None = None) -> SetAside:
        """Rename a shard's file and then its marker to ``NAME.bad-<UTC time>``, so the shard counts
        as not done and is rendered again, while nothing written is deleted. File first: a crash in
        between leaves a marker whose file is missing, which the next check catches."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        paths = [self.shard_path(shard_id), self.marker_path(shard_id)]
        return SetAside(shard_id, problem, tuple(set_aside(p, stamp) for p in paths if p.exists()))

    def take_shard(self, source: "ShardFolder", shard_id: int, file: str | None) -> None:
        """Place ``source``'s checked copy of a shard here (``shards merge``): the file first (a hard
        link when the filesystem allows, else a copy), the marker last, each atomically. The marker
        is copied as the bytes that were checked, not decoded and encoded again: a merge that held
        every marker at once cost ~4.5 KB per object."""
        if file:
            _link_or_copy(source.path / file, self.path / file)
        with atomic_path(self.marker_path(shard_id)) as tmp:
            shutil.copyfile(source.marker_path(shard_id), tmp)

    def set_aside_damaged(self, shard_ids: Iterable[int], *,
                          checksum: bool = True) -> tuple[list[SetAside], dict[int, tuple[ObjectFailure, ...]]]:
        """Check each of ``shard_ids`` against its marker and set aside the damaged ones together
        with the retry shards that re-rendered their failures (:meth:`with_their_retries`); the
        failures those retry shards had superseded become live again (:meth:`restore_superseded`).
        Returns what was set aside (by shard id) and what was restored (by shard)."""
        problems: dict[int, str] = {}
        for shard_id in shard_ids:
            problem = self.problem(self.marker(shard_id), checksum=checksum)
            if problem is not None:
                problems[shard_id] = problem
        doomed = self.with_their_retries(set(problems))
        moved = [self.set_aside(shard_id, problems.get(shard_id)) for shard_id in sorted(doomed)]
        return moved, self.restore_superseded(doomed)

    # -- retries: superseded failures ----------------------------------------------------------

    def live_failures(self) -> dict[str, int]:
        """``object_id -> shard_id`` of every live (not superseded) failure in the folder."""
        return {f.object_id: marker.shard_id for marker in self.iter_markers() for f in marker.live_failures()}

    def supersede_retried(self) -> int:
        """Move the failures that a retry shard re-rendered (its ``stats.retry_of``) into the old
        marker's ``superseded`` list, so the index sees each object once. The retry shard and the
        rewrite are two atomic writes, not one; this runs before and after every job and finishes a
        supersession a crash interrupted. Idempotent; returns how many failure records it moved.
        One pass holds only the retry maps and the failures' ids; the markers it changes are read
        again."""
        by_old: dict[int, dict[str, int]] = {}  # old shard -> {object id: retry shard}
        failing: dict[int, set[str]] = {}
        for marker in self.iter_markers():
            for object_id, old in marker.retry_of.items():
                by_old.setdefault(old, {})[object_id] = marker.shard_id
            if marker.failures:
                failing[marker.shard_id] = {f.object_id for f in marker.failures}
        moved = 0
        for shard_id in sorted(s for s, ids in failing.items() if not ids.isdisjoint(by_old.get(s, ()))):
            marker = self.marker(shard_id)
            updated = marker.supersede(by_old[shard_id])
            self.write_marker(updated)
            moved += len(marker.failures) - len(updated.failures)
        if moved:
            log.info("%s: %d failure records superseded by retry shards", self.path, moved)
        return moved

    def with_their_retries(self, bad: set[int]) -> set[int]:
        """``bad`` plus every retry shard that re-rendered a failure of one of them, transitively: a
        shard rendered again lists those objects itself (or they are failures again), so a retry
        copy left in place would put them in the index twice."""
        if not bad:
            return bad
        retried_in = {m.shard_id: [s.by_shard for s in m.superseded] for m in self.iter_markers() if m.superseded}
        result, todo = set(bad), list(bad)
        while todo:
            for by_shard in retried_in.get(todo.pop(), ()):
                if by_shard not in result:
                    result.add(by_shard)
                    todo.append(by_shard)
        return result

    def restore_superseded(self, set_aside: set[int]) -> dict[int, tuple[ObjectFailure, ...]]:
        """Failures that the set-aside retry shards ``set_aside`` had superseded become live
        failures again (the index lists those objects, ``--retry-failed`` renders them again).
        Returns the restored failures by the shard whose marker now lists them."""
        restored: dict[int, tuple[ObjectFailure, ...]] = {}
        if not set_aside:
            return restored
        for marker in self.iter_markers():
            updated, back = marker.restore(set_aside)
            if back:
                self.write_marker(updated)
                restored[marker.shard_id] = back
        return restored

    # -- skipped.json ----------------------------------------------------------------------------

    def skipped(self) -> list[ObjectFailure]:
        """``skipped.json``: ``{"skipped": [ObjectFailure...]}`` (a bare list is accepted too)."""
        path = self.path / SKIPPED_NAME
        if not path.is_file():
            return []
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            records = data["skipped"] if isinstance(data, dict) else data
            return [ObjectFailure.from_json(r) for r in records]
        except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ShardError(path, f"unreadable skip list ({exc})") from exc

    def write_skipped(self, skipped: Iterable[ObjectFailure]) -> Path:
        """Record the objects a rule dropped (e.g. the reference's ten ids) and the rule, per object."""
        records = [s.to_json() for s in sorted(skipped, key=lambda s: s.object_id)]
        return write_json_atomic(self.path / SKIPPED_NAME, {"skipped": records})

    # -- config.json and the source it records ------------------------------------------------------

    def config(self) -> dict[str, Any] | None:
        """``config.json`` (``config``, ``code_version``, ``source``); None when absent."""
        path = self.path / CONFIG_NAME
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ShardError(path, f"unreadable job configuration ({exc})") from exc
        if not isinstance(data, dict) or "config" not in data:
            raise ShardError(path, "not a clip2point job configuration (no 'config' key)")
        return data

    def write_config(self, data: Mapping[str, Any]) -> Path:
        """Pin ``config.json`` (what to pin is :mod:`~clip2point.datasets.shards.job_config`'s policy)."""
        return write_json_atomic(self.path / CONFIG_NAME, dict(data))

    def check_source(self, source: Mapping[str, Any], keys: tuple[str, ...] = ("kind", "root")) -> None:
        """Refuse a folder whose ``config.json`` records another source (compared on ``keys``),
        naming both and how to resume. The job compares kind and root first (another dataset is the
        clearer message), then, once the configuration matched, the object list."""
        found = (self.config() or {}).get("source")
        if found is None or all(found.get(k) == source.get(k) for k in keys):
            return
        resume = ("rerun without --shapenet, --manifest or --objaverse" if found["root"] is None
                  else f"rerun with {_source_flag(found)}")
        if found["kind"] == source["kind"] and found["root"] == source["root"]:
            resume = "restore the split files it was made from"
        raise ConfigError(f"{self.path / CONFIG_NAME} holds shards of {_describe(found)}, not of {_describe(source)}; "
                          f"{resume} to resume it, or choose a new output folder")

    def record_source(self, source: Mapping[str, Any]) -> None:
        """Add the source to ``config.json`` (a folder from before sources were recorded gets it now)."""
        data = self.config()
        if data is not None and data.get("source") != dict(source):
            self.write_config({**data, "source": json.loads(json.dumps(dict(source)))})

    # -- what the folder is ---------------------------------------------------------------------

    def foreign_entries(self) -> list[str]:
        """Names in the folder that no job of ours writes (folders with a trailing ``/``), sorted."""
        if not self.path.is_dir():
            return []
        return sorted(p.name + ("/" if p.is_dir() else "") for p in self.path.iterdir() if not _OURS.match(p.name))

    def refuse_foreign_files(self) -> None:
        """``ConfigError`` (one line) when the folder holds files that are not a shard folder's."""
        found = self.foreign_entries()
        if found:
            shown = ", ".join(found[:4]) + (f" and {len(found) - 4} more" if len(found) > 4 else "")
            raise ConfigError(f"--out {self.path} holds files that are not a shard folder's ({shown}); render into "
                              "an empty or new folder (it is created), never into a mesh set or a run folder")

    def holds_shards(self) -> bool:
        """Whether any shard is done or any shard file is present (done or not)."""
        return self.path.is_dir() and (bool(self.done_ids()) or any(self.path.glob("shard-*.h5")))

    def is_shard_folder(self) -> bool:
        """Whether the folder holds a generation job's output (shards, markers, index or skip list)."""
        return self.holds_shards() or (self.path / INDEX_NAME).is_file() or (self.path / SKIPPED_NAME).is_file()


def _link_or_copy(src: Path, dst: Path) -> None:
    """Atomically place ``src`` at ``dst`` (a hard link when possible, else a copy)."""
    with atomic_path(dst) as tmp:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)


def source_record(kind: str, root: Path | None, objects: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The source of a job: ``kind`` (synthetic / shapenet / manifest / objaverse[-lvis]), the resolved root (None for the
    built-in set, whose cache folder may move), and the count and sha256 of its sorted
    ``object_id split`` lines, which change with any other dataset or split files."""
    lines = sorted(f"{object_id} {split}" for object_id, split in objects)
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return {"kind": kind, "root": None if root is None else str(Path(root).resolve()),
            "objects": len(lines), "objects_sha256": digest}


_SOURCE_FLAGS = {"shapenet": "--shapenet {}", "manifest": "--manifest {}", "objaverse": "--objaverse {}",
                 "objaverse-lvis": "--objaverse {} --lvis"}


def _source_flag(source: Mapping[str, Any]) -> str:
    """The render flags that name ``source`` again (``--shapenet ROOT``, ``--manifest FILE``...)."""
    return _SOURCE_FLAGS.get(source["kind"], "--shapenet {}").format(source["root"])


def _describe(source: Mapping[str, Any]) -> str:
    where = "the built-in synthetic set" if source["root"] is None else f"{source['kind']} {source['root']}"
    return f"{where} ({source['objects']} objects, id list sha256 {source['objects_sha256'][:12]})"
