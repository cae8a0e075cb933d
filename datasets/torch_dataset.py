"""``ShardDataset``: random access to rendered objects in a shard folder, for torch DataLoaders.

Why it is built this way:

- h5py handles are opened lazily, in the process that reads, and dropped when the dataset is
  pickled or found in a forked child (an HDF5 handle must never cross a fork). At most
  ``max_open_files`` shards stay open per process (least recently used closed first), and the
  HDF5 chunk cache is off, because a random-access epoch reads each chunk once.
- Per-object metadata lives in numpy arrays, not lists of Python objects, so forked workers do not
  copy pages by touching reference counts: memory stays flat over an epoch.
- ``view="random"`` draws the view from a counter-based RNG keyed by (seed, epoch, index): the
  same item in the same epoch gets the same view in any worker, on any rank, in any order.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Mapping, Sequence

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from clip2point.datasets.shards.file_format import TEXTURE_STATUSES, open_shard, texture_counts, texture_status_of
from clip2point.datasets.shards import class_names_of, load_index
from clip2point.errors import ConfigError, ShardError
from clip2point.validation import check_int

log = logging.getLogger(__name__)
FIELDS = ("rgb", "depth", "points")
CAMERAS = ("elev", "azim", "dist")


class ShardDataset(Dataset):
    """Items are dicts of tensors and strings: ``rgb`` uint8 [H,W,3] (or [V,H,W,3] with
    ``view="all"``), ``depth`` float32 [H,W] (or [V,H,W]), ``points`` float32 [N,3], ``view``
    int64 (or [V]), ``elev``/``azim``/``dist`` float32 of the chosen view(s), ``label`` int64,
    ``synset`` and ``object_id`` str. The default collate stacks them into a batch."""

    def __init__(
        self,
        root: str | Path,
        *,
        split: str | None = None,
        view: str | int = "random",
        fields: Sequence[str] = ("rgb", "points"),
        seed: int = 0,
        max_open_files: int = 32,
        texture_status: Sequence[str] | None = None,
    ) -> None:
        self.root = Path(root)
        index = load_index(self.root)
        self.fields = _check_fields(fields)
        self.num_views = _num_views(index, self.root)
        self.view = _check_view(view, self.num_views)
        check_int(max_open_files, "max_open_files", low=1)  # a keyword, no flag sets it
        self.seed, self.epoch, self.split, self.max_open_files = int(seed), 0, split, max_open_files
        self.class_names: list[str] = class_names_of(index)
        objects = _select_textures(_select_split(index, split, self.root), texture_status, self.root)
        files = {s["shard_id"]: s["file"] for s in index["shards"]}
        shard_ids = sorted({o["shard_id"] for o in objects})
        self._files = np.array([str(self.root / files[s]) for s in shard_ids])
        position = {s: i for i, s in enumerate(shard_ids)}
        self._shard = np.array([position[o["shard_id"]] for o in objects], dtype=np.int32)
        self._row = np.array([o["row"] for o in objects], dtype=np.int32)
        self.labels = np.array([o["label"] for o in objects], dtype=np.int64)
        self.object_ids = np.array([o["object_id"] for o in objects], dtype=np.str_)
        self.synsets = np.array([o["synset"] for o in objects], dtype=np.str_)
        self._handles: OrderedDict[int, _OpenShard] = OrderedDict()
        self._specs: dict[str, tuple[tuple[int, ...], torch.dtype]] | None = None
        self._pid = os.getpid()

    def __len__(self) -> int:
        return len(self._row)

    def set_epoch(self, epoch: int) -> None:
        """Change the random views for the next epoch (call before creating the loader iterator,
        like ``DistributedSampler.set_epoch``; persistent workers keep the old epoch)."""
        self.epoch = int(epoch)

    def view_of(self, index: int) -> int:
        """The view item ``index`` gets in the current epoch (``view="random"`` or an int)."""
        if self.view == "random":
            return counter_hash(self.seed, self.epoch, index) % self.num_views
        if self.view == "all":
            raise ConfigError('view_of is undefined for view="all"')
        return int(self.view)

    def __getitem__(self, index: int) -> dict[str, Any]:
        shard, row, views = self._locate(index)
        item: dict[str, Any] = {name: torch.from_numpy(np.array(cameras[row, views]))
                                for name, cameras in shard.cameras.items()}
        for name in self.fields:
            item[name] = torch.from_numpy(self._read(shard, name, row, views, index))
        item["view"] = torch.arange(self.num_views) if self.view == "all" else torch.tensor(views, dtype=torch.int64)
        item["label"] = torch.tensor(self.labels[index])
        item["synset"] = str(self.synsets[index])
        item["object_id"] = str(self.object_ids[index])
        return item

    def read_batch(self, indices: Sequence[int], out: Mapping[str, torch.Tensor] | None = None) -> dict[str, Any]:
        """The items of ``indices`` already collated (what ``default_collate`` would make of
        ``[self[i] for i in indices]``), copied into the batch tensors as they are read: no per-item
        tensors, no stacking pass. ``out``: tensors [>= len(indices), ...] per field to fill
        instead of new ones (``batch_loader``'s shared-memory slots); the batch then holds views."""
        indices = [int(i) for i in indices]
        if not indices:
            raise ValueError("read_batch needs at least one index")
        if out is None:
            tensors = {name: torch.empty((len(indices), *shape), dtype=dtype)
                       for name, (shape, dtype) in self.field_specs().items()}
        else:
            tensors = {name: out[name][:len(indices)] for name in self.fields}
        dests = {name: tensor.numpy() for name, tensor in tensors.items()}
        cameras: dict[str, list[np.ndarray]] = {name: [] for name in CAMERAS}
        views_read = []
        for k, index in enumerate(indices):  # one item at a time: a handle may close as the next opens
            shard, row, views = self._locate(index)
            for name, dest in dests.items():
                array = self._read(shard, name, row, views, index)
                if array.shape != dest.shape[1:]:
                    raise ShardError(shard.path, f"{name} of {self.object_ids[index]} is {array.shape}, unlike the "
                                     f"batch's {dest.shape[1:]} (as in {self._files[0]}); the folder mixes jobs")
                dest[k] = array
            for name, values in cameras.items():
                values.append(shard.cameras[name][row, views])
            views_read.append(views)
        batch: dict[str, Any] = {**tensors, **{name: torch.from_numpy(np.stack(v)) for name, v in cameras.items()}}
        batch["view"] = (torch.arange(self.num_views).expand(len(indices), -1).clone() if self.view == "all"
                         else torch.tensor(views_read, dtype=torch.int64))
        batch["label"] = torch.from_numpy(self.labels[indices])
        batch["synset"] = [str(s) for s in self.synsets[indices]]
        batch["object_id"] = [str(o) for o in self.object_ids[indices]]
        return batch

    def field_specs(self) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
        """Per field, one item's shape and torch dtype, as the first shard stores them (looked up
        once: reopening shard 0 per batch would evict the handles the batch needs)."""
        if self._specs is None:
            shard = self._handle(0)
            views = slice(None) if self.view == "all" else 0
            self._specs = {name: (self._item_shape(shard, name, views),
                                  torch.from_numpy(np.empty(0, shard.arrays[name].dtype)).dtype) for name in self.fields}
        return self._specs

    def _locate(self, index: int) -> tuple["_OpenShard", int, Any]:
        """The open shard, row and view selection of item ``index`` in the current epoch."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} objects")
        views: Any = slice(None) if self.view == "all" else self.view_of(index)
        return self._handle(int(self._shard[index])), int(self._row[index]), views

    @staticmethod
    def _item_shape(shard: "_OpenShard", name: str, views: Any) -> tuple[int, ...]:
        shape = shard.arrays[name].shape
        return tuple(shape[1:]) if name == "points" or isinstance(views, slice) else tuple(shape[2:])

    def _read(self, shard: "_OpenShard", name: str, row: int, views: Any, index: int) -> np.ndarray:
        """One field of one object. Plain indexing, not ``read_direct`` into the batch: h5py's
        fast path for simple slices costs ~10 us, ``read_direct`` ~45 us, the copy ~10 us."""
        try:
            return shard.arrays[name][row] if name == "points" else shard.arrays[name][row, views]
        except (OSError, RuntimeError) as exc:
            raise ShardError(shard.path, f"cannot read {name} of {self.object_ids[index]} (row {row}): {exc}") from exc

    def _handle(self, shard: int) -> "_OpenShard":
        """This process's handle of a shard; handles inherited through fork are dropped unused."""
        if os.getpid() != self._pid:
            self._handles, self._pid = OrderedDict(), os.getpid()
        handle = self._handles.get(shard)
        if handle is None:
            handle = _OpenShard.open(Path(self._files[shard]), self.fields)
            self._handles[shard] = handle
            while len(self._handles) > self.max_open_files:
                self._handles.popitem(last=False)[1].close()
        else:
            self._handles.move_to_end(shard)
        return handle

    def close(self) -> None:
        """Close this process's handles (they reopen on the next access)."""
        while self._handles:
            self._handles.popitem()[1].close()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_handles": OrderedDict()}

    def __del__(self) -> None:
        if getattr(self, "_pid", None) == os.getpid():
            self.close()


_MASK64 = (1 << 64) - 1


def counter_hash(*values: int) -> int:
    """A 64-bit hash of integers (splitmix64 steps): a counter-based RNG, so the random view of
    (seed, epoch, index) needs no generator state and costs a microsecond, not the 50 us of
    seeding a numpy Generator per item."""
    state = 0
    for value in values:
        state = (state + (value & _MASK64) + 0x9E3779B97F4A7C15) & _MASK64
        z = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        state = z ^ (z >> 31)
    return state


@dataclasses.dataclass
class _OpenShard:
    """An open shard with its datasets looked up once (a name lookup costs as much as reading a
    raw chunk) and its small camera arrays read once."""

    path: Path
    h5: h5py.File
    arrays: dict[str, h5py.Dataset]
    cameras: dict[str, np.ndarray]

    @classmethod
    def open(cls, path: Path, fields: Sequence[str]) -> "_OpenShard":
        h5 = open_shard(path)
        try:
            cameras = {name: h5[name][()] for name in CAMERAS}
        except (OSError, RuntimeError) as exc:
            h5.close()
            raise ShardError(path, f"cannot read the cameras: {exc}") from exc
        return cls(path, h5, {name: h5[name] for name in fields}, cameras)

    def close(self) -> None:
        self.arrays.clear()
        self.h5.close()


def _check_fields(fields: Sequence[str]) -> tuple[str, ...]:
    unknown = [f for f in fields if f not in FIELDS]
    if unknown or not fields:
        raise ConfigError(f"fields must be a non-empty subset of {FIELDS}; got {tuple(fields)}")
    return tuple(fields)


def _check_view(view: str | int, num_views: int) -> str | int:
    if view in ("random", "all"):
        return view
    if isinstance(view, (int, np.integer)) and not isinstance(view, bool) and 0 <= view < num_views:
        return int(view)
    raise ConfigError(f'view must be "random", "all" or an int in [0, {num_views}); got {view!r}')


def _num_views(index: dict[str, Any], root: Path) -> int:
    shapes = {tuple(s["shapes"]["rgb"]) for s in index["shards"] if s.get("shapes")}
    if not shapes:
        raise ShardError(root, "the folder has no shard with objects (is the generation job finished?)")
    if len(shapes) > 1:
        raise ShardError(root, f"shards disagree on the RGB view shape {sorted(shapes)}; they come from different jobs")
    return shapes.pop()[0]


def _select_textures(objects: list[dict[str, Any]], allowed: Sequence[str] | None, root: Path) -> list[dict[str, Any]]:
    """The objects whose texture status is in ``allowed`` (None: all), e.g. ``("textured",
    "untextured_by_source")`` to pre-train without objects whose texture was lost; how many
    were left out is logged, and leaving out everything is an error that says what the folder has."""
    if allowed is None:
        return objects
    unknown = sorted(set(allowed) - set(TEXTURE_STATUSES))
    if unknown:
        raise ConfigError(f"texture_status {unknown} not known; choose from {', '.join(TEXTURE_STATUSES)}")
    chosen = [o for o in objects if texture_status_of(o) in allowed]
    if objects and not chosen:
        raise ConfigError(f"{root}: no object has texture status {', '.join(allowed)}; the folder has "
                          f"{texture_counts(objects)} (a folder rendered before texture status was recorded "
                          "says 'unrecorded': render it again or drop the texture filter)")
    if len(chosen) < len(objects):
        log.info("%s: %d of %d objects left out by texture status (kept %s)", root, len(objects) - len(chosen),
                 len(objects), ", ".join(allowed))
    return chosen


def _select_split(index: dict[str, Any], split: str | None, root: Path) -> list[dict[str, Any]]:
    objects = index["objects"]
    if split is None:
        return objects
    chosen = [o for o in objects if o["split"] == split]
    if not chosen:
        have = sorted({o["split"] for o in objects})
        raise ConfigError(f"{root}: no object in split {split!r}; the folder has splits {have}")
    return chosen
