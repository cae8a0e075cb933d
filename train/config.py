"""One pre-training run's settings (SPEC §5 defaults): the groups of ``train.settings`` nested in a
frozen ``TrainConfig``, the ``--recipe`` resolved in one place, and the flat form the run folder stores.

``config.json`` and every checkpoint record the configuration flat, one key per flag (``val_views``,
``lr``, ...), as they always have: ``TrainConfig.to_dict`` flattens the groups and
``TrainConfig.from_dict`` splits such a mapping again, so runs written before the groups existed
resume unchanged, and the resume rules below compare settings by those keys.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from clip2point.errors import ConfigError
from clip2point.train.precision import PRECISIONS
from clip2point.train.settings import (NEGATIVES, OPTIMIZERS, PROMPT_SETS, SELECT_METRICS, CheckpointSettings,
                                       DataSettings, ModelSettings, OptimSettings, RuntimeSettings, ValidationSettings,
                                       default_pretrained)
from clip2point.validation import check_choice

__all__ = ["NEGATIVES", "OPTIMIZERS", "PRECISIONS", "PROMPT_SETS", "SELECT_METRICS", "RECIPES", "FAITHFUL_FIXED",
           "RESUME_FREE_FIELDS", "TrainConfig", "default_pretrained", "flat_defaults", "resume_differences",
           "upgrade_stored_config"]

# A recipe is a group of defaults, each overridable by its own flag. "faithful" is the reference's
# training (torch_optimizer LAMB, fp32, each device's NT-Xent over its own share of the batch, as
# nn.DataParallel computes it); "improved" is the project's faster/larger-batch choices.
RECIPES: dict[str, dict[str, str]] = {
    "faithful": {"optimizer": "lamb", "precision": "fp32", "negatives": "per-device"},
    "improved": {"optimizer": "lamb-timm", "precision": "auto", "negatives": "gathered"},
}
# Reference choices the recipe does not switch (it has no improved alternative for them).
FAITHFUL_FIXED = {"eta_min": 1e-5, "val_views": 10, "val_prompts": "reference"}

# Settings a resumed run may change: they do not alter the optimisation trajectory.
RESUME_FREE_FIELDS = frozenset({
    "shards", "out", "epochs", "max_steps", "num_workers", "checkpoint_every", "keep_last", "log_every",
    "val_shards", "modelnet40", "val_views", "val_points", "select_metric", "cache_image_features",
    "feature_cache_dir", "device", "progress", "resume", "recipe", "val_prompts",
})

# The groups, by the TrainConfig field that holds each.
GROUPS: dict[str, type] = {"data": DataSettings, "model": ModelSettings, "optim": OptimSettings,
                           "validation": ValidationSettings, "checkpoint": CheckpointSettings,
                           "runtime": RuntimeSettings}
# Which group each flat key (flag name with underscores) belongs to.
_GROUP_OF: dict[str, str] = {f.name: group for group, cls in GROUPS.items() for f in dataclasses.fields(cls)}
_RECIPE_GROUP = {"optimizer": "optim", "negatives": "optim", "precision": "runtime"}


def flat_defaults() -> dict[str, Any]:
    """Each flat setting's default (required ones, ``shards`` and ``out``, left out), as the CLI shows them."""
    defaults: dict[str, Any] = {"recipe": "faithful"}
    for cls in GROUPS.values():
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                defaults[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:
                defaults[f.name] = f.default_factory()
    return defaults


@dataclass(frozen=True)
class TrainConfig:
    """One pre-training run: the settings groups and the ``recipe``. ``optimizer``, ``precision`` and
    ``negatives`` left as None take the recipe's value, and ``val_views`` the depth preset's default;
    both are resolved here, so config.json records what ran. ``from_flat(shards=..., out=..., lr=...)``
    builds one from flag-named settings."""

    data: DataSettings
    checkpoint: CheckpointSettings
    model: ModelSettings = dataclasses.field(default_factory=ModelSettings)
    optim: OptimSettings = dataclasses.field(default_factory=OptimSettings)
    validation: ValidationSettings = dataclasses.field(default_factory=ValidationSettings)
    runtime: RuntimeSettings = dataclasses.field(default_factory=RuntimeSettings)
    recipe: str = "faithful"

    def __post_init__(self) -> None:
        check_choice(self.recipe, "--recipe", tuple(RECIPES))
        for name, value in RECIPES[self.recipe].items():
            group = getattr(self, _RECIPE_GROUP[name])
            if getattr(group, name) is None:
                object.__setattr__(self, _RECIPE_GROUP[name], dataclasses.replace(group, **{name: value}))
        val = self.validation
        if val.val_views is None:  # the reference's 10 where the preset has 10 cameras, else its own count
            from clip2point.render.cameras import default_view_count  # noqa: PLC0415

            val = dataclasses.replace(val, val_views=default_view_count(self.data.depth_preset, 10))
            object.__setattr__(self, "validation", val)
        if val.enabled:  # zero-shot validation draws from the preset's own cameras
            from clip2point.render.cameras import get_view_preset  # noqa: PLC0415

            try:
                get_view_preset(val.val_views, self.data.depth_preset)
            except ConfigError as exc:
                raise ConfigError(f"--val-views {val.val_views} with depth preset {self.data.depth_preset}: "
                                  f"{exc}") from None

    @classmethod
    def from_flat(cls, **settings: Any) -> "TrainConfig":
        """The config of flag-named settings (``lr=1e-3``, ``val_views=6``); an unknown name is refused."""
        unknown = sorted(set(settings) - set(_GROUP_OF) - {"recipe"})
        if unknown:
            raise ConfigError(f"unknown training settings {unknown}; this clip2point version does not know them")
        grouped: dict[str, dict[str, Any]] = {group: {} for group in GROUPS}
        for name, value in settings.items():
            if name != "recipe":
                grouped[_GROUP_OF[name]][name] = value
        for group, required in (("data", "shards"), ("checkpoint", "out")):
            if required not in grouped[group]:
                raise ConfigError(f"--{required} is required")
        groups = {group: GROUPS[group](**values) for group, values in grouped.items()}
        return cls(**groups, **({"recipe": settings["recipe"]} if "recipe" in settings else {}))

    def override(self, **settings: Any) -> "TrainConfig":
        """This config with some flag-named settings changed (the rest as resolved here)."""
        return TrainConfig.from_flat(**{**self.to_dict(), **settings})

    def fidelity(self) -> dict[str, Any]:
        """What a result must say about how it was made: the recipe, each recipe choice, and every
        setting that departs from the reference (``faithful`` is True when none does)."""
        reference = {**RECIPES["faithful"], **FAITHFUL_FIXED}
        flat = self.to_dict()
        choices = {name: flat[name] for name in reference}
        departures = sorted(name for name, value in choices.items() if value != reference[name])
        return {"recipe": self.recipe, "faithful": not departures, "departures": departures, "choices": choices}

    def to_dict(self) -> dict[str, Any]:
        """The flat form config.json and checkpoints store: one key per flag."""
        flat: dict[str, Any] = {"recipe": self.recipe}
        for group in GROUPS:
            flat.update(dataclasses.asdict(getattr(self, group)))
        return flat

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        """The config a run folder's flat record describes (``to_dict``'s inverse)."""
        return cls.from_flat(**data)


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
    defaults = {"recipe": "faithful", **{f.name: f.default for cls in GROUPS.values() for f in dataclasses.fields(cls)
                                         if f.default is not dataclasses.MISSING}}
    return [f"{k}: checkpoint {stored.get(k, defaults.get(k, '<absent>'))!r}, now {now.get(k, '<absent>')!r}"
            for k in keys if stored.get(k, defaults.get(k, "<absent>")) != now.get(k, "<absent>")]
