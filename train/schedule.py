"""Optimiser and learning-rate schedule of SPEC §5: LAMB, cosine warm restarts stepped per iteration.

``lamb`` is the reference's optimiser itself, ``torch_optimizer.Lamb`` 0.3.0 (the library the
reference imports; used, not re-implemented, so it cannot drift): no bias correction, weight norm
clamped at 10, no gradient clipping, applied to every trainable parameter including the balance
weight w, all decayed. ``lamb-timm`` is timm's variant, kept as an explicit option: bias
correction, global grad-norm clip 1.0, no clamp, w excluded from decay (on a tensor of norm 15.4
one step moves it 0.092 instead of 0.060). ``adamw`` is plain AdamW with the same grouping.
"""

from __future__ import annotations

from torch import nn
from torch.optim import AdamW, Optimizer
from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts

from clip2point.train.settings import OptimSettings


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """timm-LAMB / AdamW grouping: decay every trainable tower weight but not the balance weight w,
    whose decay pulls it towards 0 where L_intra / w² explodes (the faithful ``lamb`` decays it)."""
    decay, keep = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (keep if name.split(".")[-1] == "balance" else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": keep, "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, optim: OptimSettings) -> Optimizer:
    """The optimiser ``optim.optimizer`` names (see the module doc for what each one is)."""
    if optim.optimizer == "lamb":
        from torch_optimizer import Lamb  # noqa: PLC0415

        # The reference: optim.Lamb(model.parameters(), lr=0.006, weight_decay=1e-4), library defaults
        # otherwise (betas 0.9/0.999, eps 1e-6, clamp_value 10, debias False). Frozen parameters get
        # no gradient and are skipped by the optimiser either way, so only the trainable ones are passed.
        return Lamb([p for p in model.parameters() if p.requires_grad], lr=optim.lr, weight_decay=optim.weight_decay)
    groups = param_groups(model, optim.weight_decay)
    if optim.optimizer == "lamb-timm":
        from timm.optim import Lamb as TimmLamb  # noqa: PLC0415

        return TimmLamb(groups, lr=optim.lr, weight_decay=optim.weight_decay)
    return AdamW(groups, lr=optim.lr, weight_decay=optim.weight_decay)


def restart_period(steps_per_epoch: int, restart_epochs: float) -> int:
    """Optimiser steps in one cosine cycle (at least 1): the reference's T_0 = 2·len(train_dataloader)."""
    return max(1, round(steps_per_epoch * restart_epochs))


def build_scheduler(optimizer: Optimizer, optim: OptimSettings, steps_per_epoch: int) -> CosineAnnealingWarmRestarts:
    """Cosine warm restarts, T_mult 1, floor ``optim.eta_min`` (the reference's max(1e-2·1e-3, 1e-6) = 1e-5);
    the trainer steps it once per optimiser step, after ``optimizer.step()``, as the reference does."""
    return CosineAnnealingWarmRestarts(
        optimizer, T_0=restart_period(steps_per_epoch, optim.restart_epochs), T_mult=1, eta_min=optim.eta_min
    )
