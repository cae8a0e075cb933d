"""One in-memory type for every evaluation point-cloud set, and the registry of dataset names.

ModelNet (.off folders or the PointNet .h5 files), ScanObjectNN (.h5) and the test split of
our own shards all become a ``PointSet``, so zero-shot and few-shot code has a single input
type. ``frame`` records which way is up, because SPEC §6 rotates only z-up sources (ModelNet's
meshes) into ShapeNet's y-up frame; the evaluation decides from the data, not from the name.
"""

from __future__ import annotations

import importlib
import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from clip2point.disk_cache import cache_file, read_cache_entry, save_npz_atomic
from clip2point.errors import ConfigError, PathError
from clip2point.validation import check_choice, check_int

log = logging.getLogger(__name__)

T = TypeVar("T")

FRAMES = ("y-up", "z-up")
SAMPLERS = ("open3d", "trimesh")
SPLITS = ("train", "test")


@dataclass(frozen=True)
class PointSetOptions:
    """How a loader turns its source into clouds of ``num_points`` points.

    ``seed`` fixes surface sampling and subsampling; ``sampler`` picks open3d (the reference's
    uniform surface sampling) or trimesh for mesh sources; ``cache_dir`` keeps the sampled clouds
    so a second run (and every few-shot seed) skips the expensive mesh reading."""

    num_points: int = 1024
    seed: int = 0
    sampler: str = "open3d"
    cache_dir: Path | None = None
    workers: int = 1

    def __post_init__(self) -> None:
        check_int(self.num_points, "--num-points", low=1)
        check_choice(self.sampler, "--sampler", SAMPLERS)
        check_int(self.workers, "--workers", low=1)
        if self.cache_dir is not None:
            object.__setattr__(self, "cache_dir", Path(self.cache_dir))


@dataclass(frozen=True, eq=False)  # arrays have no truth value: compare fields explicitly
class PointSet:
    """Clouds ``points`` float32 [N,P,3] with ``labels`` int64 [N] indexing ``class_names``.

    ``object_ids`` name each cloud in its source (a relative file path, or ``file.h5:row``) so a
    result can be traced back; ``frame`` is "y-up" or "z-up" (see the module docstring)."""

    name: str
    split: str
    points: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    object_ids: tuple[str, ...]
    frame: str = "y-up"
    source: str = ""
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        points = np.ascontiguousarray(self.points, dtype=np.float32)
        labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        if points.ndim != 3 or points.shape[-1] != 3:
            raise ConfigError(f"{self.name}: points must be [N,P,3]; got shape {points.shape}")
        if len(labels) != len(points) or len(self.object_ids) != len(points):
            raise ConfigError(
                f"{self.name}: {len(points)} clouds but {len(labels)} labels and {len(self.object_ids)} ids"
            )
        if len(labels) and (labels.min() < 0 or labels.max() >= len(self.class_names)):
            raise ConfigError(f"{self.name}: labels must lie in [0, {len(self.class_names)}); "
                              f"got [{labels.min()}, {labels.max()}]")
        if self.frame not in FRAMES:
            raise ConfigError(f"{self.name}: frame must be one of {FRAMES}; got {self.frame!r}")
        check_finite_clouds(points, self.object_ids, self.source or self.name)
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "class_names", tuple(self.class_names))
        object.__setattr__(self, "object_ids", tuple(self.object_ids))

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: Sequence[int] | np.ndarray) -> "PointSet":
        """The clouds at ``indices`` (order kept), same classes."""
        idx = np.asarray(indices, dtype=np.int64)
        return replace(self, points=self.points[idx], labels=self.labels[idx],
                       object_ids=tuple(self.object_ids[i] for i in idx))

    def restrict_classes(self, names: Sequence[str]) -> "PointSet":
        """Only the clouds of ``names``, relabelled 0..len(names)-1 in that order (ModelNet10
        taken out of a ModelNet40 source)."""
        missing = [n for n in names if n not in self.class_names]
        if missing:
            raise ConfigError(f"{self.source or self.name}: classes {missing} are not in this data "
                              f"(it has {len(self.class_names)}: {', '.join(self.class_names[:12])}...)")
        old_to_new = np.full(len(self.class_names), -1, dtype=np.int64)
        for new, n in enumerate(names):
            old_to_new[self.class_names.index(n)] = new
        keep = np.flatnonzero(old_to_new[self.labels] >= 0)
        sub = self.subset(keep)
        return replace(sub, labels=old_to_new[sub.labels], class_names=tuple(names))


def check_finite_clouds(points: np.ndarray, ids: Sequence[str], source: str | Path) -> None:
    """Refuse clouds [N,P,3] holding NaN or infinite coordinates, naming ``source`` and the
    first bad objects: caught later, in the projector, the error could not say which of
    thousands of objects (or which file) to clean."""
    bad = np.flatnonzero(~np.isfinite(points.reshape(len(points), -1)).all(axis=1)) if points.size else []
    if len(bad):
        named = ", ".join(str(ids[i]) for i in bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise PathError(source, f"points contain NaN or infinite coordinates in {len(bad)} object(s): {named}")


# ---------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset name: ``loader`` is ``"module:function"`` taking (root, split, options)."""

    name: str
    loader: str
    description: str


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec("modelnet40", "clip2point.datasets.modelnet:load_modelnet40",
                    "ModelNet40: aligned .off folders CLASS/train|test/*.off, or modelnet40_ply_hdf5_2048"),
        DatasetSpec("modelnet10", "clip2point.datasets.modelnet:load_modelnet10",
                    "ModelNet10: its own .off folders, or the 10 classes of a ModelNet40 source"),
        DatasetSpec("scanobjectnn", "clip2point.datasets.scanobjectnn:load_scanobjectnn",
                    "ScanObjectNN: any variant's training_*/test_*.h5 (a folder or one file)"),
        DatasetSpec("shards", "clip2point.datasets.shard_points:load_shard_points",
                    "our shard folder (ShapeNet test split, 55 synsets)"),
        DatasetSpec("objaverse-lvis", "clip2point.datasets.objaverse_lvis:load_objaverse_lvis",
                    "Objaverse-LVIS: the objaverse download folder (lvis-annotations.json, object-paths.json, glbs/)"),
    )
}


def get_dataset_spec(name: str) -> DatasetSpec:
    return DATASETS[check_choice(name, "--dataset", DATASETS)]


def load_pointset(name: str, root: str | Path, split: str, options: PointSetOptions | None = None) -> PointSet:
    """Load split ``split`` of dataset ``name`` from ``root``; cached by ``options.cache_dir``."""
    check_choice(split, "--split", SPLITS)
    spec = get_dataset_spec(name)
    options = options or PointSetOptions()
    root = Path(root)
    if not root.exists():
        raise PathError(root, f"{name} data not found (pass the dataset folder or file with --data)")
    module, func = spec.loader.split(":")
    loader: Callable[[Path, str, PointSetOptions], PointSet] = getattr(importlib.import_module(module), func)
    if options.cache_dir is None:
        return loader(root, split, options)
    key = {"dataset": name, "root": str(root.resolve()), "split": split, "num_points": options.num_points,
           "seed": options.seed, "sampler": options.sampler, "stamp": _source_stamp(root)}
    path = cache_file(options.cache_dir, f"points-{name}-{split}", key)
    cached = read_cache_entry(path, _read_pointset) if path.is_file() else None
    if cached is not None:
        log.info("read cached %s %s clouds from %s", name, split, path)
        return cached
    pointset = loader(root, split, options)
    _write_pointset(path, pointset)
    return pointset


# ---------------------------------------------------------------------------- caching


def _source_stamp(root: Path) -> list[Any]:
    """Size and mtime of the source (the top folder entries) so an edited dataset invalidates."""
    entries = [root] if root.is_file() else sorted(root.iterdir())
    return [[p.name, p.stat().st_size, int(p.stat().st_mtime)] for p in entries]


def _write_pointset(path: Path, ps: PointSet) -> None:
    meta = {"name": ps.name, "split": ps.split, "class_names": ps.class_names, "frame": ps.frame,
            "source": ps.source, "info": ps.info}
    save_npz_atomic(path, points=ps.points, labels=ps.labels, object_ids=np.asarray(ps.object_ids, dtype=str),
                    meta=np.asarray(json.dumps(meta)))


def _read_pointset(path: Path) -> PointSet:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        return PointSet(meta["name"], meta["split"], data["points"], data["labels"], tuple(meta["class_names"]),
                        tuple(str(s) for s in data["object_ids"]), frame=meta["frame"], source=meta["source"],
                        info=meta["info"])
