"""Shard folder: the atomic writer the generation job calls, completion markers, the index.

A shard folder holds ``config.json`` (job configuration + code version), ``shard-NNNNN.h5``
(schema in :mod:`clip2point.datasets.shard_format`), each followed by its completion marker
``shard-NNNNN.json``, ``skipped.json`` (objects dropped by a rule) and ``index.json``.
A shard is complete when its marker exists: the .h5 is renamed into place first and the
marker written last, both atomically, so a crash never leaves a marker without its whole file.
Later damage can (a truncated copy, a deleted file), so resume and merge also check the file
against the size and sha256 its marker records (:func:`shard_problem`). Hidden
``.NAME.tmp-PID`` files are leftovers of a crash and are ignored (and overwritten) by design.
The pinned ``config.json`` is compared and restored by :mod:`clip2point.datasets.shard_config`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
import os
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import h5py

from clip2point.atomic_io import (
    atomic_path, require_free_space, set_aside, sha256_file, write_file, write_json_atomic,
)
from clip2point.datasets.shard_format import (
    DEFAULT_LAYOUT,
    SCHEMA_VERSION,
    ObjectFailure,
    RenderedObject,
    UNRECORDED,
    ShardLayout,
    open_shard,
    write_shard_file,
)
from clip2point.datasets.index_stream import IndexTally, ListSpool, WrittenIndex, write_sorted_object
from clip2point.datasets.taxonomy import CLASS_NAMES, SYNSET_IDS
from clip2point.errors import ShardError
from clip2point.provenance import code_version, to_jsonable

__all__ = [
    "SCHEMA_VERSION", "RenderedObject", "ObjectFailure", "ShardLayout", "ShardStats", "write_shard",
    "completed_shard_ids", "read_marker", "collect_index", "build_index", "load_index", "write_json_atomic",
    "write_skipped", "class_names_of", "shard_file_name", "marker_name",
    "shard_problem", "set_aside_shard",
]

log = logging.getLogger(__name__)
SHAPENET_LABELS = {synset: label for label, synset in enumerate(SYNSET_IDS)}

MARKER_RE = re.compile(r"^shard-(\d{5,})\.json$")
MARKER_FORMAT = "clip2point-shard-marker"
INDEX_FORMAT = "clip2point-shard-index"
CONFIG_NAME, INDEX_NAME, SKIPPED_NAME = "config.json", "index.json", "skipped.json"


def shard_file_name(shard_id: int) -> str:
    return f"shard-{shard_id:05d}.h5"


def marker_name(shard_id: int) -> str:
    return f"shard-{shard_id:05d}.json"


@dataclasses.dataclass(frozen=True)
class ShardStats:
    """What ``write_shard`` did; ``file`` is None when every object of the shard failed."""

    shard_id: int
    file: Path | None
    marker: Path
    num_objects: int
    num_failed: int
    num_skipped: int
    bytes: int
    sha256: str | None
    write_seconds: float


def write_shard(
    folder: str | Path,
    shard_id: int,
    objects: Sequence[RenderedObject],
    failures: Sequence[ObjectFailure],
    *,
    attrs: Mapping[str, Any],
    stats: Mapping[str, Any] | None = None,
    layout: ShardLayout = DEFAULT_LAYOUT,
) -> ShardStats:
    """Write one shard and then its marker, each atomically.

    ``attrs`` become file attributes: ``config`` (required: the job configuration, a dict or its
    JSON), ``code_version`` (defaults to this checkout's), optional ``class_names`` (list by
    label) and anything else JSON-serialisable. ``stats`` (timings, counts...) go to the marker.
    """
    if shard_id < 0:
        raise ValueError(f"shard_id must be >= 0; got {shard_id}")
    if "config" not in attrs:
        raise ValueError("write_shard needs attrs['config'] (the job configuration) so every shard is traceable")
    start = time.perf_counter()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    file_attrs = {"code_version": code_version(), **to_jsonable(dict(attrs)), "shard_id": int(shard_id)}
    objects = sorted(objects, key=lambda o: o.object_id)
    _refuse_duplicates([o.object_id for o in objects] + [f.object_id for f in failures], folder, shard_id)
    hashes = [o.content_hash() for o in objects]
    h5_path = folder / shard_file_name(shard_id) if objects else None
    image = _shard_image(list(objects), hashes, file_attrs, layout) if objects else b""
    digest, size = (hashlib.sha256(image).hexdigest() if objects else None), len(image)
    marker = {
        "format": MARKER_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "shard_id": int(shard_id),
        "file": h5_path.name if h5_path else None,
        "sha256": digest,
        "bytes": size,
        "objects": [_object_record(o, h) for o, h in zip(objects, hashes)],
        "failures": [f.to_json() for f in sorted(failures, key=lambda f: f.object_id)],
        "class_names": _json_value(file_attrs.get("class_names")),
        "shapes": {name: list(getattr(objects[0], name).shape) for name in ("rgb", "points")} if objects else None,
        "stats": to_jsonable(dict(stats or {})),
    }
    marker_bytes = len(json.dumps(marker, indent=1, sort_keys=True)) + 1
    require_free_space(folder, len(image) + marker_bytes, f"{shard_file_name(shard_id)} with its marker")
    if h5_path is not None:
        with atomic_path(h5_path) as tmp:
            write_file(tmp, image)  # the bytes hashed above, or an error: never a shorter file
    del image
    marker_path = write_json_atomic(folder / marker_name(shard_id), marker)
    n_skipped = sum(f.status == "skipped" for f in failures)
    return ShardStats(
        shard_id=int(shard_id), file=h5_path, marker=marker_path, num_objects=len(objects),
        num_failed=len(failures) - n_skipped, num_skipped=n_skipped, bytes=size, sha256=digest,
        write_seconds=time.perf_counter() - start,
    )


_IMAGE_NAMES = itertools.count()


def _shard_image(objects: list[RenderedObject], hashes: list[str], attrs: Mapping[str, Any],
                 layout: ShardLayout) -> bytes:
    """The whole shard file, built in memory (HDF5's core driver, no backing store): the same
    bytes HDF5 would write to disk, but no HDF5 call can fail on a full disk. HDF5 reports a
    failed write from chunk flushes at close, as ``Exception ignored`` noise and a file left
    open that crashed the interpreter at exit; a plain write of these bytes fails as one
    ``OSError``. Costs one shard's file size of memory while it is written (~1.7 MB/object)."""
    name = f"clip2point-shard-image-{os.getpid()}-{next(_IMAGE_NAMES)}"  # core files are told apart by name
    with h5py.File(name, "w", driver="core", backing_store=False) as h5:
        write_shard_file(h5, objects, hashes, attrs, layout)
        h5.flush()
        return h5.id.get_file_image()


def _json_value(value: Any) -> Any:
    """Attributes may arrive JSON-encoded; the marker stores them decoded."""
    return json.loads(value) if isinstance(value, str) else value


def _object_record(obj: RenderedObject, content_hash: str) -> dict[str, Any]:
    return {"object_id": obj.object_id, "synset": obj.synset, "label": int(obj.label), "split": obj.split,
            "hash": content_hash, "texture_status": obj.texture_status or UNRECORDED,
            "texture_detail": obj.texture_detail} | ({"metadata": json.loads(obj.metadata)} if obj.metadata else {})


def _refuse_duplicates(ids: list[str], folder: Path, shard_id: int) -> None:
    dupes = sorted(i for i, n in Counter(ids).items() if n > 1)
    if dupes:
        raise ValueError(f"{folder / shard_file_name(shard_id)}: object ids given twice: {dupes[:5]}")


def completed_shard_ids(folder: str | Path) -> set[int]:
    """Shards whose marker exists (the only definition of done)."""
    folder = Path(folder)
    if not folder.is_dir():
        return set()
    return {int(m.group(1)) for p in folder.iterdir() if (m := MARKER_RE.match(p.name))}


def shard_problem(folder: str | Path, marker: Mapping[str, Any], *, checksum: bool = True) -> str | None:
    """Why the shard file a completion marker vouches for is no longer the file that was written
    (None when it still is). A marker only proves the file was whole once; a later truncation,
    overwrite or deletion must not pass for done work (resume) or be copied on (merge).

    Cheap checks first: the file exists and has the recorded size (catches deletion and
    truncation). Then, with ``checksum``, its sha256 against the marker's, which catches any
    changed byte; measured at 62 ms (page cache warm) / 137 ms (cold) for a 95 MB shard on this
    machine's local disk, i.e. ~0.7-1.4 ms per MB, so the full ShapeNet job (~90 GB in ~820
    shards of 64) costs ~1-2 min per resume there, bounded by disk speed elsewhere. Without
    ``checksum`` (or for a marker without one), the file must open as a shard of our schema:
    2-3 ms per shard, catches a damaged header but not changed data."""
    name = marker.get("file")
    if not name:
        return None  # every object of the shard failed: the marker is the whole shard
    path = Path(folder) / name
    if not path.is_file():
        return "the file is missing"
    size = path.stat().st_size
    if size != marker.get("bytes"):
        return f"it has {size} bytes but its marker records {marker.get('bytes')} (truncated or overwritten)"
    if checksum and marker.get("sha256"):
        if sha256_file(path) != marker["sha256"]:
            return "its sha256 differs from the one its marker records (changed or corrupted since it was written)"
        return None
    try:
        open_shard(path).close()
    except ShardError as exc:
        return exc.reason
    return None


def set_aside_shard(folder: str | Path, shard_id: int) -> list[Path]:
    """Rename a damaged shard's file and then its marker to ``NAME.bad-<UTC time>``, so the shard
    counts as not done and is rendered again, while nothing written is deleted. File first: a
    crash in between leaves a marker whose file is missing, which the next check catches."""
    folder, stamp = Path(folder), time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    paths = [folder / shard_file_name(shard_id), folder / marker_name(shard_id)]
    return [set_aside(p, stamp) for p in paths if p.exists()]


def read_marker(path: Path) -> dict[str, Any]:
    """A marker, checked enough that the index can trust its fields."""
    return _read_versioned_json(path, MARKER_FORMAT, "completion marker", "delete it to re-render the shard")


def _read_versioned_json(path: Path, fmt: str, what: str, fix: str) -> dict[str, Any]:
    """A JSON file of ours: readable, of format ``fmt`` and of this schema version, else a
    ``ShardError`` naming the file, ``what`` it should be, and the ``fix``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ShardError(path, f"unreadable {what} ({exc}); {fix}") from exc
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise ShardError(path, f"not a clip2point {what}; {fix}")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ShardError(path, f"{what} schema_version {data.get('schema_version')} is not {SCHEMA_VERSION}")
    return data


def read_skipped(folder: Path) -> list[dict[str, Any]]:
    """``skipped.json``: ``{"skipped": [ObjectFailure...]}`` (a bare list is accepted too)."""
    path = folder / SKIPPED_NAME
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        records = data["skipped"] if isinstance(data, dict) else data
        return [ObjectFailure.from_json(r).to_json() for r in records]
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ShardError(path, f"unreadable skip list ({exc})") from exc


def write_skipped(folder: str | Path, skipped: Iterable[ObjectFailure]) -> Path:
    """Record the objects a rule dropped (e.g. the reference's ten ids) and the rule, per object."""
    records = [s.to_json() for s in sorted(skipped, key=lambda s: s.object_id)]
    return write_json_atomic(Path(folder) / SKIPPED_NAME, {"skipped": records})


def read_config(folder: Path) -> dict[str, Any] | None:
    """``config.json`` as written by :func:`ensure_job_config` (None when absent)."""
    path = folder / CONFIG_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ShardError(path, f"unreadable job configuration ({exc})") from exc
    if not isinstance(data, dict) or "config" not in data:
        raise ShardError(path, "not a clip2point job configuration (no 'config' key)")
    return data


def _shard_folder(folder: str | Path) -> Path:
    folder = Path(folder)
    if not folder.is_dir():
        raise ShardError(folder, "is a file, not a shard folder; pass the folder that holds the shard-*.h5 files"
                         if folder.exists() else "shard folder not found")
    return folder


_IndexParts = tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], Any]
_INDEX_LISTS = ("failures", "objects", "shards")  # the members that grow with the folder


def _index_parts(folder: Path) -> Iterator[_IndexParts]:
    """Per completed shard, in id order, what the index lists of it: its summary, its object
    records (plus ``shard_id`` and ``row``), its failure records (plus ``shard_id``) and its
    class names. One marker is read at a time."""
    for shard_id in sorted(completed_shard_ids(folder)):
        marker = read_marker(folder / marker_name(shard_id))
        shard = ({k: marker.get(k) for k in ("shard_id", "file", "sha256", "bytes", "shapes", "stats")}
                 | {"num_objects": len(marker["objects"]), "num_failures": len(marker["failures"])})
        yield (shard, [dict(o, shard_id=shard_id, row=row) for row, o in enumerate(marker["objects"])],
               [dict(f, shard_id=shard_id) for f in marker["failures"]], marker.get("class_names"))


def _index_head(config: dict[str, Any] | None, tally: IndexTally) -> dict[str, Any]:
    """Every member of the index but the per-shard and per-object lists."""
    return {"format": INDEX_FORMAT, "schema_version": SCHEMA_VERSION, "config": config["config"] if config else None,
            "code_version": config.get("code_version") if config else None, "class_names": tally.class_names,
            "skipped": tally.sorted_skipped(), "counts": tally.counts()}


def collect_index(folder: str | Path) -> dict[str, Any]:
    """The index of a folder from its markers, ``skipped.json`` and ``config.json``, in memory."""
    folder = _shard_folder(folder)
    config, tally = read_config(folder), IndexTally(read_skipped(folder))
    shards, objects, failures = [], [], []
    for shard, shard_objects, shard_failures, class_names in _index_parts(folder):
        shards.append(shard)
        objects += shard_objects
        failures += tally.add(shard, shard_objects, shard_failures, class_names)
    _refuse_duplicate_objects(folder, tally)
    return _index_head(config, tally) | {"shards": shards, "objects": objects, "failures": failures}


def _refuse_duplicate_objects(folder: Path, tally: IndexTally) -> None:
    """``ShardError`` when an id is listed twice (objects, failures, skips). The tally kept only
    hashes; the ids behind a repeated hash are found by reading the markers again (rare)."""
    suspects = tally.duplicate_suspects()
    if not suspects:
        return
    where: dict[str, list[Any]] = {}
    late: list[dict[str, Any]] = []  # the order the message lists places in: objects, failures, skips
    for _, objects, failures, _ in _index_parts(folder):
        late += [f for f in failures if f["status"] == "failed" and hash(f["object_id"]) in suspects]
        for rec in objects:
            if hash(rec["object_id"]) in suspects:
                where.setdefault(rec["object_id"], []).append(rec["shard_id"])
    for rec in late + [s for s in tally.skipped if hash(s["object_id"]) in suspects]:
        where.setdefault(rec["object_id"], []).append(rec.get("shard_id", SKIPPED_NAME))
    dupes = {k: v for k, v in where.items() if len(v) > 1}
    if dupes:
        first = sorted(dupes.items())[:3]
        raise ShardError(folder, f"{len(dupes)} object ids appear more than once (id: shards) {first}; "
                         "shards from different partitions of the object list were mixed")


def build_index(folder: str | Path) -> WrittenIndex:
    """Aggregate markers + ``skipped.json`` into ``index.json`` (atomically) and return it.

    Streamed: one marker is read at a time and its records are encoded into temporary files, so
    memory stays at one shard plus 8 bytes per object (the duplicate check) and the counts; the
    bytes are those ``write_json_atomic(path, collect_index(folder))`` writes."""
    folder = _shard_folder(folder)
    config, tally = read_config(folder), IndexTally(read_skipped(folder))
    spools = {name: ListSpool(folder) for name in _INDEX_LISTS}
    try:
        for shard, objects, failures, class_names in _index_parts(folder):
            spools["shards"].add(shard)
            spools["objects"].extend(objects)
            spools["failures"].extend(tally.add(shard, objects, failures, class_names))
        _refuse_duplicate_objects(folder, tally)
        head = _index_head(config, tally)
        with atomic_path(folder / INDEX_NAME) as tmp, tmp.open("w", encoding="utf-8") as out:
            write_sorted_object(out, head | spools)
    finally:
        for spool in spools.values():
            spool.close()
    counts = head["counts"]
    log.info("index of %s: %d shards, %d objects, %d failed, %d skipped", folder, counts["shards"],
             counts["objects"], counts["failed"], counts["skipped"])
    return WrittenIndex(head, _INDEX_LISTS, lambda: load_index(folder))


def load_index(folder: str | Path) -> dict[str, Any]:
    """``index.json`` when present, else the index collected from the markers (not written)."""
    path = Path(folder) / INDEX_NAME
    if not path.is_file():
        return collect_index(folder)
    return _read_versioned_json(path, INDEX_FORMAT, "shard index", "rebuild it with `clip2point shards merge`")


def class_names_of(index: Mapping[str, Any]) -> list[str]:
    """Names by label: the job's ``class_names`` attribute, else ShapeNet-55's id-sorted names
    (the labels the ShapeNet index assigns), else each label's synset id."""
    if index.get("class_names"):
        return list(index["class_names"])
    synset_by_label = {int(o["label"]): o["synset"] for o in index["objects"]}
    if all(SHAPENET_LABELS.get(s) == label for label, s in synset_by_label.items()):
        return list(CLASS_NAMES)
    size = max(synset_by_label, default=-1) + 1
    return [synset_by_label.get(label, f"class {label}") for label in range(size)]
