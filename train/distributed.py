"""torch.distributed plumbing: the only module of the trainer that talks to process groups.

A run started by ``torchrun`` (single or multi node) finds RANK/WORLD_SIZE/LOCAL_RANK in the
environment; a plain ``python -m`` run is world size 1 and never creates a process group.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Iterator

import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler, Sampler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistEnv:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def env_from_torchrun() -> DistEnv:
    return DistEnv(
        rank=int(os.environ.get("RANK", 0)),
        world_size=int(os.environ.get("WORLD_SIZE", 1)),
        local_rank=int(os.environ.get("LOCAL_RANK", 0)),
    )


def pick_device(requested: str | None, env: DistEnv) -> torch.device:
    """cuda:LOCAL_RANK when CUDA exists (unless told otherwise), else the CPU."""
    if requested:
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda", env.local_rank)
    return torch.device("cpu")


def init_distributed(device: torch.device) -> DistEnv:
    """Join the torchrun process group (NCCL on GPU, gloo on CPU) when there is more than one rank."""
    env = env_from_torchrun()
    if env.enabled and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        log.debug("rank %d/%d joined the process group", env.rank, env.world_size)
    return env


def shutdown_distributed(*, wait_for_peers: bool = True) -> None:
    """Leave the process group together: a rank that tears gloo down while a peer is still
    sending aborts ("terminate called without an active exception"), so meet at a barrier first.
    On an error path (``wait_for_peers=False``) a peer may never arrive: leave at once."""
    if dist.is_initialized():
        if wait_for_peers:
            dist.barrier()
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` [N,...] over ranks in rank order, keeping the gradient path to every rank.

    Each rank then holds the global batch, so its NT-Xent sees all negatives; autograd routes
    the gradient of each slice back to the rank that produced it.
    """
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return x
    from torch.distributed._functional_collectives import all_gather_single, wait_tensor

    # functional collective: all-gather forward, reduce-scatter (sum) backward
    return wait_tensor(all_gather_single(x.contiguous(), 0, dist.group.WORLD))


def all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    """Sum a small tensor over ranks (for metrics); identity without a process group."""
    if dist.is_initialized():
        values = values.clone()
        dist.all_reduce(values)
    return values


def all_flags_ok(ok: bool, device: torch.device) -> bool:
    """True when every rank reports ok: a NaN on one rank stops all ranks at the same step."""
    flag = torch.tensor([0.0 if ok else 1.0], device=device)
    return bool(all_reduce_sum(flag).item() == 0)


class ResumableSampler(Sampler[int]):
    """``DistributedSampler``'s per-rank order (shuffled by seed and epoch, equal shares), able to
    start an epoch part-way so a run resumed mid-epoch sees exactly the remaining samples."""

    def __init__(self, size: int, env: DistEnv, *, seed: int) -> None:
        self.base = DistributedSampler(range(size), num_replicas=env.world_size, rank=env.rank,
                                       shuffle=True, seed=seed, drop_last=True)
        self.skip = 0

    def set_epoch(self, epoch: int, *, skip: int = 0) -> None:
        """Use ``epoch``'s order and leave out its first ``skip`` samples of this rank."""
        self.base.set_epoch(epoch)
        self.skip = skip

    def __iter__(self) -> Iterator[int]:
        return iter(list(self.base)[self.skip:])

    def __len__(self) -> int:
        return len(self.base) - self.skip

    @property
    def per_rank(self) -> int:
        """Samples each rank sees in a full epoch."""
        return len(self.base)
