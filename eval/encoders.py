"""The frozen encoders an evaluation uses and the class text features.

Two visual paths exist: "clip", the original CLIP visual tower, and "pretrained", the depth
tower of a pre-training checkpoint. Plain zero-shot CLIP (the paper's baseline) needs no
checkpoint; the pre-trained path does, and asking for it without one is a configuration error
rather than a silent fall-back to CLIP, which would report CLIP's number under our name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from clip2point.errors import ConfigError
from clip2point.eval.features import FeatureStore
from clip2point.eval.settings import EncoderSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Encoders:
    """``visual[path]`` is a frozen [B,3,H,W]→[B,D] module; ``ids[path]`` its weights hash."""

    bundle: object  # clip2point.train.models.ClipBundle (text tower + tokenizer)
    visual: dict[str, nn.Module]
    ids: dict[str, str]
    model_name: str
    text_id: str = ""  # the text tower's weights hash (keys cached text features); "" = do not cache


def require_paths(settings: EncoderSettings, paths: Sequence[str]) -> None:
    if "pretrained" in paths and settings.ckpt is None:
        raise ConfigError(
            f"paths {'+'.join(paths)} need the pre-trained depth encoder: pass --ckpt RUN/checkpoints/best.pt "
            "(or use --paths clip to adapt plain CLIP features only)"
        )


def load_encoders(settings: EncoderSettings, paths: Sequence[str] = ("clip",)) -> Encoders:
    """Build the towers for ``paths`` (a subset of "pretrained", "clip"), frozen, in eval mode."""
    from clip2point.train.models import create_clip, frozen_copy, load_depth_encoder, weights_hash  # noqa: PLC0415

    require_paths(settings, paths)
    visual: dict[str, nn.Module] = {}
    if settings.ckpt is not None:
        depth, bundle = load_depth_encoder(settings.ckpt, settings.device)
        if bundle.model_name != settings.model:
            raise ConfigError(f"--model {settings.model} but {settings.ckpt} was trained from {bundle.model_name}; "
                              f"pass --model {bundle.model_name}")
        if "pretrained" in paths:
            visual["pretrained"] = depth
    else:
        bundle = create_clip(settings.model, settings.pretrained, device=settings.device)
    if "clip" in paths:
        visual["clip"] = frozen_copy(bundle.model.visual)
    ids = {p: weights_hash(m) for p, m in visual.items()}
    log.info("encoders: %s", ", ".join(f"{p}={ids[p][:12]}" for p in visual))
    return Encoders(bundle, visual, ids, bundle.model_name, weights_hash(bundle.model, exclude="visual."))


def text_features(encoders: Encoders, prompt_names: Sequence[str], templates: str | Sequence[str],
                  store: FeatureStore | None = None) -> torch.Tensor:
    """[C,D] L2-normalised prompt features on the CPU of each name as given
    (``datasets.prompts.prompt_class_names`` makes the names from a dataset's labels) in
    ``templates``: one template, or an ensemble whose per-template features are averaged and
    renormalised. With a ``store`` they are computed once per (templates, names, text weights)
    and reused, from memory or its cache folder (a 1,156-class bank × 64 templates is minutes)."""
    from clip2point.train.models import encode_prompts  # noqa: PLC0415

    templates = (templates,) if isinstance(templates, str) else tuple(templates)

    def compute() -> torch.Tensor:
        feats = torch.stack([encode_prompts(encoders.bundle, prompt_names, t).float().cpu() for t in templates])
        return feats[0] if len(templates) == 1 else F.normalize(feats.mean(dim=0), dim=-1)

    if store is None or not encoders.text_id:
        return compute()
    key = {"model": encoders.model_name, "text_weights": encoders.text_id, "templates": list(templates),
           "names": list(prompt_names)}
    return store.text_features(key, compute)
