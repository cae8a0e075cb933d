"""Per-epoch validation: zero-shot accuracy (SPEC §6) and held-out depth→image retrieval.

Zero-shot scores the depth tower through evaluation's own path (``train.encoding.zero_shot_logits``):
clouds centred with max norm 1 (ModelNet rotated into ShapeNet's frame), V views (10, the
reference's), L2-normalised view features, view-summed cosine logits against "image of a {name}"
prompts with the reference's class names.
Retrieval asks whether the depth feature of an object's view finds that same view's RGB feature
among all held-out objects; it shows learning even when class names mean nothing to the text
tower (the tiny random model of the tests).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from clip2point.datasets.prompts import prompt_class_names, reference_template
from clip2point.datasets.torch_dataset import ShardDataset
from clip2point.train.encoding import encode_depth_views, prepare_points, tower_input_size, zero_shot_logits
from clip2point.train.models import ClipBundle, PretrainModel, encode_prompts
from clip2point.train.precision import Compute, autocast
from clip2point.train.settings import ValidationSettings
from clip2point.train.step import channels_last, rgb_to_clip_input

log = logging.getLogger(__name__)

VAL_SEED = 12345  # fixed point subsets and views: every epoch scores the same inputs
VAL_BATCH = 64  # fixed, so a metric does not depend on the training batch (float sums, near-ties)


@dataclass(frozen=True)
class ZeroShotSet:
    """Raw clouds [N,P,3], labels [N], the class names they index, the ``pointsets.DATASETS`` name
    the prompts are chosen by, and whether the scoring path rotates them from z-up (ModelNet)."""

    name: str
    points: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...]
    dataset: str = "shards"
    align: bool = False


def fixed_subset(points: np.ndarray, n: int, seed: int = VAL_SEED) -> np.ndarray:
    """The same ``n`` random points of every cloud in every epoch."""
    if points.shape[1] <= n:
        return points
    rng = np.random.default_rng(seed)
    idx = np.stack([rng.choice(points.shape[1], n, replace=False) for _ in range(points.shape[0])])
    return np.take_along_axis(points, idx[..., None], axis=1)


def shard_zero_shot_set(root: str | Path, split: str | None, num_points: int) -> ZeroShotSet:
    dataset = ShardDataset(root, split=split, view=0, fields=("points",))
    points = np.stack([dataset[i]["points"].numpy() for i in range(len(dataset))])
    return ZeroShotSet(f"shards:{split}", torch.from_numpy(fixed_subset(points, num_points)),
                       torch.from_numpy(dataset.labels), tuple(dataset.class_names))


def modelnet40_zero_shot_set(root: str | Path, num_points: int) -> ZeroShotSet:
    """ModelNet40's test split through helper loaders; z-up sources are rotated into ShapeNet's frame
    by the scoring path (SPEC §6), after it normalises them."""
    from clip2point.datasets.modelnet import with_full_class_list
    from clip2point.datasets.pointsets import PointSetOptions, load_pointset

    ps = with_full_class_list(load_pointset("modelnet40", root, "test", PointSetOptions(num_points=num_points)))
    return ZeroShotSet("modelnet40", torch.from_numpy(np.ascontiguousarray(ps.points, dtype=np.float32)),
                       torch.from_numpy(ps.labels), tuple(ps.class_names), "modelnet40", ps.frame == "z-up")


@torch.no_grad()
def zero_shot_predictions(encoder: nn.Module, data: ZeroShotSet, text_feats: torch.Tensor, compute: Compute, *,
                          num_views: int, preset: str = "clip2point") -> torch.Tensor:
    """Predicted class per cloud through the package's one zero-shot scoring path."""
    logits = zero_shot_logits(encoder, data.points, text_feats, num_views, align=data.align, preset=preset,
                              batch_size=compute.batch_size, device=compute.device, precision=compute.precision)
    return logits.argmax(dim=1)


def zero_shot_top1(encoder: nn.Module, data: ZeroShotSet, text_feats: torch.Tensor, compute: Compute, *,
                   num_views: int, preset: str = "clip2point") -> float:
    preds = zero_shot_predictions(encoder, data, text_feats, compute, num_views=num_views, preset=preset)
    return float((preds == data.labels).float().mean())


@torch.no_grad()
def retrieval_ranks(
    depth_encoder: nn.Module, image_encoder: nn.Module, root: str | Path, split: str | None, compute: Compute, *,
    num_points: int, image_size: int | None = None, preset: str = "clip2point",
) -> torch.Tensor:
    """Held-out depth→image retrieval: per object, how many RGB features beat its own (0 = hit).

    Each object shows one fixed random view; its depth map (dist unjittered, fixed point
    subset, centred with max norm 1 like every projected cloud) is compared with that view's RGB feature and those of all other N−1 objects. Both
    towers take ``image_size`` pictures (None: the depth tower's input side).
    """
    image_size = image_size or tower_input_size(depth_encoder)
    device = compute.device
    dataset = ShardDataset(root, split=split, view="random", fields=("rgb", "points"), seed=VAL_SEED)
    depth_feats, image_feats = [], []
    for item in DataLoader(dataset, batch_size=compute.batch_size, shuffle=False):
        points = prepare_points(torch.from_numpy(fixed_subset(item["points"].numpy(), num_points)), align=False)
        points = points.to(device)
        with autocast(device, compute.precision):
            f_d = encode_depth_views(depth_encoder, points, item["elev"][:, None], item["azim"][:, None],
                                     item["dist"][:, None], preset=preset, image_size=image_size)[:, 0]
            f_i = image_encoder(channels_last(rgb_to_clip_input(item["rgb"].to(device), image_size)))
        depth_feats.append(f_d.float())
        image_feats.append(nn.functional.normalize(f_i.float(), dim=-1))
    sims = torch.cat(depth_feats) @ torch.cat(image_feats).T
    return (sims > sims.diagonal()[:, None]).sum(dim=1).cpu()


def retrieval_top1(depth_encoder: nn.Module, image_encoder: nn.Module, root: str | Path, split: str | None,
                   compute: Compute, **options: Any) -> tuple[float, int]:
    """Held-out depth→image retrieval top-1 over N objects (chance 1/N), and N; ``options`` as
    ``retrieval_ranks`` takes them."""
    ranks = retrieval_ranks(depth_encoder, image_encoder, root, split, compute, **options)
    return float((ranks == 0).float().mean()), int(ranks.numel())


class Validator:
    """Builds the held-out sets and prompts once, then scores the depth tower after each epoch
    (``preset``: the run's depth preset, the cameras and projection validation draws with)."""

    def __init__(self, settings: ValidationSettings, bundle: ClipBundle, *, preset: str, device: torch.device,
                 precision: str, image_size: int) -> None:
        self.settings, self.bundle, self.preset, self.image_size = settings, bundle, preset, image_size
        self.compute = Compute(device, precision, VAL_BATCH)
        self._sets: dict[str, tuple[ZeroShotSet, torch.Tensor]] = {}

    def _zero_shot_sets(self) -> dict[str, tuple[ZeroShotSet, torch.Tensor]]:
        if not self._sets:
            val = self.settings
            sets = []
            if val.val_shards:
                sets.append(("val", shard_zero_shot_set(val.val_shards, val.val_split, val.val_points)))
            if val.modelnet40:
                sets.append(("modelnet40", modelnet40_zero_shot_set(val.modelnet40, val.val_points)))
            for key, data in sets:
                names = prompt_class_names(data.dataset, data.class_names, val.val_prompts)
                self._sets[key] = (data, encode_prompts(self.bundle, names, reference_template()))
                log.info("validation set %s: %d clouds, %d classes", data.name, len(data.labels), len(data.class_names))
        return self._sets

    def run(self, model: PretrainModel) -> dict[str, float]:
        """``val_top1``, ``val_retrieval_top1`` and ``modelnet40_top1`` for the sets configured."""
        val = self.settings
        metrics: dict[str, float] = {}
        was_training = model.training
        model.eval()
        try:
            for key, (data, text) in self._zero_shot_sets().items():
                metrics[f"{key}_top1"] = zero_shot_top1(model.depth_encoder, data, text, self.compute,
                                                        num_views=val.val_views, preset=self.preset)
            if val.val_shards:
                metrics["val_retrieval_top1"], _ = retrieval_top1(
                    model.depth_encoder, model.image_encoder, val.val_shards, val.val_split, self.compute,
                    num_points=val.val_points, image_size=self.image_size, preset=self.preset)
        finally:
            model.train(was_training)
        return metrics
