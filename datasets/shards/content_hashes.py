"""Per-object content hashes of the shard schema, by schema version.

``content_hash`` hashes rgb, depth, points, elev, azim, dist in that order, each
prefixed by its name, dtype and shape, so equal hashes mean equal arrays (and arrays that differ
only in shape or type hash differently). It identifies an object's *data* whatever the codecs
that stored it: resume, merge, ``inspect verify`` and the gallery's picture cache use it. Schema 2
hashes with XXH3-128 (``xxhash``): 3.6 MB per object in ~0.1 ms, where sha256 took 2.4 ms, the
largest single CPU item of a shard write (benchmarks/RESULTS.md, issue 14). A non-cryptographic
hash is enough here: it tells renders apart, it does not authenticate them; each shard *file*
keeps its sha256 in the marker and index, the checksum one publishes and ``sha256sum`` checks.
Schema 1 (written until 2026-12-02) stored the same digest by sha256 in ``content_sha256``; this
code reads both (``CONTENT_HASHES``), and ``file_format.read_object`` returns either as ``content_hash``
with its ``content_hash_algorithm``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Mapping

import numpy as np
import xxhash

SCHEMA_VERSION = 2  # the shard schema this code writes (re-exported by ``file_format``)
ARRAY_FIELDS = ("rgb", "depth", "points", "elev", "azim", "dist")  # the hashed arrays, in hash order


@dataclasses.dataclass(frozen=True)
class ContentHash:
    """How one schema version stores the per-object content hash: dataset name and algorithm."""

    dataset: str
    algorithm: str


CONTENT_HASHES = {1: ContentHash("content_sha256", "sha256"), 2: ContentHash("content_hash", "xxh3-128")}
READABLE_SCHEMA_VERSIONS = tuple(sorted(CONTENT_HASHES))
CONTENT_HASH = CONTENT_HASHES[SCHEMA_VERSION]  # what this code writes
_HASHERS = {"sha256": hashlib.sha256, "xxh3-128": xxhash.xxh3_128}


def content_hash(arrays: Mapping[str, np.ndarray], algorithm: str = CONTENT_HASH.algorithm) -> str:
    """Hex digest over ``ARRAY_FIELDS`` in order, each prefixed by its name, dtype and shape so
    arrays that differ only in shape or type hash differently; ``algorithm`` is ``xxh3-128``
    (schema 2) or ``sha256`` (schema 1, to check older shards). The arrays are hashed through
    their buffers, not ``tobytes()`` copies: ~3.6 MB per object the writer would copy for nothing."""
    if algorithm not in _HASHERS:
        raise ValueError(f"unknown content hash algorithm {algorithm!r}; known: {sorted(_HASHERS)}")
    digest = _HASHERS[algorithm]()
    for name in ARRAY_FIELDS:
        arr = np.ascontiguousarray(arrays[name])
        little = np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder("<"), copy=False))
        digest.update(f"{name}:{little.dtype.str}:{arr.shape};".encode())
        digest.update(little.reshape(-1).view(np.uint8))
    return digest.hexdigest()
