"""Run under ``torchrun --nproc-per-node 2`` (gloo, CPU) by tests/test_distributed.py.

Each rank holds half of a fixed global batch, encodes it with a DDP-wrapped stand-in for the
depth tower, gathers the features with gradient and computes the SPEC §5 loss. Rank 0 writes
the loss and the synchronised gradients to the JSON file named on the command line.
"""

from __future__ import annotations

import json
import sys

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from clip2point.train.distributed import gather_with_grad, shutdown_distributed
from clip2point.train.losses import pretrain_loss

GLOBAL_BATCH, IN_DIM, DIM = 8, 5, 6


class Tower(nn.Module):
    """A linear 'depth tower' and the balance weight, shaped like PretrainModel's forward."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(IN_DIM, DIM)
        self.balance = nn.Parameter(torch.tensor(0.9))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.linear(x), self.balance


def fixed_inputs() -> tuple[Tower, torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = Tower()
    x1, x2, img = torch.randn(GLOBAL_BATCH, IN_DIM), torch.randn(GLOBAL_BATCH, IN_DIM), torch.randn(GLOBAL_BATCH, DIM)
    return model, x1, x2, img


def loss_and_grads(model: nn.Module, x1: torch.Tensor, x2: torch.Tensor, img: torch.Tensor) -> dict:
    f1, w = model(x1)
    f2, _ = model(x2)
    parts = pretrain_loss(gather_with_grad(f1), gather_with_grad(f2), gather_with_grad(img), w)
    parts.total.backward()
    module = model.module if isinstance(model, DistributedDataParallel) else model
    return {"loss": parts.total.item(), "grads": {n: p.grad.tolist() for n, p in module.named_parameters()}}


def main(out: str) -> None:
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    model, x1, x2, img = fixed_inputs()
    share = slice(rank * GLOBAL_BATCH // world, (rank + 1) * GLOBAL_BATCH // world)
    result = loss_and_grads(DistributedDataParallel(model), x1[share], x2[share], img[share])
    if rank == 0:
        with open(out, "w", encoding="utf-8") as fh:
            json.dump({**result, "world_size": world}, fh)
    shutdown_distributed()


if __name__ == "__main__":
    main(sys.argv[1])
