"""The HDF5 shard schema: record types, layout settings, content hashes and safe opening.

Schema version 2 (version 1 is still read: see "Content hashes" below). One file
``shard-NNNNN.h5`` holds K objects, each field stacked over the objects (no groups), so one view
of one object is one chunk read and ``h5ls``/h5py show it all:

==========================  =========  ===============  ===============  ==========================
dataset                     dtype      shape            chunks           filter (default layout)
==========================  =========  ===============  ===============  ==========================
``rgb``                     uint8      [K, V, H, W, 3]  (1, 1, H, W, 3)  none
``depth``                   float32    [K, V, H, W]     (1, 1, H, W)     gzip-isal (deflate)
``points``                  float32    [K, N, 3]        (1, N, 3)        none
``elev`` ``azim`` ``dist``  float32    [K, V]           contiguous       none (degrees; dist)
``label``                   int64      [K]              contiguous       none
``object_id`` ``synset``    utf-8 str  [K]              contiguous       none
``split``                   utf-8 str  [K]              contiguous       none
``content_hash``            utf-8 str  [K]              contiguous       xxh3-128 hex, see below
``texture_status``          utf-8 str  [K]              contiguous       optional, see below
``texture_detail``          utf-8 str  [K]              contiguous       optional, see below
``metadata``                utf-8 str  [K]              contiguous       optional: JSON object or ""
==========================  =========  ===============  ===============  ==========================

``texture_status`` says what became of the object's texture: ``textured``,
``untextured_by_source`` (the file has none), or a loss: ``missing``, ``refused_outside`` (the
file named an asset outside its folder, or a URI), ``undecodable``, ``over_budget``;
``texture_detail`` names the file(s) and why ("" when nothing was lost). Both were added
without a schema bump (older readers ignore them): a shard without them reads as
``unrecorded``, and "" is written for objects whose writer did not say. ``metadata`` holds a
manifest row's extra columns as a JSON object ("" for none).

Rows are sorted by object id. Depth is the raw view-space depth of the orthographic projection,
background 0. File attributes:
``format`` = ``"clip2point-shard"``, ``schema_version`` (int), ``shard_id`` (int),
``num_objects`` (int), ``config`` (the job configuration, JSON), ``code_version`` (JSON),
``layout`` (JSON ``ShardLayout``: the codecs that wrote the bytes; absent before 2026-12-02, when
depth was zlib's ``gzip-1``) and ``class_names`` (JSON list by label) when the job gives it. No
timestamps are stored: the same objects give the same bytes.

Layout chosen by measurement (``benchmarks/shard_layout.py``: 200 rendered-looking objects, 10
views, 224², 8192 points; reads by ``ShardDataset`` in one process, warm page cache, CPU time,
best of 3, on 2 shared cores, so ±20 %; measured with byte shuffle on float arrays):

=============================================================  =========  ===========  ===========
layout (codec per array, chunking)                             bytes/obj  1 view+pts/s all views/s
=============================================================  =========  ===========  ===========
rgb none, depth none, points none, chunk per view              3 613 kB   15 429       3 996
rgb none, depth none, points none, chunk per object            3 611 kB   15 138       5 976
rgb lzf, depth lzf, points none, chunk per view                611 kB     2 720        321
rgb gzip-1, depth gzip-1, points gzip-1, chunk per view        534 kB     2 057        472
rgb gzip-1, depth gzip-1, points none, chunk per view          546 kB     4 086        539
rgb gzip-1, depth gzip-1, points none, chunk per object        540 kB     548          549
rgb gzip-4, depth gzip-4, points none, chunk per view          512 kB     2 356        250
**rgb none, depth gzip-1, points none, chunk per view**        1 909 kB   13 619       3 886
rgb none, depth gzip-1, points none, chunk per object          1 902 kB   15 263       5 211
=============================================================  =========  ===========  ===========

The training step reads one RGB view and the points of a random object, 100 epochs over 52,460
objects, and never the stored depth (it projects depth from the points on the device). So: RGB
raw, because inflating a 150 kB view costs ~150 us, ten times the raw read, and PNG costs ~500 us
(gzip-1 RGB would be 3.5x smaller); depth compressed (deflate: gzip-1, since 2026-12-02 written by
ISA-L, ``gzip-isal``, the same filter at a quarter of the CPU; only
``inspect`` reads it); points raw (surface samples shrink 13 % and halve the read rate). lzf is
slower than gzip-1 here and larger. Views are chunks of their own so a compressed array still
reads one view cheaply; per-object chunks would decompress ten views for one. ShapeNet's 52,460
objects take about 90 GB this way (job output: ~1.7 MB/object on real and synthetic meshes);
``COMPACT_LAYOUT`` (gzip-1 RGB: 0.24-0.29 MB/object in job output, ~15 GB; 3.3x slower reads) is
there for small disks. The benchmark's noisier objects compress less than real renders (1.9 MB
and 0.55 MB above).

Content hashes (``content_hash``, schema 2: XXH3-128; schema 1: ``content_sha256``, sha256):
see :mod:`clip2point.datasets.shards.digests`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from collections import Counter
from typing import Any, Literal, Mapping, Sequence

import h5py
import numpy as np

from clip2point.datasets.shards.digests import (  # noqa: F401  (re-exported: the schema's names)
    ARRAY_FIELDS, CONTENT_HASH, CONTENT_HASHES, READABLE_SCHEMA_VERSIONS, SCHEMA_VERSION, ContentHash, content_hash,
)
from clip2point.datasets.shards.array_codecs import CODECS, ISAL_CODEC, codec_kwargs, write_direct_chunks, writes_own_chunks
from clip2point.errors import ConfigError, ShardError

FORMAT_NAME = "clip2point-shard"
STRING_FIELDS = ("object_id", "synset", "split")
TEXTURE_FIELDS = ("texture_status", "texture_detail")  # optional: absent in older shards
OPTIONAL_STRING_FIELDS = TEXTURE_FIELDS + ("metadata",)
# What became of an object's texture; the last four mean the source had one the shards lack.
TEXTURE_STATUSES = ("textured", "untextured_by_source", "missing", "refused_outside", "undecodable", "over_budget")
LOST_TEXTURE_STATUSES = TEXTURE_STATUSES[2:]
INTACT_TEXTURE_STATUSES = TEXTURE_STATUSES[:2]  # what pre-training keeps with --require-textures
UNRECORDED = "unrecorded"  # the texture status of a shard written before it was recorded
STR_DTYPE = h5py.string_dtype("utf-8")


@dataclasses.dataclass(frozen=True)
class RenderedObject:
    """One object's paired modalities, as the generation job hands them to the writer."""

    object_id: str
    synset: str
    label: int
    split: str
    rgb: np.ndarray  # uint8 [V,H,W,3]
    depth: np.ndarray  # float32 [V,H,W], background 0
    points: np.ndarray  # float32 [N,3]
    elev: np.ndarray  # float32 [V], degrees
    azim: np.ndarray  # float32 [V], degrees
    dist: np.ndarray  # float32 [V]
    texture_status: str = ""  # one of TEXTURE_STATUSES; "" when the writer does not know
    texture_detail: str = ""
    metadata: str = ""  # JSON object of a manifest row's extra columns, or ""

    def __post_init__(self) -> None:
        if self.texture_status not in TEXTURE_STATUSES + ("",):
            raise ValueError(f"RenderedObject {self.object_id}: texture_status must be one of "
                             f"{', '.join(TEXTURE_STATUSES)}; got {self.texture_status!r}")
        expect = {"rgb": (np.uint8, 4), "depth": (np.float32, 3), "points": (np.float32, 2)}
        for name, (dtype, ndim) in expect.items():
            arr = getattr(self, name)
            if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.ndim != ndim:
                raise ValueError(
                    f"RenderedObject {self.object_id}: {name} must be a {np.dtype(dtype)} array "
                    f"with {ndim} dims; got {type(arr).__name__} {getattr(arr, 'dtype', '')} "
                    f"{getattr(arr, 'shape', '')}"
                )
        v, h, w, c = self.rgb.shape
        if c != 3 or self.depth.shape != (v, h, w) or self.points.shape[1] != 3:
            raise ValueError(
                f"RenderedObject {self.object_id}: shapes disagree: rgb {self.rgb.shape}, "
                f"depth {self.depth.shape} (want {(v, h, w)}), points {self.points.shape} (want [N,3])"
            )
        for name in ("elev", "azim", "dist"):
            arr = getattr(self, name)
            if np.shape(arr) != (v,):
                raise ValueError(f"RenderedObject {self.object_id}: {name} must have shape ({v},); got {np.shape(arr)}")
            object.__setattr__(self, name, np.asarray(arr, dtype=np.float32))

    def content_hash(self) -> str:
        """This schema's content hash of the arrays (:func:`content_hash`)."""
        return content_hash({name: getattr(self, name) for name in ARRAY_FIELDS})


@dataclasses.dataclass(frozen=True)
class ObjectFailure:
    """An object that has no data in any shard, with why: ``failed`` (could not be made) or
    ``skipped`` (dropped by a rule, e.g. the reference's list of ten ids)."""

    object_id: str
    synset: str
    split: str
    status: Literal["failed", "skipped"]
    reason: str

    def __post_init__(self) -> None:
        if self.status not in ("failed", "skipped"):
            raise ValueError(f"ObjectFailure {self.object_id}: status must be 'failed' or 'skipped'; got {self.status!r}")
        if not self.reason:
            raise ValueError(f"ObjectFailure {self.object_id}: a reason is required")

    def to_json(self) -> dict[str, str]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> "ObjectFailure":
        return cls(**{f.name: str(record[f.name]) for f in dataclasses.fields(cls)})


@dataclasses.dataclass(frozen=True)
class ShardLayout:
    """How the big arrays are stored: a codec per array (``none``, ``lzf``, ``gzip-1``..``gzip-9``,
    ``gzip-isal``: see :mod:`clip2point.datasets.shards.array_codecs`)
    and ``chunk="view"`` (one view is one chunk: cheap single-view reads) or ``"object"`` (all
    views of an object in one chunk). The default is the measured choice of the module docstring."""

    rgb: str = "none"
    # The deflate filter with chunks compressed by ISA-L: zlib level 1 cost 5.3 ms of CPU per
    # object here, ISA-L 1.4 ms, the same values for every reader (array_codecs). Shards
    # written before 2026-12-02 have zlib's "gzip-1" bytes and no ``layout`` attribute.
    depth: str = ISAL_CODEC
    points: str = "none"
    chunk: Literal["view", "object"] = "view"
    # Byte shuffle before compression. Off: rendered depth maps are mostly exact zeros, where
    # shuffle made gzip-1 larger and slower (job output on the shared meshes: 206 vs 110 kB and
    # 8.2 vs 5.2 ms CPU per object; synthetic: 129 vs 74 kB).
    shuffle: bool = False

    def __post_init__(self) -> None:
        for name in ("rgb", "depth", "points"):
            if getattr(self, name) not in CODECS:
                raise ConfigError(f"shard codec for {name} must be one of {', '.join(CODECS)}; got {getattr(self, name)!r}")
        if self.chunk not in ("view", "object"):
            raise ConfigError(f"shard chunk must be 'view' or 'object'; got {self.chunk!r}")
        if self.shuffle and ISAL_CODEC in (self.rgb, self.depth, self.points):
            raise ConfigError(f"shard codec {ISAL_CODEC} cannot be combined with byte shuffle; use gzip-1 to shuffle")

    def dataset_kwargs(self, name: str, arr: np.ndarray) -> dict[str, Any]:
        """h5py ``create_dataset`` keywords for ``rgb``/``depth`` [K,V,...] or ``points`` [K,N,3]."""
        per_view = name != "points" and self.chunk == "view"
        chunks = (1, 1) + tuple(arr.shape[2:]) if per_view else (1,) + tuple(arr.shape[1:])
        return {"chunks": chunks, **codec_kwargs(getattr(self, name), arr.dtype.itemsize, self.shuffle)}

    def describe(self) -> str:
        return f"rgb {self.rgb}, depth {self.depth}, points {self.points}, chunk per {self.chunk}"

    def to_json(self) -> dict[str, Any]:
        """The file attribute ``layout``: what wrote the arrays' bytes (readers need none of it)."""
        return dataclasses.asdict(self)


COMPACT_LAYOUT = ShardLayout(rgb="gzip-1")  # 3.5x smaller, one-view reads 3.3x slower (see above)
DEFAULT_LAYOUT = ShardLayout()


def stack_objects(objects: list[RenderedObject], hashes: list[str],
                  skip: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Stack the objects' fields into [K, ...] arrays, refusing mixed view counts or sizes
    (``skip``: array fields the caller writes object by object, left unstacked)."""
    first = objects[0]
    for obj in objects[1:]:
        for name in ("rgb", "points"):
            if getattr(obj, name).shape != getattr(first, name).shape:
                raise ValueError(
                    f"objects in one shard must share shapes: {obj.object_id} has {name} "
                    f"{getattr(obj, name).shape}, {first.object_id} has {getattr(first, name).shape}"
                )
    stacked = {name: np.stack([getattr(o, name) for o in objects]) for name in ARRAY_FIELDS if name not in skip}
    stacked["label"] = np.array([int(o.label) for o in objects], dtype=np.int64)
    for name in ("object_id", "synset", "split") + OPTIONAL_STRING_FIELDS:
        stacked[name] = np.array([str(getattr(o, name)) for o in objects], dtype=object)
    stacked[CONTENT_HASH.dataset] = np.array(hashes, dtype=object)
    return stacked


_BIG = ("rgb", "depth", "points")  # the arrays a ShardLayout stores


def write_shard_file(h5: h5py.File, objects: list[RenderedObject], hashes: list[str], attrs: Mapping[str, Any],
                     layout: ShardLayout) -> None:
    """Fill an open, empty file (``hashes``: each object's ``content_hash()``). No timestamps are
    stored, so equal inputs give equal bytes. Arrays whose codec is ``none`` or ``gzip-isal`` are
    written chunk by chunk from each object (``write_direct_chunks``); HDF5 compresses the others."""
    direct = tuple(name for name in _BIG if writes_own_chunks(getattr(layout, name)))
    stacked = stack_objects(objects, hashes, skip=direct)
    for name in ARRAY_FIELDS + ("label",):
        if name in direct:
            rows = [getattr(o, name).astype(getattr(o, name).dtype.newbyteorder("<"), copy=False) for o in objects]
            shape = (len(rows),) + rows[0].shape
            kwargs = layout.dataset_kwargs(name, np.empty((0,) + shape[1:], rows[0].dtype))
            dataset = h5.create_dataset(name, shape, rows[0].dtype, track_times=False, **kwargs)
            write_direct_chunks(dataset, rows, getattr(layout, name))
        else:
            arr = stacked[name]
            kwargs = layout.dataset_kwargs(name, arr) if name in _BIG else {}
            h5.create_dataset(name, data=arr, track_times=False, **kwargs)
    for name in STRING_FIELDS + (CONTENT_HASH.dataset,) + OPTIONAL_STRING_FIELDS:
        h5.create_dataset(name, data=stacked[name], dtype=STR_DTYPE, track_times=False)
    h5.attrs["format"] = FORMAT_NAME
    h5.attrs["schema_version"] = SCHEMA_VERSION
    h5.attrs["num_objects"] = len(objects)
    h5.attrs["layout"] = json.dumps(layout.to_json(), sort_keys=True)
    for key, value in sorted(attrs.items()):
        h5.attrs[key] = value if isinstance(value, (str, int, float)) else json.dumps(value, sort_keys=True)


def open_shard(path: str | Path) -> h5py.File:
    """Open a shard read-only and check it is ours and of a schema we read; a missing,
    truncated, foreign or non-HDF5 file raises ``ShardError`` naming it."""
    path = Path(path)
    if not path.is_file():
        raise ShardError(path, "shard file not found")
    if not h5py.is_hdf5(path):
        raise ShardError(path, "not an HDF5 file (bad signature); it is not a clip2point shard or was overwritten")
    try:
        h5 = h5py.File(path, "r", rdcc_nbytes=0)
    except OSError as exc:
        raise ShardError(path, f"cannot open as HDF5, the file is truncated or corrupt ({exc})") from exc
    try:
        check_schema(h5, path)
    except ShardError:
        h5.close()
        raise
    return h5


def check_schema(h5: h5py.File, path: Path) -> None:
    """Format name, schema version and the datasets with consistent leading sizes."""
    try:
        fmt = h5.attrs.get("format")
        version = h5.attrs.get("schema_version")
        names = set(h5.keys())
    except (OSError, RuntimeError, KeyError) as exc:
        raise ShardError(path, f"corrupt HDF5 metadata ({exc})") from exc
    if fmt != FORMAT_NAME:
        raise ShardError(path, f"foreign HDF5 file: attribute 'format' is {fmt!r}, expected {FORMAT_NAME!r}")
    if version is None or int(version) not in READABLE_SCHEMA_VERSIONS:
        raise ShardError(
            path, f"schema_version {version} is not supported (this code reads "
            f"{', '.join(map(str, READABLE_SCHEMA_VERSIONS))}); "
            "regenerate the shards or use the clip2point version that wrote them"
        )
    required = ARRAY_FIELDS + STRING_FIELDS + ("label", CONTENT_HASHES[int(version)].dataset)
    missing = [n for n in required if n not in names]
    if missing:
        raise ShardError(path, f"shard lacks datasets {missing}; it is damaged or was written by other code")
    try:
        sizes = {n: h5[n].shape[0] for n in required}
    except (OSError, RuntimeError, KeyError) as exc:
        raise ShardError(path, f"corrupt HDF5 metadata ({exc})") from exc
    if len(set(sizes.values())) != 1:
        raise ShardError(path, f"datasets disagree on the number of objects: {sizes}")


def read_json_attr(h5: h5py.File, key: str, default: Any = None) -> Any:
    """A JSON-encoded file attribute, decoded (``default`` when absent)."""
    raw = h5.attrs.get(key)
    if raw is None:
        return default
    return json.loads(raw) if isinstance(raw, str) else raw


def texture_status_of(record: Mapping[str, Any]) -> str:
    """An index record's texture status; ``unrecorded`` for folders written before it was kept."""
    return record.get("texture_status") or UNRECORDED


def texture_counts(objects: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Rendered objects per texture status, in ``TEXTURE_STATUSES`` order (zeros included, so a
    reader sees at once that nothing was lost), then ``unrecorded`` when any."""
    counts = Counter(texture_status_of(o) for o in objects)
    return {status: counts.get(status, 0) for status in TEXTURE_STATUSES} | (
        {UNRECORDED: counts[UNRECORDED]} if counts.get(UNRECORDED) else {})


def content_hash_of(h5: h5py.File) -> ContentHash:
    """Where an open (checked) shard keeps its content hashes and by which algorithm."""
    return CONTENT_HASHES[int(h5.attrs["schema_version"])]


def read_strings(h5: h5py.File, name: str) -> list[str]:
    """A utf-8 string dataset as Python strings; an optional texture field absent from an older
    shard reads as ``unrecorded`` (status) or "" (detail) per object, and ``content_hash`` reads
    a schema-1 shard's ``content_sha256``."""
    if name == "content_hash":
        name = content_hash_of(h5).dataset
    if name in OPTIONAL_STRING_FIELDS and name not in h5:
        return [UNRECORDED if name == "texture_status" else ""] * int(h5["object_id"].shape[0])
    return [s.decode() if isinstance(s, bytes) else str(s) for s in h5[name][()]]


def read_object(h5: h5py.File, row: int, path: Path) -> dict[str, Any]:
    """Every array and label of one object (row ``row``), its ``content_hash`` and that hash's
    ``content_hash_algorithm`` (by the shard's schema); read errors become ``ShardError``."""
    try:
        out: dict[str, Any] = {name: np.asarray(h5[name][row]) for name in ARRAY_FIELDS}
        out["label"] = int(h5["label"][row])
        stored = content_hash_of(h5)
        for name, dataset in [(n, n) for n in STRING_FIELDS] + [("content_hash", stored.dataset)]:
            value = h5[dataset][row]
            out[name] = value.decode() if isinstance(value, bytes) else str(value)
        out["content_hash_algorithm"] = stored.algorithm
        for name, absent in zip(OPTIONAL_STRING_FIELDS, (UNRECORDED, "", "")):
            value = h5[name][row] if name in h5 else absent
            out[name] = value.decode() if isinstance(value, bytes) else str(value)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ShardError(path, f"cannot read object row {row}: the file is corrupt ({exc})") from exc
    return out
