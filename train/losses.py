"""SPEC §5 losses: SimCLR's NT-Xent and the learnable cross/intra-modality balance.

Inputs are raw features; NT-Xent normalises them itself. In distributed runs the caller
passes features already gathered over all ranks, so every rank computes the loss of the
global batch (the paper's batch size).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

TEMPERATURE = 0.07


class LossParts(NamedTuple):
    """The total loss and its terms (``w`` detached, for logging)."""

    total: torch.Tensor
    cross: torch.Tensor
    intra: torch.Tensor
    w: torch.Tensor


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float = TEMPERATURE) -> torch.Tensor:
    """NT-Xent of N positive pairs (a_i, b_i): 2N rows, self-similarity removed, mean CE.

    Computed in float32 whatever the autocast dtype: the logits reach 1/τ ≈ 14 and the
    softmax over 2N−1 negatives loses precision in bf16.
    """
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"nt_xent needs two [N,D] feature batches of one shape; got {tuple(a.shape)}, {tuple(b.shape)}")
    n = a.shape[0]
    z = F.normalize(torch.cat([a, b]).float(), dim=-1)
    logits = (z @ z.T) / temperature
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    partner = (torch.arange(2 * n, device=z.device) + n) % (2 * n)
    return F.cross_entropy(logits, partner)


def balance_loss(cross: torch.Tensor, intra: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """L_cross + L_intra / w² + log(w + 1): w learns how much the intra-modality term counts."""
    return cross + intra / w.float() ** 2 + torch.log(w.float() + 1)


def pretrain_loss(
    depth1: torch.Tensor, depth2: torch.Tensor, image: torch.Tensor, w: torch.Tensor, temperature: float = TEMPERATURE
) -> LossParts:
    """The image-depth objective: cross term on the mean depth feature, intra term on the two copies."""
    cross = nt_xent((depth1.float() + depth2.float()) / 2, image, temperature)
    intra = nt_xent(depth1, depth2, temperature)
    return LossParts(balance_loss(cross, intra, w), cross.detach(), intra.detach(), w.detach())
