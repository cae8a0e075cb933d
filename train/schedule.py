"""Optimiser and learning-rate schedule of SPEC §5: LAMB, cosine warm restarts stepped per iteration."""

from __future__ import annotations

from torch import nn
from torch.optim import AdamW, Optimizer
from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts

from clip2point.train.config import TrainConfig


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Decay every trainable tower weight, as the reference optimiser does, but not the balance
    weight w: decay would pull it towards 0 where L_intra / w² explodes."""
    decay, keep = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (keep if name.split(".")[-1] == "balance" else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": keep, "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> Optimizer:
    groups = param_groups(model, cfg.weight_decay)
    if cfg.optimizer == "lamb":
        from timm.optim import Lamb

        return Lamb(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)


def restart_period(steps_per_epoch: int, restart_epochs: float) -> int:
    """Optimiser steps in one cosine cycle (at least 1)."""
    return max(1, round(steps_per_epoch * restart_epochs))


def build_scheduler(optimizer: Optimizer, cfg: TrainConfig, steps_per_epoch: int) -> CosineAnnealingWarmRestarts:
    return CosineAnnealingWarmRestarts(
        optimizer, T_0=restart_period(steps_per_epoch, cfg.restart_epochs), eta_min=cfg.eta_min
    )
