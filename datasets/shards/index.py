"""The index of a shard folder (``index.json``: every shard, object, failure and skip, with
counts), written streamed one marker at a time (:mod:`clip2point.datasets.shards.index_stream`),
and the plain-JSON views of the folder's state that the index and the merge read: each asks the
folder's owner (:class:`clip2point.datasets.shards.folder.ShardFolder`).

Resume and merge check a shard file against the size and checksum its marker records
(:func:`shard_problem`): a marker proves the file was whole when written, not that it still is.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from clip2point.atomic_io import atomic_path
from clip2point.datasets.shards.digests import recorded_checksum
from clip2point.datasets.shards.file_format import SCHEMA_VERSION, ObjectFailure
from clip2point.datasets.shards.folder import ShardFolder, read_marker
from clip2point.datasets.shards.folder import read_versioned_json as _read_versioned_json
from clip2point.datasets.shards.index_stream import IndexTally, ListSpool, WrittenIndex, write_sorted_object
from clip2point.datasets.shards.records import INDEX_NAME, SKIPPED_NAME, marker_name
from clip2point.datasets.taxonomy import CLASS_NAMES, SYNSET_IDS
from clip2point.errors import ShardError

log = logging.getLogger(__name__)
SHAPENET_LABELS = {synset: label for label, synset in enumerate(SYNSET_IDS)}

INDEX_FORMAT = "clip2point-shard-index"


# The folder's state in plain JSON, for the index and the merge: each asks the folder's owner.

def completed_shard_ids(folder: str | Path) -> set[int]:
    """Shards whose marker exists (the only definition of done): :meth:`ShardFolder.done_ids`."""
    return ShardFolder(folder).done_ids()


def shard_problem(folder: str | Path, marker: Mapping[str, Any], *, checksum: bool = True) -> str | None:
    """Why the shard file a marker (its JSON) vouches for is no longer the file that was written
    (None when it still is): :meth:`ShardFolder.file_problem` says how, and what it costs."""
    return ShardFolder(folder).file_problem(marker.get("file"), marker.get("bytes"), recorded_checksum(marker),
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
        shard = ({k: marker.get(k) for k in ("shard_id", "file", "bytes", "shapes", "stats")}
                 | {"checksum": recorded_checksum(marker), "num_objects": len(marker["objects"]), "num_failures": len(marker["failures"])})
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
