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
from typing import Any, Sequence

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
    """Whether the writer hands HDF5 finished chunks for this codec (``write_direct_chunks``):
    ``gzip-isal`` (compressed by us) and ``none`` (raw: the same bytes HDF5 writes, without
    stacking the objects into one array and HDF5 copying it chunk by chunk: 0.9 -> 0.3 ms of
    CPU per object for RGB and points). Other codecs are HDF5's own filters."""
    return codec in ("none", ISAL_CODEC)


def write_direct_chunks(dataset: h5py.Dataset, arrays: Sequence[np.ndarray], codec: str) -> None:
    """Fill ``dataset`` [K, ...] with ``arrays`` (one per object, row k = ``arrays[k]``) chunk by
    chunk. Chunks must be one object along axis 0, one index along the next axes and whole
    along the rest (the layouts' per-view and per-object chunks). Every chunk is written, none
    left to the fill value, so the file holds the chunks HDF5 itself would have written."""
    chunks, shape = dataset.chunks, dataset.shape
    lead = next((i for i, (c, n) in enumerate(zip(chunks or (), shape)) if c != 1), len(shape))
    if chunks is None or lead < 1 or tuple(chunks[lead:]) != shape[lead:] or len(arrays) != shape[0]:
        raise ValueError(f"{dataset.name}: direct chunk writes need chunks of one object and whole trailing axes")
    tail = (0,) * (len(shape) - lead)
    for k, arr in enumerate(arrays):
        if arr.shape != shape[1:] or arr.dtype != dataset.dtype:
            raise ValueError(f"{dataset.name}: row {k} is {arr.dtype} {arr.shape}, not {dataset.dtype} {shape[1:]}")
        arr = np.ascontiguousarray(arr)
        for index in itertools.product(*(range(n) for n in shape[1:lead])):
            chunk = arr[index]
            data = isal_zlib.compress(chunk, ISAL_LEVEL) if codec == ISAL_CODEC else chunk
            dataset.id.write_direct_chunk((k, *index) + tail, data)
