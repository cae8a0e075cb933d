"""The typed records of a shard folder's state, and the names its files have.

A completion marker (``shard-NNNNN.json``) is a :class:`Marker`; the failures it lists are
:class:`~clip2point.datasets.shards.file_format.ObjectFailure`; a failure that a retry shard re-rendered
is kept as :class:`Superseded` (the failure plus the retry shard's id); a damaged shard renamed
out of the way is a :class:`SetAside`. Only :class:`~clip2point.datasets.shards.folder.ShardFolder`
reads and writes them; everyone else gets these frozen records (or the plain JSON they came from).

``Marker.from_json(d).to_json() == d`` for every marker a job of ours wrote, including keys this
version does not know (kept in ``extra``), so rewriting a marker (a retry's supersession) changes
only what the rewrite means to change.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, Mapping

from clip2point.datasets.shards.digests import recorded_checksum
from clip2point.datasets.shards.file_format import SCHEMA_VERSION, ObjectFailure

__all__ = [
    "CONFIG_NAME", "INDEX_NAME", "SKIPPED_NAME", "MARKER_FORMAT", "MARKER_RE", "shard_file_name", "marker_name",
    "Marker", "Superseded", "SetAside",
]

MARKER_RE = re.compile(r"^shard-(\d{5,})\.json$")
MARKER_FORMAT = "clip2point-shard-marker"
CONFIG_NAME, INDEX_NAME, SKIPPED_NAME = "config.json", "index.json", "skipped.json"


def shard_file_name(shard_id: int) -> str:
    return f"shard-{shard_id:05d}.h5"


def marker_name(shard_id: int) -> str:
    return f"shard-{shard_id:05d}.json"


@dataclasses.dataclass(frozen=True)
class Superseded:
    """A failure of one shard that retry shard ``by_shard`` rendered again: kept in the old
    marker (not deleted), so setting the retry shard aside can make it a live failure again."""

    failure: ObjectFailure
    by_shard: int

    def to_json(self) -> dict[str, Any]:
        return self.failure.to_json() | {"by_shard": self.by_shard}

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> "Superseded":
        return cls(ObjectFailure.from_json(record), int(record["by_shard"]))


# The keys write_shard writes, in its order; anything else in a marker file is kept in ``extra``.
_KNOWN = ("format", "schema_version", "shard_id", "file", "checksum", "sha256", "bytes", "objects", "failures", "class_names",
          "shapes", "stats", "superseded")


@dataclasses.dataclass(frozen=True)
class Marker:
    """A shard's completion marker: the shard is done exactly when this record is on disk.

    ``objects`` are the per-object records the index copies (id, synset, label, split, content
    hash, texture status, metadata) as written; ``stats`` the writer's timings and policy, with
    ``retry_of`` for a retry shard; ``superseded`` is None until a retry first touched the marker
    (a fresh marker has no such key, and a rewrite must not add one)."""

    shard_id: int
    file: str | None
    checksum: str | None  # "ALGORITHM:HEX" of the file (digests.recorded_checksum); None without a file
    bytes: int
    objects: tuple[Mapping[str, Any], ...] = ()
    failures: tuple[ObjectFailure, ...] = ()
    class_names: tuple[str, ...] | None = None
    shapes: Mapping[str, Any] | None = None
    stats: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    superseded: tuple[Superseded, ...] | None = None
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION  # the shard's: a rewritten older marker keeps its own

    def __post_init__(self) -> None:
        for name in ("objects", "failures", "class_names", "superseded"):  # lists given are kept as tuples
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def object_ids(self) -> tuple[str, ...]:
        return tuple(o["object_id"] for o in self.objects)

    @property
    def retry_of(self) -> dict[str, int]:
        """``object_id -> shard id`` whose failure this (retry) shard re-rendered."""
        return {object_id: int(old) for object_id, old in (self.stats or {}).get("retry_of", {}).items()}

    def live_failures(self) -> tuple[ObjectFailure, ...]:
        """Failures with status ``failed`` (not rule skips): what ``--retry-failed`` renders."""
        return tuple(f for f in self.failures if f.status == "failed")

    def to_json(self) -> dict[str, Any]:
        """The marker file's content (``write_json_atomic`` sorts the keys)."""
        data = {
            "format": MARKER_FORMAT,
            "schema_version": self.schema_version,
            "shard_id": self.shard_id,
            "file": self.file,
            **self._checksum_json(),
            "bytes": self.bytes,
            "objects": [dict(o) for o in self.objects],
            "failures": [f.to_json() for f in self.failures],
            "class_names": None if self.class_names is None else list(self.class_names),
            "shapes": None if self.shapes is None else dict(self.shapes),
            "stats": dict(self.stats),
        }
        if self.superseded is not None:
            data["superseded"] = [s.to_json() for s in self.superseded]
        return data | dict(self.extra)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Marker":
        """A checked marker's JSON (``format`` and ``schema_version`` already verified) as a record;
        ``KeyError``/``TypeError``/``ValueError`` on a malformed one (the folder names the file)."""
        superseded = data.get("superseded")
        class_names = data.get("class_names")
        return cls(
            shard_id=int(data["shard_id"]),
            file=data.get("file"),
            checksum=recorded_checksum(data),
            bytes=data.get("bytes"),
            objects=tuple(data["objects"]),
            failures=tuple(ObjectFailure.from_json(f) for f in data["failures"]),
            class_names=None if class_names is None else tuple(class_names),
            shapes=data.get("shapes"),
            stats=data.get("stats", {}),
            superseded=None if superseded is None else tuple(Superseded.from_json(s) for s in superseded),
            extra={k: v for k, v in data.items() if k not in _KNOWN},
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
        )

    def _checksum_json(self) -> dict[str, Any]:
        """Schema 2 writes ``checksum``; a rewritten schema-1 marker keeps its bare ``sha256``
        hex, so it stays the file the previous code wrote and reads."""
        if self.schema_version == 1:
            return {"sha256": self.checksum.partition(":")[2] if self.checksum else None}
        return {"checksum": self.checksum}

    def supersede(self, by_shard: Mapping[str, int]) -> "Marker":
        """This marker with the failures of ``by_shard`` (``object_id -> retry shard``) moved to
        ``superseded``, in their order, after those superseded before (itself when none is listed)."""
        stale = [f for f in self.failures if f.object_id in by_shard]
        if not stale:
            return self
        return dataclasses.replace(
            self, failures=tuple(f for f in self.failures if f.object_id not in by_shard),
            superseded=(self.superseded or ()) + tuple(Superseded(f, by_shard[f.object_id]) for f in stale))

    def restore(self, set_aside: set[int]) -> tuple["Marker", tuple[ObjectFailure, ...]]:
        """This marker with the failures that the (now set-aside) shards ``set_aside`` had
        superseded made live again (appended to ``failures``), and those failures."""
        back = [s for s in self.superseded or () if s.by_shard in set_aside]
        if not back:
            return self, ()
        kept = tuple(s for s in self.superseded or () if s not in back)
        failures = tuple(s.failure for s in back)
        return dataclasses.replace(self, failures=self.failures + failures, superseded=kept), failures


@dataclasses.dataclass(frozen=True)
class SetAside:
    """A done shard renamed to ``NAME.bad-STAMP`` (file first, then marker) so it counts as not
    done and is rendered again, nothing written deleted. ``problem`` says why its file no longer
    matches its marker; None when the shard was whole but held retries of a damaged shard."""

    shard_id: int
    problem: str | None
    moved: tuple[Path, ...]

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.moved]
