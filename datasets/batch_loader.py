"""``batch_loader``: a DataLoader over a ``ShardDataset`` whose workers read whole batches into
reused shared-memory slots.

Why not a plain DataLoader: for a 250 kB sample (one 224² RGB view + 8,192 points) the HDF5 read
costs ~70 us, but the default path costs ~400 us more: per-item tensors, the collate's stacking
copy, and above all a fresh shared-memory segment per tensor per batch, whose pages the kernel
must fault in and zero again every time (on a VM a 4.8 MB segment costs ~3.9 ms to allocate and
fill, against ~0.2 ms for memory that is reused). Here each worker owns a few slots allocated once,
fills them in place with ``ShardDataset.read_batch`` and sends only the slot number and the small
fields; the main process copies the slot out (into pinned memory when asked, the copy a pinned
loader makes anyway) before it asks for the next batch.

Why a slot is never overwritten while the main process still reads it: worker ``w`` uses its
slots in turn, one per task. The DataLoader keeps at most ``prefetch_factor`` tasks outstanding
per worker and returns results in order, and this loader copies every result out before it
requests the next one; so when task ``i`` of a worker starts, its results up to ``i - prefetch``
have been copied, and with ``prefetch + 2`` slots task ``i`` reuses the slot of task
``i - prefetch - 2``. Unordered loading (``in_order=False``) would break that bound and is
refused. Non-persistent workers get fresh slots per iterator, so an abandoned iterator's workers,
which live until it is collected, can never write into a newer iterator's slots.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any, Iterator

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, Sampler, SequentialSampler, get_worker_info

from clip2point.datasets.torch_dataset import ShardDataset
from clip2point.errors import ConfigError

SLOT = "_slot"


class _SlotRing:
    """Shared-memory batch tensors, ``slots_per_worker`` per worker, one [slots, batch, ...]
    tensor per field."""

    def __init__(self, dataset: ShardDataset, batch_size: int, workers: int, slots_per_worker: int) -> None:
        self.slots_per_worker = slots_per_worker
        slots = workers * slots_per_worker
        specs = dataset.field_specs()
        nbytes = slots * batch_size * sum(math.prod(shape) * dtype.itemsize for shape, dtype in specs.values())
        try:
            self.tensors = {name: torch.empty((slots, batch_size, *shape), dtype=dtype).share_memory_()
                            for name, (shape, dtype) in specs.items()}
        except RuntimeError as exc:  # /dev/shm full: containers often give it 64 MB
            raise ConfigError(
                f"batch_loader needs {nbytes / 2**20:.1f} MiB of shared memory ({workers} workers x {slots_per_worker} "
                f"slots x batch {batch_size}) and could not get it ({exc}); give the container more "
                f"(docker --shm-size), or use fewer workers or a smaller batch") from exc
        self._tasks_done = 0  # per worker process: each has its own copy of the ring object

    def next_slot(self, worker: int) -> int:
        slot = worker * self.slots_per_worker + self._tasks_done % self.slots_per_worker
        self._tasks_done += 1
        return slot

    def take(self, batch: dict[str, Any], pin: bool) -> dict[str, Any]:
        """The batch with its slot's fields copied out (the slot is free for reuse after this) and
        its small fields as tensors, all pinned when ``pin``."""
        slot, size = batch.pop(SLOT)
        for name, value in batch.items():
            if isinstance(value, np.ndarray):
                batch[name] = torch.from_numpy(value).pin_memory() if pin else torch.from_numpy(value)
        for name, ring in self.tensors.items():
            source = ring[slot, :size]
            copy = torch.empty(source.shape, dtype=source.dtype, pin_memory=pin)
            # numpy's copy, not torch's: torch spreads a large copy over its intra-op threads,
            # whose spinning takes the cores the loader workers need (half the throughput here).
            np.copyto(copy.numpy(), source.numpy())
            batch[name] = copy
        return batch


class _Batches(Dataset):
    """Item ``[i, j, ...]`` is the batch ``read_batch([i, j, ...])``; inside a worker it is read into
    the worker's next slot and only the slot number travels."""

    def __init__(self, dataset: ShardDataset) -> None:
        self.dataset = dataset
        self.ring: _SlotRing | None = None

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, indices: list[int]) -> dict[str, Any]:
        worker = get_worker_info()
        if worker is None or self.ring is None:
            return self.dataset.read_batch(indices)
        slot = self.ring.next_slot(worker.id)
        batch = self.dataset.read_batch(indices, out={name: t[slot] for name, t in self.ring.tensors.items()})
        for name in self.ring.tensors:
            del batch[name]
        # The small fields travel pickled by value: as tensors each would get a shared-memory
        # segment and a file descriptor of its own, costlier than the whole batch's copy.
        small = {name: value.numpy() if isinstance(value, torch.Tensor) else value for name, value in batch.items()}
        return {**small, SLOT: (slot, len(indices))}


def _as_is(batch: dict[str, Any]) -> dict[str, Any]:
    """The DataLoader's per-batch conversion: none (its default would turn the small numpy fields
    into tensors in the worker, each then shipped through its own shared-memory segment)."""
    return batch


class ShardBatchLoader:
    """Iterable of collated batches (see the module docstring); ``loader`` is the DataLoader."""

    def __init__(self, dataset: ShardDataset, batches: BatchSampler, *, num_workers: int, pin_memory: bool,
                 generator: torch.Generator | None, loader_kwargs: dict[str, Any]) -> None:
        if loader_kwargs.get("in_order") is False:
            raise ConfigError("batch_loader needs in_order=True: its shared-memory slots rely on ordered results")
        if pin_memory and not torch.cuda.is_available():
            warnings.warn("batch_loader: pin_memory=True without a CUDA device; batches stay in pageable memory",
                          stacklevel=3)
            pin_memory = False
        self.pin_memory = pin_memory
        self._batches = _Batches(dataset)
        slots = (loader_kwargs.get("prefetch_factor") or 2) + 2
        self._new_ring = functools.partial(_SlotRing, dataset, batches.batch_size, num_workers, slots)
        self.persistent = bool(loader_kwargs.get("persistent_workers")) and num_workers > 0
        if self.persistent:
            self._batches.ring = self._new_ring()
        self.loader = DataLoader(self._batches, sampler=batches, batch_size=None, num_workers=num_workers,
                                 collate_fn=_as_is, pin_memory=pin_memory and num_workers == 0, generator=generator,
                                 **loader_kwargs)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self.loader.num_workers == 0:
            yield from self.loader
            return
        if not self.persistent:  # the workers about to start fork with fresh slots
            self._batches.ring = self._new_ring()
        ring = self._batches.ring
        assert ring is not None
        for batch in self.loader:
            yield ring.take(batch, self.pin_memory)


def batch_loader(
    dataset: ShardDataset,
    *,
    batch_size: int,
    sampler: Sampler[int] | None = None,
    shuffle: bool = False,
    drop_last: bool = False,
    generator: torch.Generator | None = None,
    num_workers: int = 0,
    pin_memory: bool = False,
    **loader_kwargs: Any,
) -> ShardBatchLoader:
    """Batches equal to those of ``DataLoader(dataset, batch_size, sampler or shuffle, drop_last,
    generator)`` with the default collate, read as whole batches (module docstring).
    ``loader_kwargs`` go to the DataLoader (``persistent_workers``, ``prefetch_factor``...)."""
    if sampler is not None and shuffle:
        raise ConfigError("batch_loader takes a sampler or shuffle=True, not both")
    if sampler is None:
        sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    batches = BatchSampler(sampler, batch_size=batch_size, drop_last=drop_last)
    return ShardBatchLoader(dataset, batches, num_workers=num_workers, pin_memory=pin_memory, generator=generator,
                            loader_kwargs=loader_kwargs)
