"""Shards: the atomic writer the generation job calls, and the index of a shard folder.

A shard folder holds ``config.json`` (job configuration + code version), ``shard-NNNNN.h5``
(schema in :mod:`clip2point.datasets.shard_format`), each followed by its completion marker
``shard-NNNNN.json``, ``skipped.json`` (objects dropped by a rule) and ``index.json``.
A shard is complete when its marker exists: the .h5 is renamed into place first and the
marker written last, both atomically, so a crash never leaves a marker without its whole file.
Later damage can (a truncated copy, a deleted file), so resume and merge also check the file
against the size and sha256 its marker records (:func:`shard_problem`). The folder's state
(markers, set-aside shards, superseded failures, skip list, pinned configuration) is owned by
:class:`clip2point.datasets.shard_folder.ShardFolder`; the plain-JSON functions below
(``read_marker``, ``shard_problem``, ``set_aside_shard``...) ask it, for the index and the merge.
The pinned ``config.json`` is compared and restored by :mod:`clip2point.datasets.shard_config`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import h5py

from clip2point.atomic_io import atomic_path, require_free_space, write_file, write_json_atomic
from clip2point.datasets.shard_format import (
    DEFAULT_LAYOUT,
    SCHEMA_VERSION,
    ObjectFailure,
    RenderedObject,
    UNRECORDED,
    ShardLayout,
    write_shard_file,
)
from clip2point.datasets.index_stream import IndexTally, ListSpool, WrittenIndex, write_sorted_object
from clip2point.datasets.shard_folder import ShardFolder, read_marker
from clip2point.datasets.shard_folder import read_versioned_json as _read_versioned_json
from clip2point.datasets.shard_records import (
    CONFIG_NAME, INDEX_NAME, MARKER_FORMAT, MARKER_RE, SKIPPED_NAME, Marker, marker_name, shard_file_name,
)
from clip2point.datasets.taxonomy import CLASS_NAMES, SYNSET_IDS
from clip2point.errors import ShardError
from clip2point.provenance import code_version, to_jsonable

__all__ = [
    "SCHEMA_VERSION", "RenderedObject", "ObjectFailure", "ShardLayout", "ShardStats", "write_shard",
    "completed_shard_ids", "read_marker", "collect_index", "build_index", "load_index", "write_json_atomic",
    "write_skipped", "read_skipped", "read_config", "class_names_of", "shard_file_name", "marker_name",
    "shard_problem", "set_aside_shard", "CONFIG_NAME", "INDEX_NAME", "SKIPPED_NAME", "MARKER_FORMAT", "MARKER_RE",
]

log = logging.getLogger(__name__)
SHAPENET_LABELS = {synset: label for label, synset in enumerate(SYNSET_IDS)}

INDEX_FORMAT = "clip2point-shard-index"


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
    marker = Marker(
        shard_id=int(shard_id),
        file=h5_path.name if h5_path else None,
        sha256=digest,
        bytes=size,
        objects=tuple(_object_record(o, h) for o, h in zip(objects, hashes)),
        failures=tuple(sorted(failures, key=lambda f: f.object_id)),
        class_names=_json_value(file_attrs.get("class_names")),
        shapes={name: list(getattr(objects[0], name).shape) for name in ("rgb", "points")} if objects else None,
        stats=to_jsonable(dict(stats or {})),
    )
    marker_bytes = len(json.dumps(marker.to_json(), indent=1, sort_keys=True)) + 1
    require_free_space(folder, len(image) + marker_bytes, f"{shard_file_name(shard_id)} with its marker")
    if h5_path is not None:
        with atomic_path(h5_path) as tmp:
            write_file(tmp, image)  # the bytes hashed above, or an error: never a shorter file
    del image
    marker_path = ShardFolder(folder).write_marker(marker)
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


# The folder's state in plain JSON, for the index and the merge: each asks the folder's owner.

def completed_shard_ids(folder: str | Path) -> set[int]:
    """Shards whose marker exists (the only definition of done): :meth:`ShardFolder.done_ids`."""
    return ShardFolder(folder).done_ids()


def shard_problem(folder: str | Path, marker: Mapping[str, Any], *, checksum: bool = True) -> str | None:
    """Why the shard file a marker (its JSON) vouches for is no longer the file that was written
    (None when it still is): :meth:`ShardFolder.file_problem` says how, and what it costs."""
    return ShardFolder(folder).file_problem(marker.get("file"), marker.get("bytes"), marker.get("sha256"),
                                            checksum=checksum)


def set_aside_shard(folder: str | Path, shard_id: int) -> list[Path]:
    """Rename a damaged shard's file, then its marker, to ``NAME.bad-<UTC time>``: :meth:`ShardFolder.set_aside`."""
    return list(ShardFolder(folder).set_aside(shard_id).moved)


def read_skipped(folder: Path) -> list[dict[str, Any]]:
    """``skipped.json``'s records as JSON (:meth:`ShardFolder.skipped`)."""
    return [failure.to_json() for failure in ShardFolder(folder).skipped()]


def write_skipped(folder: str | Path, skipped: Iterable[ObjectFailure]) -> Path:
    """Record the objects a rule dropped, per object (:meth:`ShardFolder.write_skipped`)."""
    return ShardFolder(folder).write_skipped(skipped)


def read_config(folder: Path) -> dict[str, Any] | None:
    """``config.json`` (None when absent): :meth:`ShardFolder.config`."""
    return ShardFolder(folder).config()


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
