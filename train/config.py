"""Pre-training settings (SPEC §5 defaults), validated once with messages that say how to fix them."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

from clip2point.errors import ConfigError
from clip2point.train.precision import PRECISIONS
from clip2point.validation import check_choice, check_int, check_non_negative, check_positive, flag_of

OPTIMIZERS = ("lamb", "lamb-timm", "adamw")
NEGATIVES = ("per-device", "gathered")
PROMPT_SETS = ("reference", "project")
# A recipe is a group of defaults, each overridable by its own flag. "faithful" is the reference's
# training (torch_optimizer LAMB, fp32, each device's NT-Xent over its own share of the batch, as
# nn.DataParallel computes it); "improved" is the project's faster/larger-batch choices.
RECIPES: dict[str, dict[str, str]] = {
    "faithful": {"optimizer": "lamb", "precision": "fp32", "negatives": "per-device"},
    "improved": {"optimizer": "lamb-timm", "precision": "auto", "negatives": "gathered"},
}
# Reference choices the recipe does not switch (it has no improved alternative for them).
FAITHFUL_FIXED = {"eta_min": 1e-5, "val_views": 10, "val_prompts": "reference"}
SELECT_METRICS = ("auto", "val_top1", "modelnet40_top1", "val_retrieval_top1", "train_loss")

# Settings a resumed run may change: they do not alter the optimisation trajectory.
RESUME_FREE_FIELDS = frozenset({
    "shards", "out", "epochs", "max_steps", "num_workers", "checkpoint_every", "keep_last", "log_every",
    "val_shards", "modelnet40", "val_views", "val_points", "select_metric", "cache_image_features",
    "feature_cache_dir", "device", "progress", "resume", "recipe", "val_prompts",
})


def default_pretrained(model: str) -> str | None:
    """CLIP's ``openai`` weights, the paper's start; the package's tiny configs have none."""
    from clip2point.train.models import packaged_model_names

    return None if model in packaged_model_names() else "openai"


@dataclass(frozen=True)
class TrainConfig:
    """One pre-training run. ``batch_size`` is the global batch (all ranks, all accumulation steps).

    ``optimizer``, ``precision`` and ``negatives`` left as None take the ``recipe``'s value (resolved
    here, so config.json records what ran)."""

    shards: str
    out: str
    model: str = "ViT-B-32"
    pretrained: str | None = "auto"  # openai; seeded random (None) for the package's tiny configs
    recipe: str = "faithful"
    batch_size: int = 256
    epochs: int = 100
    max_steps: int | None = None  # stop early after this many optimiser steps (smoke runs)
    lr: float = 6e-3
    weight_decay: float = 1e-4
    optimizer: str | None = None  # recipe: lamb (torch_optimizer, faithful) / lamb-timm (improved)
    restart_epochs: float = 2.0  # cosine warm-restart period
    eta_min: float = 1e-5  # the reference's max(1e-2·1e-3, 1e-6)
    temperature: float = 0.07
    precision: str | None = None  # recipe: fp32 (faithful) / auto = bf16 on CUDA, fp32 on CPU (improved)
    negatives: str | None = None  # recipe: per-device (faithful, DataParallel) / gathered over ranks (improved)
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
    val_views: int | None = None  # the reference validates with 10 views (None: 10, or the preset's own count)
    val_prompts: str = "reference"  # the reference's class names; "project": the dataset's own names
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
        check_choice(self.recipe, "--recipe", tuple(RECIPES))
        for name, value in RECIPES[self.recipe].items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        if self.val_views is None:  # the reference's 10 where the preset has 10 cameras, else its own count
            from clip2point.render.cameras import default_view_count  # noqa: PLC0415

            object.__setattr__(self, "val_views", default_view_count(self.depth_preset, 10))
        for name in ("batch_size", "epochs", "accum_steps", "num_points", "checkpoint_every", "keep_last",
                     "log_every", "val_views", "val_points"):
            check_int(getattr(self, name), flag_of(name), low=1)
        for name in ("lr", "restart_epochs", "temperature"):
            check_positive(getattr(self, name), flag_of(name))
        check_choice(self.optimizer, "--optimizer", OPTIMIZERS)
        check_choice(self.precision, "--precision", PRECISIONS)
        check_choice(self.negatives, "--negatives", NEGATIVES)
        from clip2point.render.cameras import view_counts  # noqa: PLC0415  (the registry of camera sets)

        check_choice(self.val_views, "--val-views", view_counts())
        check_choice(self.val_prompts, "--val-prompts", PROMPT_SETS)
        check_choice(self.select_metric, "--select-metric", SELECT_METRICS)
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"max_steps must be >= 1 or unset; got {self.max_steps}")
        if not 0 <= self.dist_jitter < 1:
            raise ConfigError(f"dist_jitter must be in [0, 1) (a fraction of the camera distance); got {self.dist_jitter}")
        for name in ("weight_decay", "eta_min", "num_workers"):
            check_non_negative(getattr(self, name), flag_of(name))
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
        if self.negatives == "per-device" and per_rank < 2:
            raise ConfigError(
                f"--negatives per-device with global batch {self.batch_size} over {world_size} ranks x "
                f"{self.accum_steps} accumulation steps leaves {per_rank} object per loss; use a batch of at least "
                f"{2 * world_size * self.accum_steps} or --negatives gathered"
            )
        return per_rank

    def fidelity(self) -> dict[str, Any]:
        """What a result must say about how it was made: the recipe, each recipe choice, and every
        setting that departs from the reference (``faithful`` is True when none does)."""
        reference = {**RECIPES["faithful"], **FAITHFUL_FIXED}
        choices = {name: getattr(self, name) for name in reference}
        departures = sorted(name for name, value in choices.items() if value != reference[name])
        return {"recipe": self.recipe, "faithful": not departures, "departures": departures, "choices": choices}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown training settings {unknown}; this clip2point version does not know them")
        return cls(**data)


def upgrade_stored_config(stored: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's configuration in today's terms. Written before recipes existed (no
    ``negatives`` key), a run used timm's LAMB under the name ``lamb`` and gathered negatives, so
    it resumes as itself with ``--recipe improved --eta-min 1e-6`` and is never silently continued
    by another optimiser."""
    if "negatives" in stored:
        return stored
    upgraded = dict(stored, negatives="gathered", recipe="improved")
    if upgraded.get("optimizer") == "lamb":
        upgraded["optimizer"] = "lamb-timm"
    return upgraded


def resume_differences(stored: dict[str, Any], current: TrainConfig) -> list[str]:
    """Settings that differ between a checkpoint's run and this one and would change training."""
    stored = upgrade_stored_config(stored)
    now = current.to_dict()
    keys = sorted((set(stored) | set(now)) - RESUME_FREE_FIELDS)
    # A setting newer than the checkpoint counts as its default there: that is how it trained.
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.default is not dataclasses.MISSING}
    return [f"{k}: checkpoint {stored.get(k, defaults.get(k, '<absent>'))!r}, now {now.get(k, '<absent>')!r}"
            for k in keys if stored.get(k, defaults.get(k, "<absent>")) != now.get(k, "<absent>")]


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
