"""torch.distributed plumbing: the only module of the trainer that talks to process groups.

A run started by ``torchrun`` (single or multi node) finds RANK/WORLD_SIZE/LOCAL_RANK in the
environment; a plain ``python -m`` run is world size 1 and never creates a process group.
"""

from __future__ import annotations

import gc
import logging
import os
from dataclasses import dataclass
from typing import Any, Iterator

import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler, Sampler

from clip2point.errors import ConfigError

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
    """cuda:LOCAL_RANK when CUDA exists (unless told otherwise), else the CPU; a bare ``cuda``
    also means this rank's own GPU, so every torchrun process does not land on GPU 0."""
    if requested:
        device = parse_device(requested)
        return torch.device("cuda", env.local_rank) if device.type == "cuda" and device.index is None else device
    if torch.cuda.is_available():
        return torch.device("cuda", env.local_rank)
    return torch.device("cpu")


def available_devices() -> list[str]:
    """The device names this machine can run on: ``cpu`` and each visible CUDA device."""
    return ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0)]


def parse_device(requested: str) -> torch.device:
    """A ``--device`` value as a device this machine has, or a ``ConfigError`` naming it and the ones it has.

    Shared by pre-training and evaluation. Without it torch fails later and far away: a
    mistyped name lists twenty backends, and ``cuda`` on a machine without a GPU raises a
    driver error from the first tensor moved.
    """
    have = f"this machine has: {', '.join(available_devices())}"
    try:
        device = torch.device(requested)
    except (RuntimeError, ValueError):
        raise ConfigError(f"--device {requested!r} is not a device name; use cpu, cuda or cuda:N ({have})") from None
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"--device {requested!r}: clip2point runs on cpu or cuda ({have})")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {requested!r}: no CUDA device is available ({have})")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"--device {requested!r}: there is no CUDA device {device.index} ({have})")
    return device


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
    """Leave the process group cleanly. DDP wrappers sit in reference cycles, so without a
    collection they outlive the group and are torn down at interpreter exit, which aborted a few
    percent of gloo runs ("terminate called without an active exception"); peers meet at a
    barrier so none tears gloo down while another still sends. On an error path
    (``wait_for_peers=False``) a peer may never arrive: leave at once."""
    gc.collect()
    if dist.is_initialized():
        if wait_for_peers:
            dist.barrier()
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


class _GatherWithGrad(torch.autograd.Function):
    """All-gather forward; backward sums every rank's gradient of the gathered batch and keeps
    this rank's slice (the same gradients as one process holding the global batch; tested).
    Plain ``dist.all_gather``/``all_reduce``: any backend, no state kept past the call."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        ctx.rows = (dist.get_rank() * x.shape[0], (dist.get_rank() + 1) * x.shape[0])
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:  # noqa: D102
        grad = grad.contiguous()
        dist.all_reduce(grad)
        return grad[ctx.rows[0]:ctx.rows[1]]


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` [N,...] over ranks in rank order, keeping the gradient path to every rank.

    Each rank then holds the global batch, so its NT-Xent sees all negatives; autograd routes
    the gradient of each slice back to the rank that produced it. Every rank must pass the same
    N (the sampler gives each rank whole, equal batches).
    """
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return x
    return _GatherWithGrad.apply(x)


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
