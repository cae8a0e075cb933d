"""The HDF5 shard schema: record types, layout settings, content hashes and safe opening.

Schema version 1 (one file ``shard-NNNNN.h5`` holds K objects; fields are stacked over objects so
a single object, or a single view of it, is one chunk read):

========================  ===============  ==================  ===========================
dataset                   dtype            shape               chunks
========================  ===============  ==================  ===========================
``rgb``                   uint8            [K, V, H, W, 3]     (1, 1, H, W, 3)  one view
``depth``                 float32          [K, V, H, W]        (1, 1, H, W)     one view
``points``                float32          [K, N, 3]           (1, N, 3)        one object
``elev`` ``azim`` ``dist``  float32          [K, V]              contiguous (degrees; dist=1)
``label``                 int64            [K]                 contiguous
``object_id`` ``synset``  utf-8 str        [K]                 contiguous
``split``                 utf-8 str        [K]                 contiguous
``content_sha256``        utf-8 str        [K]                 sha256 hex of the arrays
========================  ===============  ==================  ===========================

Depth is the raw view-space depth of the orthographic projection, background 0. Big arrays use
the filter of :class:`ShardLayout` (default lzf + shuffle, chosen by measurement, see
``benchmarks/reader.py``). File attributes: ``format`` (``"clip2point-shard"``),
``schema_version`` (int), ``shard_id`` (int), ``num_objects`` (int), ``config`` (the job
configuration, JSON), ``code_version`` (JSON), plus optional JSON ``class_names`` (names by label).

Layout measurement (the training read: random object, one random RGB view + its points;
200 objects, 10 views, 224², 8192 points, smooth rendered-like images; 2-core machine under
load, single reader, page cache warm): see the table in ``benchmarks/reader.py``'s docstring.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any, Literal, Mapping

import h5py
import numpy as np

from clip2point.errors import ConfigError, ShardError

SCHEMA_VERSION = 1
FORMAT_NAME = "clip2point-shard"
ARRAY_FIELDS = ("rgb", "depth", "points", "elev", "azim", "dist")  # content-hash order
STRING_FIELDS = ("object_id", "synset", "split", "content_sha256")
REQUIRED_DATASETS = ARRAY_FIELDS + STRING_FIELDS + ("label",)
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

    def __post_init__(self) -> None:
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
        """sha256 of the arrays; equal exactly when every array is equal."""
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
    """How the big arrays are stored. ``chunk="view"`` makes one view one chunk (cheap single-view
    reads); ``"object"`` makes all views of an object one chunk (cheap all-view reads)."""

    compression: Literal["none", "lzf", "gzip"] = "lzf"
    level: int = 0  # gzip only, 1..9
    shuffle: bool = True
    chunk: Literal["view", "object"] = "view"

    def __post_init__(self) -> None:
        if self.compression not in ("none", "lzf", "gzip"):
            raise ConfigError(f"shard compression must be none, lzf or gzip; got {self.compression!r}")
        if self.compression == "gzip" and not 1 <= self.level <= 9:
            raise ConfigError(f"gzip level must be 1..9; got {self.level}")
        if self.chunk not in ("view", "object"):
            raise ConfigError(f"shard chunk must be 'view' or 'object'; got {self.chunk!r}")

    def dataset_kwargs(self, shape: tuple[int, ...]) -> dict[str, Any]:
        """h5py ``create_dataset`` keywords for a [K, V, ...] (or [K, N, 3]) array."""
        per_object = (1,) + tuple(shape[1:])
        chunks = per_object if self.chunk == "object" or len(shape) < 4 else (1, 1) + tuple(shape[2:])
        kwargs: dict[str, Any] = {"chunks": chunks, "shuffle": self.shuffle and self.compression != "none"}
        if self.compression == "lzf":
            kwargs["compression"] = "lzf"
        elif self.compression == "gzip":
            kwargs.update(compression="gzip", compression_opts=self.level)
        return kwargs

    def describe(self) -> str:
        level = f"-{self.level}" if self.compression == "gzip" else ""
        return f"{self.compression}{level}{'+shuffle' if self.shuffle and self.compression != 'none' else ''}, chunk per {self.chunk}"


DEFAULT_LAYOUT = ShardLayout()


def rgb_frame_zoom(yfov_deg: float = 60.0) -> float:
    """How much wider the RGB frame is than the depth frame at the object's centre: the RGB camera
    is perspective at 2·dist with ``yfov_deg`` (half-extent 2·dist·tan(fov/2)), the depth frame is
    orthographic over [-1,1]·dist. 1.155 for the faithful 60°."""
    return 2.0 * float(np.tan(np.radians(yfov_deg / 2.0)))


def content_hash(arrays: Mapping[str, np.ndarray]) -> str:
    """sha256 over ``ARRAY_FIELDS`` in order, each prefixed by its dtype and shape so arrays that
    differ only in shape or type hash differently."""
    digest = hashlib.sha256()
    for name in ARRAY_FIELDS:
        arr = np.ascontiguousarray(arrays[name])
        header = f"{name}:{arr.dtype.newbyteorder('<').str}:{arr.shape};"
        digest.update(header.encode())
        digest.update(arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes())
    return digest.hexdigest()


def stack_objects(objects: list[RenderedObject]) -> dict[str, np.ndarray]:
    """Stack the objects' fields into [K, ...] arrays, refusing mixed view counts or sizes."""
    first = objects[0]
    for obj in objects[1:]:
        for name in ("rgb", "points"):
            if getattr(obj, name).shape != getattr(first, name).shape:
                raise ValueError(
                    f"objects in one shard must share shapes: {obj.object_id} has {name} "
                    f"{getattr(obj, name).shape}, {first.object_id} has {getattr(first, name).shape}"
                )
    stacked = {name: np.stack([getattr(o, name) for o in objects]) for name in ARRAY_FIELDS}
    stacked["label"] = np.array([int(o.label) for o in objects], dtype=np.int64)
    for name in ("object_id", "synset", "split"):
        stacked[name] = np.array([str(getattr(o, name)) for o in objects], dtype=object)
    stacked["content_sha256"] = np.array([o.content_hash() for o in objects], dtype=object)
    return stacked


def write_shard_file(h5: h5py.File, objects: list[RenderedObject], attrs: Mapping[str, Any], layout: ShardLayout) -> None:
    """Fill an open, empty file. No timestamps are stored, so equal inputs give equal bytes."""
    stacked = stack_objects(objects)
    for name in ARRAY_FIELDS + ("label",):
        arr = stacked[name]
        kwargs = layout.dataset_kwargs(arr.shape) if name in ("rgb", "depth", "points") else {}
        h5.create_dataset(name, data=arr, track_times=False, **kwargs)
    for name in STRING_FIELDS:
        h5.create_dataset(name, data=stacked[name], dtype=STR_DTYPE, track_times=False)
    h5.attrs["format"] = FORMAT_NAME
    h5.attrs["schema_version"] = SCHEMA_VERSION
    h5.attrs["num_objects"] = len(objects)
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
    if version is None or int(version) != SCHEMA_VERSION:
        raise ShardError(
            path, f"schema_version {version} is not supported (this code reads {SCHEMA_VERSION}); "
            "regenerate the shards or use the clip2point version that wrote them"
        )
    missing = [n for n in REQUIRED_DATASETS if n not in names]
    if missing:
        raise ShardError(path, f"shard lacks datasets {missing}; it is damaged or was written by other code")
    try:
        sizes = {n: h5[n].shape[0] for n in REQUIRED_DATASETS}
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


def read_strings(h5: h5py.File, name: str) -> list[str]:
    """A utf-8 string dataset as Python strings."""
    return [s.decode() if isinstance(s, bytes) else str(s) for s in h5[name][()]]


def read_object(h5: h5py.File, row: int, path: Path) -> dict[str, Any]:
    """Every array and label of one object (row ``row``); read errors become ``ShardError``."""
    try:
        out: dict[str, Any] = {name: np.asarray(h5[name][row]) for name in ARRAY_FIELDS}
        out["label"] = int(h5["label"][row])
        for name in STRING_FIELDS:
            value = h5[name][row]
            out[name] = value.decode() if isinstance(value, bytes) else str(value)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ShardError(path, f"cannot read object row {row}: the file is corrupt ({exc})") from exc
    return out
