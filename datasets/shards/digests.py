"""The shard schema's digests, by schema version: each object's content hash and each file's checksum.

Content hash (``content_hash`` dataset, marker and index ``hash``): over rgb, depth, points,
elev, azim, dist in that order, each prefixed by its name, dtype and shape, so equal hashes mean
equal arrays (and arrays that differ only in shape or type hash differently). It identifies an
object's *data* whatever the codecs that stored it: resume, merge, ``inspect verify`` and the
gallery's picture cache use it.

File checksum (marker and index ``checksum``, ``"ALGORITHM:HEX"``): over the shard file's bytes,
so resume, merge and ``verify`` find a changed, truncated or corrupted file.

Schema 2 computes both with XXH3-128 (``xxhash``). With sha256 they were the two largest CPU
items of a shard write: 2.4 ms per object for the content (3.6 MB of arrays) and 1.15 ms for the
file (1.7 MB), against ~0.1 ms each now (benchmarks/RESULTS.md, issue 14); resuming a finished
job re-checksums every file, ~60 s of CPU per 90 GB with sha256 and a few seconds with XXH3, so
the disk sets the pace. Both only have to tell accidental differences apart, which a 128-bit
non-cryptographic hash does; neither authenticates anything (a shard folder's integrity against
tampering is the file system's business). To publish a folder with sha256 sums, run ``sha256sum``
over it once.

Schema 1 (written until 2026-12-02) stored the content hash by sha256 in ``content_sha256`` and
the file's sha256 hex in the marker's ``sha256``. This code reads, verifies, merges and resumes
both: ``CONTENT_HASHES`` names the dataset and algorithm per schema, ``recorded_checksum`` reads
either marker form as ``"sha256:HEX"``, and ``file_format.read_object`` returns either content
hash as ``content_hash`` with its ``content_hash_algorithm``.
"""
from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any, Mapping

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
    digest = _hasher(algorithm, "content hash")()
    for name in ARRAY_FIELDS:
        arr = np.ascontiguousarray(arrays[name])
        little = np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder("<"), copy=False))
        digest.update(f"{name}:{little.dtype.str}:{arr.shape};".encode())
        digest.update(little.reshape(-1).view(np.uint8))
    return digest.hexdigest()


FILE_CHECKSUM = "xxh3-128"  # the algorithm of the checksums this code writes


def file_checksum(data: bytes, algorithm: str = FILE_CHECKSUM) -> str:
    """``"ALGORITHM:HEX"`` of a file's bytes (the writer has the whole image in memory)."""
    return f"{algorithm}:{_hasher(algorithm)(data).hexdigest()}"


def checksum_file(path: str | Path, algorithm: str = FILE_CHECKSUM, block: int = 1 << 20) -> str:
    """``"ALGORITHM:HEX"`` of a file on disk, read in blocks (shards are tens of MB)."""
    digest = _hasher(algorithm)()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return f"{algorithm}:{digest.hexdigest()}"


def checksum_matches(path: str | Path, checksum: str) -> bool:
    """Whether the file's bytes have the recorded ``checksum`` (by its own algorithm);
    ``ValueError`` naming the algorithm when this code does not know it (a damaged marker)."""
    return checksum_file(path, checksum_name(checksum)) == checksum


def checksum_name(checksum: str) -> str:
    """The algorithm of a recorded checksum, for messages (``xxh3-128``, ``sha256``)."""
    return checksum.partition(":")[0]


def recorded_checksum(record: Mapping[str, Any]) -> str | None:
    """A marker's or index shard entry's file checksum as ``"ALGORITHM:HEX"``: schema 2 records
    ``checksum``, schema 1 the bare hex of ``sha256``; None when the shard has no file."""
    if record.get("checksum"):
        return str(record["checksum"])
    return qualified_checksum(record["sha256"]) if record.get("sha256") else None


def qualified_checksum(value: str) -> str:
    """``"ALGORITHM:HEX"`` for a checksum recorded either way: schema 1 (and checkpoints that
    recorded its shards) kept sha256 as bare hex."""
    return value if ":" in value else f"sha256:{value}"


def _hasher(algorithm: str, what: str = "checksum") -> Any:
    if algorithm not in _HASHERS:
        raise ValueError(f"unknown {what} algorithm {algorithm!r}; known: {', '.join(sorted(_HASHERS))}")
    return _HASHERS[algorithm]
