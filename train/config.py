"""Pre-training settings (SPEC §5 defaults), validated once with messages that say how to fix them."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

from clip2point.errors import ConfigError

OPTIMIZERS = ("lamb", "adamw")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
SELECT_METRICS = ("auto", "val_top1", "modelnet40_top1", "val_retrieval_top1", "train_loss")

# Settings a resumed run may change: they do not alter the optimisation trajectory.
RESUME_FREE_FIELDS = frozenset({
    "shards", "out", "epochs", "max_steps", "num_workers", "checkpoint_every", "keep_last", "log_every",
    "val_shards", "modelnet40", "val_views", "val_points", "select_metric", "cache_image_features",
    "feature_cache_dir", "device", "progress", "resume",
})


def default_pretrained(model: str) -> str | None:
    """CLIP's ``openai`` weights, the paper's start; the package's tiny configs have none."""
    from clip2point.train.models import packaged_model_names

    return None if model in packaged_model_names() else "openai"


@dataclass(frozen=True)
class TrainConfig:
    """One pre-training run. ``batch_size`` is the global batch (all ranks, all accumulation steps)."""

    shards: str
    out: str
    model: str = "ViT-B-32"
    pretrained: str | None = "auto"  # openai; seeded random (None) for the package's tiny configs
    batch_size: int = 256
    epochs: int = 100
    max_steps: int | None = None  # stop early after this many optimiser steps (smoke runs)
    lr: float = 6e-3
    weight_decay: float = 1e-4
    optimizer: str = "lamb"
    restart_epochs: float = 2.0  # cosine warm-restart period
    eta_min: float = 1e-6
    temperature: float = 0.07
    precision: str = "auto"  # bf16 on CUDA, fp32 on CPU
    accum_steps: int = 1
    num_points: int = 1024
    dist_jitter: float = 0.1
    depth_preset: str = "clip2point"
    seed: int = 0
    deterministic: bool = False
    # DataLoader processes; more than the cores only adds contention (the loader is light).
    num_workers: int = dataclasses.field(default_factory=lambda: min(4, os.cpu_count() or 1))
    checkpoint_every: int = 500  # optimiser steps; also at each epoch end
    keep_last: int = 3
    log_every: int = 10
    val_shards: str | None = None
    val_split: str = "test"
    modelnet40: str | None = None
    val_views: int = 6
    val_points: int = 1024
    select_metric: str = "auto"  # val_top1 with --val-shards, else train_loss
    cache_image_features: bool = False
    require_textures: bool = False  # leave out objects whose texture the shards lost (texture_status)
    feature_cache_dir: str | None = None  # default RUN/feature_cache
    device: str | None = None  # default: cuda:LOCAL_RANK when available, else cpu
    progress: bool = True
    resume: str | None = None  # None, "auto" or a checkpoint path

    def __post_init__(self) -> None:
        if self.pretrained == "auto":  # resolved here so config.json records the weights actually used
            object.__setattr__(self, "pretrained", default_pretrained(self.model))
        _positive(self, "batch_size", "epochs", "accum_steps", "num_points", "checkpoint_every", "keep_last",
                  "log_every", "val_views", "val_points")
        _positive_float(self, "lr", "restart_epochs", "temperature")
        _choice(self, "optimizer", OPTIMIZERS)
        _choice(self, "precision", PRECISIONS)
        _choice(self, "select_metric", SELECT_METRICS)
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"max_steps must be >= 1 or unset; got {self.max_steps}")
        if not 0 <= self.dist_jitter < 1:
            raise ConfigError(f"dist_jitter must be in [0, 1) (a fraction of the camera distance); got {self.dist_jitter}")
        _non_negative(self, "weight_decay", "eta_min", "num_workers")
        if self.eta_min >= self.lr:
            raise ConfigError(f"--eta-min ({self.eta_min}) must be below --lr ({self.lr})")
        if self.batch_size % self.accum_steps:
            raise ConfigError(
                f"batch_size {self.batch_size} is not divisible by accum_steps {self.accum_steps}; "
                "pick a batch size that is a multiple of the accumulation steps"
            )
        _check_contrastive_batch(self.batch_size, self.accum_steps)
        if self.select_metric == "modelnet40_top1" and not self.modelnet40:
            raise ConfigError("--select-metric modelnet40_top1 needs --modelnet40 PATH")
        if self.select_metric in ("val_top1", "val_retrieval_top1") and not self.val_shards:
            raise ConfigError(f"--select-metric {self.select_metric} needs --val-shards PATH")
        if self.val_shards or self.modelnet40:  # zero-shot validation draws from the preset's own cameras
            from clip2point.render.cameras import get_view_preset  # noqa: PLC0415

            try:
                get_view_preset(self.val_views, self.depth_preset)
            except ConfigError as exc:
                raise ConfigError(f"--val-views {self.val_views} with depth preset {self.depth_preset}: {exc}") from None

    @property
    def selection_metric(self) -> str:
        """The metric that picks ``best.pt`` (higher is better, except ``train_loss``)."""
        if self.select_metric != "auto":
            return self.select_metric
        return "val_top1" if self.val_shards else "train_loss"

    def micro_batch(self, world_size: int) -> int:
        """Objects per rank per forward pass; the global batch must split evenly."""
        per_rank, rest = divmod(self.batch_size, world_size * self.accum_steps)
        if rest or per_rank < 1:
            raise ConfigError(
                f"global batch {self.batch_size} does not split into {world_size} ranks x "
                f"{self.accum_steps} accumulation steps; use a multiple of {world_size * self.accum_steps}"
            )
        return per_rank

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown training settings {unknown}; this clip2point version does not know them")
        return cls(**data)


def resume_differences(stored: dict[str, Any], current: TrainConfig) -> list[str]:
    """Settings that differ between a checkpoint's run and this one and would change training."""
    now = current.to_dict()
    keys = sorted((set(stored) | set(now)) - RESUME_FREE_FIELDS)
    # A setting newer than the checkpoint counts as its default there: that is how it trained.
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.default is not dataclasses.MISSING}
    return [f"{k}: checkpoint {stored.get(k, defaults.get(k, '<absent>'))!r}, now {now.get(k, '<absent>')!r}"
            for k in keys if stored.get(k, defaults.get(k, "<absent>")) != now.get(k, "<absent>")]


def _positive(cfg: TrainConfig, *names: str) -> None:
    for name in names:
        value = getattr(cfg, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{name} must be a positive integer; got {value!r}")


def _non_negative(cfg: TrainConfig, *names: str) -> None:
    """Each setting is a number >= 0 (NaN fails too); the message names the command-line flag."""
    for name in names:
        value = getattr(cfg, name)
        if not value >= 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 0; got {value!r}")


def _check_contrastive_batch(batch_size: int, accum_steps: int) -> None:
    """Refuse a loss batch below 2 objects: NT-Xent's negatives are the other objects of the batch.

    Each loss call sees batch_size / accum_steps objects (ranks gather their features, so the
    number of GPUs does not matter; one object per GPU is fine). With one object the only
    candidate is its own partner: the loss is a constant 0 and nothing is learned.
    """
    per_loss = batch_size // accum_steps
    if per_loss >= 2:
        return
    given = f"--batch-size {batch_size}" + (f" with --accum-steps {accum_steps}" if accum_steps > 1 else "")
    raise ConfigError(f"{given} leaves {per_loss} object per loss batch; the contrastive loss needs at least 2 "
                      "(the other objects are its negatives), with 1 it is constant and nothing is learned")


def _positive_float(cfg: TrainConfig, *names: str) -> None:
    for name in names:
        if not getattr(cfg, name) > 0:
            raise ConfigError(f"{name} must be > 0; got {getattr(cfg, name)!r}")


def _choice(cfg: TrainConfig, name: str, options: tuple[str, ...]) -> None:
    if getattr(cfg, name) not in options:
        raise ConfigError(f"{name} must be one of {', '.join(options)}; got {getattr(cfg, name)!r}")
