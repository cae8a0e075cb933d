"""Codecs of the shard arrays: which HDF5 filter stores each array, and who compresses its chunks.

Every codec is one plain HDF5 filter that h5py (and ``h5ls``, and any HDF5 reader) decodes
without plugins: ``none``, ``lzf`` (ships with h5py), ``gzip-1`` .. ``gzip-9`` (HDF5's deflate
filter, compressed by HDF5 through zlib at that level) and ``gzip-isal``.

``gzip-isal`` is the same deflate filter (id 1, level 1 in its client data), but our writer
compresses each chunk itself with ISA-L's deflate (the ``isal`` package, its level 1) and hands
HDF5 the finished chunk (``write_direct_chunk``). The chunks are ordinary zlib streams, so a
reader inflates them with zlib exactly as it does HDF5's own: the stored VALUES are identical,
only the compressed BYTES differ. Why: zlib level 1 on the depth maps was the largest CPU item
of a shard write, 5.3 ms per object (10 views of 224² float32, 84 % background zeros), and
ISA-L does the same job in 1.4 ms, 3 % smaller (113 vs 117 kB per object; benchmarks/RESULTS.md).
Byte shuffle is not offered with it: HDF5 would expect shuffled chunks, and shuffle made depth
larger and slower anyway (``ShardLayout.shuffle``).
"""

from __future__ import annotations

import itertools
from typing import Any

import h5py
import numpy as np
from isal import isal_zlib

ISAL_CODEC = "gzip-isal"
ISAL_LEVEL = 1  # ISA-L's levels run 0..3; 1 is its fastest that still looks for matches
CODECS = ("none", "lzf") + tuple(f"gzip-{level}" for level in range(1, 10)) + (ISAL_CODEC,)


def codec_kwargs(codec: str, itemsize: int, shuffle: bool = False) -> dict[str, Any]:
    """h5py filter keywords of a codec name; optional byte shuffle for multi-byte types.
    ``gzip-isal`` declares the deflate filter at level 1 (what a reader sees); its chunks come
    from :func:`write_direct_chunks`, never from HDF5's own compressor."""
    if codec == "none":
        return {}
    kwargs: dict[str, Any] = {"shuffle": shuffle and itemsize > 1}
    if codec == "lzf":
        return kwargs | {"compression": "lzf"}
    level = 1 if codec == ISAL_CODEC else int(codec.split("-")[1])
    return kwargs | {"compression": "gzip", "compression_opts": level}


def writes_own_chunks(codec: str) -> bool:
    """Whether the writer compresses this codec's chunks itself (HDF5 only stores them)."""
    return codec == ISAL_CODEC


def write_direct_chunks(dataset: h5py.Dataset, arr: np.ndarray) -> None:
    """Fill ``dataset`` (deflate filter, chunks that span whole trailing dimensions) with ``arr``,
    one ISA-L-compressed chunk at a time. Every chunk is written, none left to the fill value,
    so the file holds the same chunks HDF5 would have written."""
    chunks = dataset.chunks
    if chunks is None or dataset.shape != arr.shape or dataset.dtype != arr.dtype:
        raise ValueError(f"{dataset.name}: direct chunk writes need a chunked dataset of {arr.dtype} {arr.shape}")
    lead = next((i for i, (c, n) in enumerate(zip(chunks, arr.shape)) if c != 1), len(chunks))
    if tuple(chunks[lead:]) != arr.shape[lead:]:
        raise ValueError(f"{dataset.name}: chunks {chunks} must be 1 along leading and whole along trailing axes")
    data = np.ascontiguousarray(arr)
    tail = (0,) * (arr.ndim - lead)
    for index in itertools.product(*(range(n) for n in arr.shape[:lead])):
        dataset.id.write_direct_chunk(index + tail, isal_zlib.compress(data[index], ISAL_LEVEL))
