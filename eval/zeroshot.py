"""Zero-shot classification of point clouds (SPEC §6).

Prompts "image of a {class}" (underscores → spaces) give L2-normalised text features; each
cloud is normalised into the unit sphere, rotated into ShapeNet's frame when it comes from a
z-up source, projected into V depth views, encoded, and scored by the sum over views of the
cosine with each class: logits = Σ_v cos(f_v, t_c). With a checkpoint the trained depth tower
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
from clip2point.eval.encoders import Encoders, load_encoders, text_features
from clip2point.eval.evalsets import data_record, load_eval_split
from clip2point.eval.features import FeatureStore, prepare_points
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


@dataclass(frozen=True)
class ZeroShotResult:
    report: ClassificationReport
    logits: np.ndarray  # [N,C] view-summed cosines
    object_ids: tuple[str, ...]
    path: str  # which visual tower scored: "pretrained" or "clip"
    data: dict[str, Any] = field(default_factory=dict)  # dataset, variant, split, source (evalsets.data_record)


def zero_shot_logits(view_feats: torch.Tensor, text_feats: torch.Tensor) -> torch.Tensor:
    """[N,V,D] L2-normalised view features × [C,D] text features → [N,C] summed cosines."""
    from clip2point.train.encoding import view_summed_logits  # noqa: PLC0415

    return view_summed_logits(view_feats, text_feats)


def classify(encoder: nn.Module, encoder_id: str, pointset: PointSet, text_feats: torch.Tensor, views: ViewSettings,
             *, align: str = "auto", device: str = "cpu", store: FeatureStore | None = None) -> torch.Tensor:
    """Logits [N,C] of every cloud of ``pointset`` (the testable core: any encoder works)."""
    store = store or FeatureStore()
    points = prepare_points(pointset, align)
    feats = store.features({"scoring": (encoder, encoder_id)}, points, views, device)["scoring"]
    return zero_shot_logits(feats, text_feats)


def scoring_path(encoder: EncoderSettings) -> str:
    return "pretrained" if encoder.ckpt is not None else "clip"


def run_zeroshot(config: ZeroShotConfig, *, encoders: Encoders | None = None,
                 store: FeatureStore | None = None) -> ZeroShotResult:
    """Load the split, the encoder and the prompts, and score every object."""
    path = scoring_path(config.encoder)
    encoders = encoders or load_encoders(config.encoder, (path,))
    pointset = load_eval_split(config.data, config.split)
    log.info("%s %s: %d objects, %d classes, frame %s", pointset.name, pointset.split, len(pointset),
             len(pointset.class_names), pointset.frame)
    texts = text_features(encoders, pointset.class_names, config.prompt)
    logits = classify(encoders.visual[path], encoders.ids[path], pointset, texts, config.views,
                      align=config.data.align, device=config.encoder.device,
                      store=store or FeatureStore(config.data.cache_dir))
    report = classification_report_from_logits(logits.numpy(), pointset.labels, pointset.class_names, config.topk)
    return ZeroShotResult(report, logits.numpy(), pointset.object_ids, path, data_record(config.data, config.split,
                                                                                         pointset))
