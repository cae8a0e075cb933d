"""The Dual-Path Adapter of SPEC §7.

Each frozen encoder's view features [B,V,D] go through their own simplified adapter: per-view
fusion ratios (init 0.5) → BatchNorm over D → Dropout → flatten → Linear(V·D→D) → BatchNorm →
ReLU → Dropout → Linear(D→D). The paths' outputs are averaged and L2-normalised; the logits are
cosines with the class text features. A single path (``paths=("clip",)``) is the same module
with one branch, which is what makes the dual path's benefit measurable.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from clip2point.errors import CheckpointError
from clip2point.train.checkpoint import load_torch_file, torch_save_atomic
from clip2point.validation import check_choices, check_int, check_range

PATHS = ("pretrained", "clip")  # the two frozen encoders a path can read


@dataclass(frozen=True)
class AdapterConfig:
    """Shape of a DPA; stored in its checkpoint so ``--eval-only`` rebuilds the same module."""

    paths: tuple[str, ...] = PATHS
    num_views: int = 10
    dim: int = 512
    dropout: float = 0.075
    fusion_init: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "paths", check_choices(self.paths, "--paths", PATHS))
        check_int(self.num_views, "--views", low=1)
        # No flag sets these (the encoders' width, the adapter's fixed regularisation): named as fields.
        check_int(self.dim, "dim", low=1)
        check_range(self.dropout, "dropout", low=0, high=1, high_open=True)


class ViewAdapter(nn.Module):
    """One path: [B,V,D] view features to one [B,D] feature."""

    def __init__(self, num_views: int, dim: int, dropout: float, fusion_init: float) -> None:
        super().__init__()
        self.num_views, self.dim = num_views, dim
        self.fusion_ratio = nn.Parameter(torch.full((num_views,), float(fusion_init)))
        self.view_norm = nn.BatchNorm1d(dim)
        self.head = nn.Sequential(
            nn.Dropout(dropout),
            nn.Flatten(),
            nn.Linear(num_views * dim, dim),
            nn.BatchNorm1d(dim),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(dim, dim),
        )

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        if feats.shape[1:] != (self.num_views, self.dim):
            raise ValueError(f"expected view features [B,{self.num_views},{self.dim}]; got {tuple(feats.shape)}")
        b = feats.shape[0]
        x = feats * self.fusion_ratio.view(1, -1, 1)
        x = self.view_norm(x.reshape(b * self.num_views, self.dim)).reshape(b, self.num_views, self.dim)
        return self.head(x)


class DualPathAdapter(nn.Module):
    """One ``ViewAdapter`` per path; outputs averaged and L2-normalised."""

    def __init__(self, config: AdapterConfig) -> None:
        super().__init__()
        self.config = config
        self.adapters = nn.ModuleDict({
            p: ViewAdapter(config.num_views, config.dim, config.dropout, config.fusion_init) for p in config.paths
        })

    def forward(self, feats: dict[str, torch.Tensor]) -> torch.Tensor:
        """``feats[path]`` [B,V,D] -> L2-normalised [B,D]."""
        missing = [p for p in self.config.paths if p not in feats]
        if missing:
            raise ValueError(f"adapter paths {missing} have no features (got {sorted(feats)})")
        fused = torch.stack([self.adapters[p](feats[p]) for p in self.config.paths]).mean(dim=0)
        return F.normalize(fused, dim=-1)

    def logits(self, feats: dict[str, torch.Tensor], text_feats: torch.Tensor) -> torch.Tensor:
        """Cosine of the fused feature with each class's text feature, [B,C] (SPEC §7)."""
        return self(feats) @ text_feats.t()


# ---------------------------------------------------------------------------- checkpoints

ADAPTER_SCHEMA = "clip2point-dpa"
ADAPTER_SCHEMA_VERSION = 1


def save_adapter(path: str | Path, adapter: DualPathAdapter, meta: dict[str, Any]) -> Path:
    """The adapter's weights, its shape and ``meta`` (classes, prompt, encoder hashes, seed...)
    so ``--eval-only`` can rebuild it and refuse features from other encoders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"schema": ADAPTER_SCHEMA, "version": ADAPTER_SCHEMA_VERSION,
               "adapter_config": dataclasses.asdict(adapter.config), "state_dict": adapter.state_dict(),
               "meta": meta}
    return torch_save_atomic(payload, path)


def load_adapter(path: str | Path) -> tuple[DualPathAdapter, dict[str, Any]]:
    """Rebuild a saved adapter (eval mode) and return it with its ``meta``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "adapter checkpoint does not exist")
    payload = load_torch_file(path, what="adapter checkpoint")
    if not isinstance(payload, dict) or payload.get("schema") != ADAPTER_SCHEMA:
        raise CheckpointError(path, "not a few-shot adapter checkpoint (written by clip2point fewshot)")
    if payload.get("version") != ADAPTER_SCHEMA_VERSION:
        raise CheckpointError(path, f"adapter schema version {payload.get('version')} is not "
                                    f"{ADAPTER_SCHEMA_VERSION}; retrain it with this version")
    adapter = DualPathAdapter(AdapterConfig(**payload["adapter_config"]))
    try:
        adapter.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(path, f"weights do not fit the stored adapter shape ({exc})") from exc
    return adapter.eval(), payload["meta"]
