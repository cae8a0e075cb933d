"""Benchmark data shared by ``reader.py`` and ``shard_layout.py``: rendered-looking objects
(shaded, striped shapes on white, see ``tests/shard_fixtures.py``) written as
shards, and the reference layout (one PNG per view + a .npy of points per object)."""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from clip2point.datasets.shards.file_format import DEFAULT_LAYOUT, RenderedObject, ShardLayout
from clip2point.datasets.shards import build_index, write_shard

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from shard_fixtures import synthetic_object  # noqa: E402  (a test fixture, kept out of the library)


@dataclasses.dataclass(frozen=True)
class BenchData:
    """Size of the benchmark set (defaults: the pre-training set's per-object sizes)."""

    objects: int = 200
    views: int = 10
    size: int = 224
    points: int = 8192
    per_shard: int = 50

    def __post_init__(self) -> None:
        if min(self.objects, self.views, self.size, self.points, self.per_shard) < 1:
            raise ValueError(f"benchmark sizes must be positive: {self}")


def make_objects(data: BenchData, start: int, count: int) -> list[RenderedObject]:
    return [synthetic_object(f"bench-{i:05d}", label=i % 55, split="train", views=data.views, size=data.size,
                             num_points=data.points, seed=i) for i in range(start, start + count)]


def write_shards(folder: Path, data: BenchData, layout: ShardLayout = DEFAULT_LAYOUT) -> int:
    """Write the set as shards and its index; returns the bytes of the .h5 files."""
    for shard, start in enumerate(range(0, data.objects, data.per_shard)):
        count = min(data.per_shard, data.objects - start)
        write_shard(folder, shard, make_objects(data, start, count), [], attrs={"config": dataclasses.asdict(data)},
                    layout=layout)
    build_index(folder)
    return sum(p.stat().st_size for p in folder.glob("shard-*.h5"))


def write_png_reference(folder: Path, data: BenchData) -> int:
    """The reference layout: ``OBJECT/view-K.png`` + ``OBJECT/points.npy``; returns its bytes."""
    for start in range(0, data.objects, data.per_shard):
        for obj in make_objects(data, start, min(data.per_shard, data.objects - start)):
            out = folder / obj.object_id
            out.mkdir(parents=True, exist_ok=True)
            for v, image in enumerate(obj.rgb):
                Image.fromarray(image).save(out / f"view-{v}.png")
            np.save(out / "points.npy", obj.points)
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def best_cpu_seconds_per_item(dataset: Any, *, rounds: int, samples: int) -> float:
    """In-process CPU seconds of one random item, best of ``rounds``: the read/decode cost
    without a DataLoader, robust to the neighbours' load."""
    best = float("inf")
    for r in range(rounds):
        order = np.random.default_rng(r).integers(len(dataset), size=samples)
        start = time.process_time()
        for i in order:
            dataset[int(i)]
        best = min(best, time.process_time() - start)
    return best / samples
