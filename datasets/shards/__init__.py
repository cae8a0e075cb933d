"""Shards: the HDF5 files a generation job writes, and the folder that holds them.

A shard folder holds ``config.json`` (job configuration + code version), ``shard-NNNNN.h5``
(schema: :mod:`.file_format`, array codecs: :mod:`.array_codecs`), each followed by its
completion marker ``shard-NNNNN.json``, ``skipped.json`` (objects dropped by a rule) and
``index.json``. A shard is complete when its marker exists: the .h5 is renamed into place first
and the marker written last, both atomically (:mod:`.writer`), so a crash never leaves a marker
without its whole file.

Who owns what:

- :mod:`.folder` — ``ShardFolder``, the one owner of a folder's state (markers, set-aside shards,
  superseded failures of retried objects, the skip list, the pinned configuration and its source),
  over the typed records of :mod:`.records` (``Marker``, ``SetAside``, ``Superseded``);
- :mod:`.job_config` — comparing and restoring the pinned ``config.json``;
- :mod:`.index` + :mod:`.index_stream` — ``index.json``, built streamed one marker at a time;
- :mod:`.merge` — ``shards merge`` of several nodes' folders; :mod:`.cli` — its command.

This package re-exports the names other stages use, so ``from clip2point.datasets.shards import
write_shard, build_index, load_index`` keeps working; modules inside the package import from
the module that defines a name, never from here.
"""

from clip2point.atomic_io import write_json_atomic
from clip2point.datasets.shards.file_format import (
    DEFAULT_LAYOUT, SCHEMA_VERSION, UNRECORDED, ObjectFailure, RenderedObject, ShardLayout,
)
from clip2point.datasets.shards.folder import ShardFolder, read_marker
from clip2point.datasets.shards.index import (
    INDEX_FORMAT, SHAPENET_LABELS, build_index, class_names_of, collect_index, completed_shard_ids, load_index,
    read_config, read_skipped, set_aside_shard, shard_problem, write_skipped,
)
from clip2point.datasets.shards.records import (
    CONFIG_NAME, INDEX_NAME, MARKER_FORMAT, MARKER_RE, SKIPPED_NAME, Marker, marker_name, shard_file_name,
)
from clip2point.datasets.shards.writer import ShardStats, write_shard

__all__ = [
    "SCHEMA_VERSION", "DEFAULT_LAYOUT", "UNRECORDED", "RenderedObject", "ObjectFailure", "ShardLayout", "ShardStats",
    "ShardFolder", "Marker", "write_shard", "completed_shard_ids", "read_marker", "collect_index", "build_index",
    "load_index", "write_json_atomic", "write_skipped", "read_skipped", "read_config", "class_names_of",
    "shard_file_name", "marker_name", "shard_problem", "set_aside_shard", "CONFIG_NAME", "INDEX_NAME",
    "SKIPPED_NAME", "MARKER_FORMAT", "MARKER_RE", "INDEX_FORMAT", "SHAPENET_LABELS",
]
