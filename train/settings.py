"""The groups of a pre-training run's settings, each frozen and validated once in its own
``__post_init__`` with messages that name the flag a user typed.

Every field keeps the name of its ``pretrain`` flag (``val_views`` ↔ ``--val-views``) and its key in
the run's flat ``config.json``, so one name follows a setting from the command line to the
checkpoint; names are unique across the groups (``config.TrainConfig`` flattens them at the
boundary). Functions take the group they use: the step the ``DataSettings``, the optimiser the
``OptimSettings``, the validator the ``ValidationSettings``.

Settings the ``--recipe`` chooses (``optimizer``, ``negatives``, ``precision``) and the default
``val_views`` (which depends on the depth preset) may be None here: ``TrainConfig`` resolves them,
in one place, and the group is validated again with the resolved value.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from clip2point.errors import ConfigError
from clip2point.train.precision import PRECISIONS
from clip2point.validation import (check_choice, check_int, check_non_negative, check_positive, check_range,
                                   flag_of)

OPTIMIZERS = ("lamb", "lamb-timm", "adamw")
NEGATIVES = ("per-device", "gathered")
PROMPT_SETS = ("reference", "project")
SELECT_METRICS = ("auto", "val_top1", "modelnet40_top1", "val_retrieval_top1", "train_loss")


def default_pretrained(model: str) -> str | None:
    """CLIP's ``openai`` weights, the paper's start; the package's tiny configs have none."""
    from clip2point.train.models import packaged_model_names  # noqa: PLC0415

    return None if model in packaged_model_names() else "openai"


def _check_ints(settings: object, names: tuple[str, ...], low: int = 1) -> None:
    for name in names:
        check_int(getattr(settings, name), flag_of(name), low=low)


@dataclass(frozen=True)
class DataSettings:
    """What the step draws from the shards and how it turns a cloud into depth pictures."""

    shards: str
    require_textures: bool = False  # leave out objects whose texture the shards lost (texture_status)
    num_points: int = 1024
    dist_jitter: float = 0.1
    depth_preset: str = "clip2point"

    def __post_init__(self) -> None:
        _check_ints(self, ("num_points",))
        check_range(self.dist_jitter, "--dist-jitter", low=0, high=1, high_open=True,
                    hint="a fraction of the camera distance")


@dataclass(frozen=True)
class ModelSettings:
    """The open_clip model and the weights both towers start from."""

    model: str = "ViT-B-32"
    pretrained: str | None = "auto"  # openai; seeded random (None) for the package's tiny configs

    def __post_init__(self) -> None:
        if self.pretrained == "auto":  # resolved here so config.json records the weights actually used
            object.__setattr__(self, "pretrained", default_pretrained(self.model))


@dataclass(frozen=True)
class OptimSettings:
    """The optimisation trajectory: batch, schedule, optimiser, loss and the seed of every draw.
    ``batch_size`` is the global batch (all ranks, all accumulation steps)."""

    batch_size: int = 256
    accum_steps: int = 1
    epochs: int = 100
    max_steps: int | None = None  # stop early after this many optimiser steps (smoke runs)
    lr: float = 6e-3
    weight_decay: float = 1e-4
    optimizer: str | None = None  # recipe: lamb (torch_optimizer, faithful) / lamb-timm (improved)
    negatives: str | None = None  # recipe: per-device (faithful, DataParallel) / gathered over ranks (improved)
    restart_epochs: float = 2.0  # cosine warm-restart period
    eta_min: float = 1e-5  # the reference's max(1e-2·1e-3, 1e-6)
    temperature: float = 0.07
    seed: int = 0

    def __post_init__(self) -> None:
        _check_ints(self, ("batch_size", "epochs", "accum_steps"))
        if self.max_steps is not None:
            check_int(self.max_steps, "--max-steps", low=1, hint="leave it out to run every epoch")
        for name in ("lr", "restart_epochs", "temperature"):
            check_positive(getattr(self, name), flag_of(name))
        for name in ("weight_decay", "eta_min"):
            check_non_negative(getattr(self, name), flag_of(name))
        if self.optimizer is not None:
            check_choice(self.optimizer, "--optimizer", OPTIMIZERS)
        if self.negatives is not None:
            check_choice(self.negatives, "--negatives", NEGATIVES)
        if self.eta_min >= self.lr:
            raise ConfigError(f"--eta-min ({self.eta_min}) must be below --lr ({self.lr})")
        if self.batch_size % self.accum_steps:
            raise ConfigError(f"--batch-size {self.batch_size} is not divisible by --accum-steps {self.accum_steps}; "
                              "pick a batch size that is a multiple of the accumulation steps")
        _check_contrastive_batch(self.batch_size, self.accum_steps)

    def micro_batch(self, world_size: int) -> int:
        """Objects per rank per forward pass; the global batch must split evenly."""
        per_rank, rest = divmod(self.batch_size, world_size * self.accum_steps)
        if rest or per_rank < 1:
            raise ConfigError(
                f"global batch {self.batch_size} does not split into {world_size} ranks x "
                f"{self.accum_steps} accumulation steps; use a multiple of {world_size * self.accum_steps}"
            )
        if self.negatives == "per-device" and per_rank < 2:
            raise ConfigError(
                f"--negatives per-device with global batch {self.batch_size} over {world_size} ranks x "
                f"{self.accum_steps} accumulation steps leaves {per_rank} object per loss; use a batch of at least "
                f"{2 * world_size * self.accum_steps} or --negatives gathered"
            )
        return per_rank


@dataclass(frozen=True)
class ValidationSettings:
    """Zero-shot and retrieval validation after each epoch, and the metric that picks ``best.pt``."""

    val_shards: str | None = None
    val_split: str = "test"
    modelnet40: str | None = None
    val_views: int | None = None  # the reference validates with 10 views (None: 10, or the preset's own count)
    val_prompts: str = "reference"  # the reference's class names; "project": the dataset's own names
    val_points: int = 1024
    select_metric: str = "auto"  # val_top1 with --val-shards, else train_loss

    def __post_init__(self) -> None:
        _check_ints(self, ("val_points",))
        if self.val_views is not None:
            from clip2point.render.cameras import view_counts  # noqa: PLC0415  (the registry of camera sets)

            check_choice(self.val_views, "--val-views", view_counts())
        check_choice(self.val_prompts, "--val-prompts", PROMPT_SETS)
        check_choice(self.select_metric, "--select-metric", SELECT_METRICS)
        if self.select_metric == "modelnet40_top1" and not self.modelnet40:
            raise ConfigError("--select-metric modelnet40_top1 needs --modelnet40 PATH")
        if self.select_metric in ("val_top1", "val_retrieval_top1") and not self.val_shards:
            raise ConfigError(f"--select-metric {self.select_metric} needs --val-shards PATH")

    @property
    def enabled(self) -> bool:
        """Whether any held-out set is scored (zero-shot draws from the depth preset's cameras)."""
        return bool(self.val_shards or self.modelnet40)

    @property
    def selection_metric(self) -> str:
        """The metric that picks ``best.pt`` (higher is better, except ``train_loss``)."""
        if self.select_metric != "auto":
            return self.select_metric
        return "val_top1" if self.val_shards else "train_loss"


@dataclass(frozen=True)
class CheckpointSettings:
    """The run folder and what is written into it, and where a resumed run continues from."""

    out: str
    resume: str | None = None  # None, "auto" or a checkpoint path
    checkpoint_every: int = 500  # optimiser steps; also at each epoch end
    keep_last: int = 3
    log_every: int = 10

    def __post_init__(self) -> None:
        _check_ints(self, ("checkpoint_every", "keep_last", "log_every"))


@dataclass(frozen=True)
class RuntimeSettings:
    """How this machine runs the step: device, precision, loader processes, the feature cache."""

    device: str | None = None  # default: cuda:LOCAL_RANK when available, else cpu
    precision: str | None = None  # recipe: fp32 (faithful) / auto = bf16 on CUDA, fp32 on CPU (improved)
    deterministic: bool = False
    # DataLoader processes; more than the cores only adds contention (the loader is light).
    num_workers: int = dataclasses.field(default_factory=lambda: min(4, os.cpu_count() or 1))
    progress: bool = True
    cache_image_features: bool = False
    feature_cache_dir: str | None = None  # default RUN/feature_cache

    def __post_init__(self) -> None:
        check_non_negative(self.num_workers, "--num-workers")
        if self.precision is not None:
            check_choice(self.precision, "--precision", PRECISIONS)


def _check_contrastive_batch(batch_size: int, accum_steps: int) -> None:
    """Refuse a loss batch below 2 objects: NT-Xent's negatives are the other objects of the batch.

    Each loss call sees batch_size / accum_steps objects when ranks gather their features
    (``--negatives gathered``); per-device losses see a rank's share, checked in ``micro_batch``
    once the world size is known. With one object the only candidate is its own partner: the
    loss is a constant 0 and nothing is learned.
    """
    per_loss = batch_size // accum_steps
    if per_loss >= 2:
        return
    given = f"--batch-size {batch_size}" + (f" with --accum-steps {accum_steps}" if accum_steps > 1 else "")
    raise ConfigError(f"{given} leaves {per_loss} object per loss batch; the contrastive loss needs at least 2 "
                      "(the other objects are its negatives), with 1 it is constant and nothing is learned")
