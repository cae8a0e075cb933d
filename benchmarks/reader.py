"""Pre-training read throughput: ``ShardDataset`` against the reference layout.

The pattern is CLIP2Point's training step: a random object, one random RGB view of it and its
point cloud, through a torch DataLoader with 2 workers (batch 32, shuffled). Four readers: the
default layout through ``batch_loader`` (the trainer's loader: workers read whole batches into
reused shared-memory slots), the same through a plain DataLoader and the default collate, the
compact layout (gzip-1 RGB) and the reference. The reference layout
is what the original code reads: one PNG per view plus a .npy of points per object, decoded
with PIL. Both sets hold the same objects (``shard_data.BenchData``: 200 objects, 10 views,
224², 8192 points, rendered-looking images) and both are read with a warm page cache, so the
figure is decode + Python cost, not the disk's; the bytes per object show what the disk pays.
Each reader runs ``--rounds`` times, alternating, and the best round counts (the machine is
shared; the best round is the one least disturbed).

    python benchmarks/reader.py [--objects 200] [--epochs 6] [--rounds 3] [--workers 2]

Also the in-process CPU time per item (``cpu_us_per_item``): the decode cost alone, which the
neighbours' load on a shared machine disturbs far less than the loader's wall clock.

Last line: JSON with ``samples_per_s``, ``png_baseline_samples_per_s``, ``speedup``,
``bytes_per_object``, ``png_bytes_per_object``, the compact layout's figures, ``cpu_us_per_item``.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from clip2point.datasets.shards.file_format import COMPACT_LAYOUT, DEFAULT_LAYOUT
from clip2point.datasets.batch_loader import batch_loader
from clip2point.datasets.torch_dataset import ShardDataset
from shard_data import BenchData, best_cpu_seconds_per_item, write_png_reference, write_shards

log = logging.getLogger("reader")


class PngViewDataset(Dataset):
    """The reference reader: ``OBJECT/view-K.png`` decoded with PIL, ``OBJECT/points.npy``."""

    def __init__(self, root: Path, views: int, seed: int = 0) -> None:
        self.root, self.views, self.seed, self.epoch = root, views, seed, 0
        self.object_ids = np.array(sorted(p.name for p in root.iterdir() if p.is_dir()))

    def __len__(self) -> int:
        return len(self.object_ids)

    def __getitem__(self, index: int) -> dict[str, Any]:
        view = int(np.random.default_rng((self.seed, self.epoch, index)).integers(self.views))
        folder = self.root / str(self.object_ids[index])
        with Image.open(folder / f"view-{view}.png") as image:
            rgb = np.array(image.convert("RGB"))
        points = np.load(folder / "points.npy")
        return {"rgb": torch.from_numpy(rgb), "points": torch.from_numpy(points), "view": torch.tensor(view),
                "object_id": str(self.object_ids[index])}


def make_loader(dataset: Dataset, *, workers: int, batch: int) -> DataLoader:
    """Shards through ``batch_loader`` (whole batches read in the worker, the trainer's loader);
    the reference and ``DefaultCollate`` through a plain DataLoader with the default collate."""
    kwargs: dict[str, Any] = dict(batch_size=batch, shuffle=True, num_workers=workers,
                                  generator=torch.Generator().manual_seed(0), persistent_workers=workers > 0)
    if isinstance(dataset, ShardDataset):
        return batch_loader(dataset, **kwargs)
    return DataLoader(dataset, **kwargs)


class DefaultCollate(Dataset):
    """``ShardDataset`` item by item through the default collate (what a plain DataLoader does)."""

    def __init__(self, dataset: ShardDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.dataset[index]


def samples_per_second(dataset: Dataset, *, epochs: int, workers: int, batch: int) -> float:
    """Samples/s over ``epochs`` shuffled epochs, after one warm-up batch (worker start-up)."""
    loader = make_loader(dataset, workers=workers, batch=batch)
    iterator = iter(loader)
    next(iterator)
    count, start = 0, time.perf_counter()
    for epoch in range(epochs):
        for batch_items in (iterator if epoch == 0 else loader):
            count += len(batch_items["object_id"])
    return count / (time.perf_counter() - start)


def cpu_us_per_item(dataset: Dataset, rounds: int, samples: int = 400) -> float:
    """In-process CPU µs of one item, single-threaded as in a DataLoader worker."""
    torch.set_num_threads(1)
    return 1e6 * best_cpu_seconds_per_item(dataset, rounds=rounds, samples=samples)


def batch_cpu_us_per_item(dataset: ShardDataset, rounds: int, batch: int, samples: int = 800) -> float:
    """In-process CPU µs per item of ``read_batch`` (what a ``batch_loader`` worker spends)."""
    torch.set_num_threads(1)
    best = float("inf")
    for r in range(rounds):
        order = np.random.default_rng(r).integers(len(dataset), size=samples)
        start = time.process_time()
        for first in range(0, samples, batch):
            dataset.read_batch(order[first:first + batch])
        best = min(best, time.process_time() - start)
    return 1e6 * best / samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    data = BenchData(objects=args.objects, per_shard=min(50, args.objects))
    with tempfile.TemporaryDirectory(prefix="c2p-reader-") as tmp:
        sizes = {"shards": write_shards(Path(tmp) / "shards", data),
                 "compact": write_shards(Path(tmp) / "compact", data, COMPACT_LAYOUT),
                 "png": write_png_reference(Path(tmp) / "png", data)}
        readers = {"png": PngViewDataset(Path(tmp) / "png", data.views),
                   "shards": ShardDataset(Path(tmp) / "shards", view="random", fields=("rgb", "points")),
                   "shards_default_collate": DefaultCollate(ShardDataset(Path(tmp) / "shards", view="random",
                                                                         fields=("rgb", "points"))),
                   "compact": ShardDataset(Path(tmp) / "compact", view="random", fields=("rgb", "points"))}
        rates: dict[str, list[float]] = {name: [] for name in readers}
        for _ in range(args.rounds):
            for name, dataset in readers.items():
                rates[name].append(samples_per_second(dataset, epochs=args.epochs, workers=args.workers, batch=args.batch))
                log.info("%s: %.0f samples/s", name, rates[name][-1])
        item_us = {name: round(cpu_us_per_item(dataset, args.rounds), 1) for name, dataset in readers.items()
                   if name != "shards_default_collate"}
        item_us["shards_read_batch"] = round(batch_cpu_us_per_item(readers["shards"], args.rounds, args.batch), 1)
    best = {name: max(r) for name, r in rates.items()}
    result = {
        "samples_per_s": round(best["shards"], 1),
        "png_baseline_samples_per_s": round(best["png"], 1),
        "speedup": round(best["shards"] / best["png"], 2),
        "bytes_per_object": sizes["shards"] // data.objects,
        "png_bytes_per_object": sizes["png"] // data.objects,
        "default_collate_samples_per_s": round(best["shards_default_collate"], 1),
        "compact_samples_per_s": round(best["compact"], 1),
        "compact_bytes_per_object": sizes["compact"] // data.objects,
        "cpu_us_per_item": item_us,
        "cpu_speedup": round(item_us["png"] / item_us["shards"], 2),
        "rounds": {k: [round(r, 1) for r in v] for k, v in rates.items()},
        "layout": DEFAULT_LAYOUT.describe(),
        "compact_layout": COMPACT_LAYOUT.describe(),
        "data": data.__dict__,
        "workers": args.workers,
        "batch": args.batch,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
