"""Zero-shot classification of point clouds (SPEC §6).

Prompts "image of a {class}" (or a template ensemble, ``datasets.prompt_templates``) with the
reference's class names (``datasets.prompts``) give L2-normalised text features, computed once per
(templates, names, text weights) by the ``FeatureStore``; each cloud goes through the package's one scoring path
(``train.encoding.zero_shot_logits``, also pre-training's validation): normalised into the unit
sphere, rotated into ShapeNet's frame when it comes from a z-up source, projected into V depth
views, encoded, and scored by the sum over views of the cosine with each class:
logits = Σ_v cos(f_v, t_c). With a checkpoint the trained depth tower
encodes the views; without one, CLIP's own visual tower does (the paper's baseline).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from clip2point.datasets.pointsets import PointSet
from clip2point.datasets.prompt_templates import TemplateSet, scored_templates
from clip2point.datasets.prompts import prompt_class_names
from clip2point.eval.encoders import Encoders, load_encoders, text_features
from clip2point.eval.evalsets import data_record, load_eval_split
from clip2point.eval.features import FeatureStore, should_align
from clip2point.eval.report import DEFAULT_TOPK, ClassificationReport, classification_report_from_logits
from clip2point.eval.settings import DataSettings, EncoderSettings, ViewSettings

log = logging.getLogger(__name__)

DEFAULT_PROMPT = "image of a {}"


@dataclass(frozen=True)
class ZeroShotConfig:
    data: DataSettings
    encoder: EncoderSettings
    views: ViewSettings = ViewSettings()
    prompt: str = DEFAULT_PROMPT
    split: str = "test"  # train, test or all (train + test)
    topk: tuple[int, ...] = DEFAULT_TOPK  # top-k accuracies reported beside top-1
    templates: TemplateSet | None = None  # a prompt ensemble (--templates); None: the one ``prompt``

    def template_set(self) -> TemplateSet:
        """The templates scored with: ``templates``, or ``prompt`` as a set of one."""
        return scored_templates(self.prompt, self.templates)


@dataclass(frozen=True)
class ZeroShotResult:
    report: ClassificationReport
    logits: np.ndarray  # [N,C] view-summed cosines
    object_ids: tuple[str, ...]
    path: str  # which visual tower scored: "pretrained" or "clip"
    data: dict[str, Any] = field(default_factory=dict)  # dataset, variant, split, source (evalsets.data_record)


def classify(encoder: nn.Module, encoder_id: str, pointset: PointSet, text_feats: torch.Tensor, views: ViewSettings,
             *, align: str = "auto", device: str = "cpu", precision: str = "fp32",
             store: FeatureStore | None = None) -> torch.Tensor:
    """Logits [N,C] of every cloud of ``pointset`` through the package's one scoring path
    (``train.encoding.zero_shot_logits``, also used by pre-training's validation), with view
    features cached by ``store``. ``precision`` is a resolved one."""
    from clip2point.train.encoding import zero_shot_logits  # noqa: PLC0415

    store = store or FeatureStore()

    def cached(prepared: torch.Tensor) -> torch.Tensor:
        return store.features({"scoring": (encoder, encoder_id)}, prepared, views, device, precision)["scoring"]

    return zero_shot_logits(encoder, torch.from_numpy(pointset.points), text_feats, views.num_views,
                            align=should_align(pointset, align), features=cached)


def scoring_path(encoder: EncoderSettings) -> str:
    return "pretrained" if encoder.ckpt is not None else "clip"


def run_zeroshot(config: ZeroShotConfig, *, encoders: Encoders | None = None,
                 store: FeatureStore | None = None) -> ZeroShotResult:
    """Load the split, the encoder and the prompts, and score every object."""
    path = scoring_path(config.encoder)
    encoders = encoders or load_encoders(config.encoder, (path,))
    store = store or FeatureStore(config.data.cache_dir)
    pointset = load_eval_split(config.data, config.split)
    log.info("%s %s: %d objects, %d classes, frame %s", pointset.name, pointset.split, len(pointset),
             len(pointset.class_names), pointset.frame)
    names = prompt_class_names(config.data.dataset, pointset.class_names, config.data.prompts)
    texts = text_features(encoders, names, config.template_set().templates, store)
    logits = classify(encoders.visual[path], encoders.ids[path], pointset, texts, config.views,
                      align=config.data.align, device=config.encoder.device,
                      precision=config.encoder.resolved_precision, store=store)
    report = classification_report_from_logits(logits.numpy(), pointset.labels, pointset.class_names, config.topk)
    if report.classes_without_objects:
        log.warning("%d of the %d classes have no %s objects (scored against all the same): %s",
                    len(report.classes_without_objects), len(report.class_names), config.split,
                    ", ".join(report.classes_without_objects))
    data = {**data_record(config.data, config.split, pointset), "templates": config.template_set().record()}
    return ZeroShotResult(report, logits.numpy(), pointset.object_ids, path, data)
