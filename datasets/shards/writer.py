"""The atomic shard writer the generation job calls: one shard's HDF5 file (built in memory,
written and renamed into place) and then its completion marker, through the folder's owner
(:class:`clip2point.datasets.shards.folder.ShardFolder`), so a crash never leaves a marker
without its whole file. The file's schema is :mod:`clip2point.datasets.shards.file_format`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any, Mapping, Sequence

import h5py

from clip2point.atomic_io import atomic_path, require_free_space, write_file
from clip2point.datasets.shards.digests import file_checksum
from clip2point.datasets.shards.file_format import (
    DEFAULT_LAYOUT,
    ObjectFailure,
    RenderedObject,
    UNRECORDED,
    ShardLayout,
    write_shard_file,
)
from clip2point.datasets.shards.folder import ShardFolder
from clip2point.datasets.shards.records import Marker, shard_file_name
from clip2point.provenance import code_version, to_jsonable


log = logging.getLogger(__name__)


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
    checksum: str | None  # "xxh3-128:HEX" of the file (digests.file_checksum)
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
    digest, size = (file_checksum(image) if objects else None), len(image)
    marker = Marker(
        shard_id=int(shard_id),
        file=h5_path.name if h5_path else None,
        checksum=digest,
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
            write_file(tmp, image, drop_cache=True)  # the bytes hashed above, or an error: never a shorter file
    del image
    marker_path = ShardFolder(folder).write_marker(marker)
    n_skipped = sum(f.status == "skipped" for f in failures)
    return ShardStats(
        shard_id=int(shard_id), file=h5_path, marker=marker_path, num_objects=len(objects),
        num_failed=len(failures) - n_skipped, num_skipped=n_skipped, bytes=size, checksum=digest,
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
