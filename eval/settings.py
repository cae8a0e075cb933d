"""Settings shared by zero-shot and few-shot evaluation: which data, which encoders, which
views. Frozen and validated here so a bad value fails before any data is read or model built."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from clip2point.datasets.pointsets import DATASETS, PointSetOptions
from clip2point.datasets.prompts import PROMPT_SETS
from clip2point.errors import ConfigError
from clip2point.render.cameras import get_view_preset
from clip2point.render.depth import get_depth_preset
from clip2point.validation import check_choice, check_image_size, check_int

ALIGN_MODES = ("auto", "yes", "no")
# The reference's evaluation (zeroshot.py / fewshot.py): its class lists, its template, fp32 CLIP.
REFERENCE_EVALUATION = {"prompts": "reference", "template": "image of a {}", "precision": "fp32"}


@dataclass(frozen=True)
class DataSettings:
    """``align``: "auto" rotates z-up sources (ModelNet meshes) into ShapeNet's frame (SPEC §6);
    "yes"/"no" force it, for sources whose frame the loader cannot know. ``prompts``: which class
    names fill the prompt (``datasets.prompts``: the reference's lists, or the labels' own names)."""

    dataset: str
    data: Path
    num_points: int = 1024
    seed: int = 0
    sampler: str = "open3d"
    align: str = "auto"
    cache_dir: Path | None = None
    workers: int = 1
    prompts: str = "reference"
    variant: str | None = None  # ScanObjectNN's obj_only / obj_bg / pb_t50_rs (datasets.scanobjectnn.VARIANTS)
    force_variant: bool = False  # use a file whose name says another variant

    def __post_init__(self) -> None:
        check_choice(self.prompts, "--prompts", PROMPT_SETS)
        self._check_variant()
        check_choice(self.dataset, "--dataset", DATASETS)
        check_choice(self.align, "--align", ALIGN_MODES)
        object.__setattr__(self, "data", Path(self.data))
        self.pointset_options()  # validates num_points, sampler, workers

    def _check_variant(self) -> None:
        from clip2point.datasets.scanobjectnn import VARIANTS  # noqa: PLC0415

        if self.variant is not None and self.dataset != "scanobjectnn":
            raise ConfigError(f"--variant {self.variant} applies to --dataset scanobjectnn only, not {self.dataset}")
        if self.variant is not None:
            check_choice(self.variant, "--variant", VARIANTS)
        if self.force_variant and self.variant is None:
            raise ConfigError("--force-variant needs --variant: it says which variant a differently named file is")

    def pointset_options(self) -> PointSetOptions:
        return PointSetOptions(num_points=self.num_points, seed=self.seed, sampler=self.sampler,
                               cache_dir=self.cache_dir, workers=self.workers)


@dataclass(frozen=True)
class EncoderSettings:
    """``ckpt`` is a pre-training checkpoint (the trained depth tower); without it the plain
    CLIP visual tower of ``model``/``pretrained`` is evaluated (the paper's baseline).
    ``precision``: the encoders' autocast (``train.precision``); fp32 is the reference's."""

    model: str = "ViT-B-32"
    pretrained: str | None = None
    ckpt: Path | None = None
    device: str = "cpu"
    precision: str = "fp32"

    @property
    def resolved_precision(self) -> str:
        """``precision`` with ``auto`` resolved for ``device`` (what the encoders actually run in)."""
        from clip2point.train.precision import resolve_precision  # noqa: PLC0415

        return resolve_precision(self.precision, self.device)

    def __post_init__(self) -> None:
        self.resolved_precision  # noqa: B018  (validates: a bad --precision fails before any model is built)
        if self.ckpt is not None and self.pretrained is not None:
            # Loading the checkpoint would silently ignore the weights the user named.
            raise ConfigError(f"--pretrained {self.pretrained} cannot be used with --ckpt {self.ckpt}: a checkpoint "
                              "records its own base CLIP weights and uses those; leave --pretrained out")
        if self.ckpt is not None:
            object.__setattr__(self, "ckpt", Path(self.ckpt))
            if not self.ckpt.is_file():
                what = "is a folder, not a checkpoint file" if self.ckpt.is_dir() else "does not exist"
                raise ConfigError(f"checkpoint {self.ckpt} {what}; pass RUN/checkpoints/best.pt")


@dataclass(frozen=True)
class ViewSettings:
    """Views rendered per object (a camera set of the depth preset: ``cameras.CAMERA_SETS``),
    depth preset, encoder batch (objects)."""

    num_views: int = 6
    preset: str = "clip2point"
    image_size: int | None = None
    batch_size: int = 32

    def __post_init__(self) -> None:
        get_depth_preset(self.preset)  # unknown names list the valid ones
        try:
            get_view_preset(self.num_views, self.preset)
        except ConfigError as exc:
            raise ConfigError(f"--views {self.num_views} with --preset {self.preset}: {exc}") from None
        check_int(self.batch_size, "--batch-size", low=1)
        if self.image_size is not None:
            check_image_size(self.image_size, "--image-size")


def evaluation_fidelity(data: DataSettings, encoder: EncoderSettings,
                        template: str | Sequence[str]) -> dict[str, object]:
    """How an evaluation departs from the reference's (recorded in every result JSON): the choices
    that matter for the score and the names of those that differ. ``template``: one, or the
    templates of an ensemble (a set other than the reference's single template is a departure)."""
    if not isinstance(template, str):
        template = template[0] if len(template) == 1 else list(template)
    choices = {"prompts": data.prompts, "template": template, "precision": encoder.precision}
    departures = sorted(k for k, v in choices.items() if v != REFERENCE_EVALUATION[k])
    return {"faithful": not departures, "departures": departures, "choices": choices}
