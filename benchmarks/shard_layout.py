"""Which HDF5 layout serves the training read pattern best? Chunking × compression sweep.

For each candidate, writes the same benchmark set (``shard_data.BenchData``) and measures, in
one process with a warm page cache (so the figure is the format's CPU cost, not the disk's):
bytes per object, write time per object, and reads per CPU-second for (a) the pre-training
pattern, random object + one random RGB view + its points, (b) all RGB views + points of a random
object. ``ShardDataset`` does the reads, so the numbers include its real per-item overhead.
Reads are timed in process CPU time, best of three rounds, because the wall clock of a shared
machine measures the neighbours.

    python benchmarks/shard_layout.py [--objects 200] [--samples 1000]

Last line: JSON ``{"candidates": [...], "chosen": ...}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

from clip2point.datasets.shards.file_format import DEFAULT_LAYOUT, ShardLayout
from clip2point.datasets.torch_dataset import ShardDataset
from shard_data import BenchData, best_cpu_seconds_per_item, write_shards

log = logging.getLogger("shard_layout")

CANDIDATES = (
    ShardLayout("none", "none", "none", chunk="view"),
    ShardLayout("none", "none", "none", chunk="object"),
    ShardLayout("lzf", "lzf", "none", chunk="view"),
    ShardLayout("gzip-1", "gzip-1", "gzip-1", chunk="view"),
    ShardLayout("gzip-1", "gzip-1", "none", chunk="view"),
    ShardLayout("gzip-1", "gzip-1", "none", chunk="object"),
    ShardLayout("gzip-4", "gzip-4", "none", chunk="view"),
    ShardLayout("none", "gzip-1", "none", chunk="view"),
    ShardLayout("none", "gzip-1", "none", chunk="object"),
    ShardLayout("none", "gzip-isal", "none", chunk="view"),  # the default since 2026-12-02: gzip-1's filter, ISA-L's chunks
)


def reads_per_second(folder: Path, view: str, samples: int, rounds: int = 3) -> float:
    ds = ShardDataset(folder, view=view, fields=("rgb", "points"))
    for i in range(len(ds)):
        ds[i]  # open every handle outside the timed loop, as a worker does once
    return 1.0 / best_cpu_seconds_per_item(ds, rounds=rounds, samples=samples)


def measure(layout: ShardLayout, data: BenchData, samples: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="c2p-layout-") as tmp:
        start = time.perf_counter()
        size = write_shards(Path(tmp), data, layout)
        write_s = time.perf_counter() - start
        result = {
            "layout": layout.describe(),
            "bytes_per_object": size // data.objects,
            "write_ms_per_object": round(1000 * write_s / data.objects, 1),
            "one_view_per_s": round(reads_per_second(Path(tmp), "random", samples), 1),
            "all_views_per_s": round(reads_per_second(Path(tmp), "all", max(samples // 5, 1)), 1),
        }
    log.info("%s", result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=200)
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    data = BenchData(objects=args.objects, per_shard=min(50, args.objects))
    results = [measure(layout, data, args.samples) for layout in CANDIDATES]
    print(json.dumps({"data": data.__dict__, "candidates": results, "chosen": DEFAULT_LAYOUT.describe()}))


if __name__ == "__main__":
    main()
