"""The point clouds of a shard folder's split as a ``PointSet`` (ShapeNet's test split for
zero-shot validation with 55 prompts). Each stored cloud is reduced to ``num_points`` by a
seeded random subset, as pre-training does (SPEC §3), seeded per object id."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clip2point.datasets.pointsets import PointSet, PointSetOptions, check_finite_clouds
from clip2point.errors import ShardError
from clip2point.seeds import POINTSET_SEEDS, derive_seed


def load_shard_points(root: Path, split: str, options: PointSetOptions) -> PointSet:
    from clip2point.datasets.torch_dataset import ShardDataset  # noqa: PLC0415  (torch only when used)

    dataset = ShardDataset(root, split=split, view=0, fields=("points",))
    if len(dataset) == 0:
        raise ShardError(root, f"no objects in the {split!r} split")
    clouds = []
    try:
        for i in range(len(dataset)):
            points = dataset[i]["points"].numpy()
            oid = str(dataset.object_ids[i])
            check_finite_clouds(points[None], [oid], root)  # the whole stored cloud, not just the subset drawn
            if len(points) < options.num_points:
                raise ShardError(root, f"{oid} stores {len(points)} points, fewer than num_points={options.num_points}")
            rng = np.random.default_rng(derive_seed(options.seed, oid, POINTSET_SEEDS))
            clouds.append(points[np.sort(rng.choice(len(points), options.num_points, replace=False))])
    finally:
        dataset.close()
    return PointSet("shards", split, np.stack(clouds), dataset.labels, tuple(dataset.class_names),
                    tuple(str(o) for o in dataset.object_ids), frame="y-up", source=str(root),
                    info={"format": "shards"})
