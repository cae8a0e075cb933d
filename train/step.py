"""One faithful training step (SPEC §5), split into the stages the benchmark times separately.

Per object: the loader's random view v and its RGB image; 1,024 random stored points, centred
on their mean and scaled to max norm 1 (the reference's ``pc_norm``, applied after subsampling);
two depth maps of view v at independently jittered distances dist·(1 + U(−j, j)), projected on
the training device. Random draws come from a generator seeded by (seed, step, rank, micro-batch),
so a resumed run draws exactly what the uninterrupted run drew.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from clip2point.datasets.sampling import normalize_unit_sphere
from clip2point.errors import Clip2PointError
from clip2point.render.depth import CLIP_MEAN, CLIP_STD
from clip2point.train.distributed import gather_with_grad
from clip2point.train.encoding import depth_views_to_clip_input
from clip2point.train.losses import LossParts, pretrain_loss
from clip2point.train.precision import autocast
from clip2point.train.settings import DataSettings, OptimSettings


class NonFiniteLossError(Clip2PointError):
    """The loss became NaN or infinite: training stopped before the bad update."""


@dataclass(frozen=True)
class Batch:
    """One micro-batch on the training device. Exactly one of ``rgb`` / ``image_feats`` is set."""

    points: torch.Tensor  # float32 [B,N,3]
    elev: torch.Tensor  # float32 [B], degrees
    azim: torch.Tensor  # float32 [B]
    dist: torch.Tensor  # float32 [B]
    rgb: torch.Tensor | None = None  # uint8 [B,H,W,3]
    image_feats: torch.Tensor | None = None  # float [B,D], cached frozen-tower features

    @property
    def size(self) -> int:
        return self.points.shape[0]


def to_device_batch(item: dict[str, Any], device: torch.device, image_feats: torch.Tensor | None = None) -> Batch:
    """Collated loader output to the device (non-blocking: the loader pins memory on CUDA)."""

    def move(t: torch.Tensor) -> torch.Tensor:
        return t.to(device, non_blocking=True)

    return Batch(
        points=move(item["points"]).float(),
        elev=move(item["elev"]).float(),
        azim=move(item["azim"]).float(),
        dist=move(item["dist"]).float(),
        rgb=move(item["rgb"]) if image_feats is None else None,
        image_feats=None if image_feats is None else move(image_feats),
    )


def step_generator(seed: int, step: int, rank: int, micro: int, device: torch.device) -> torch.Generator:
    """A generator that depends only on where in training we are, not on what ran before."""
    state = int(np.random.SeedSequence([seed, step, rank, micro]).generate_state(1, dtype=np.uint64)[0])
    gen = torch.Generator(device=device)
    gen.manual_seed(state & 0x7FFF_FFFF_FFFF_FFFF)
    return gen


def subsample_points(points: torch.Tensor, n: int, gen: torch.Generator) -> torch.Tensor:
    """``n`` distinct random points of each cloud (all of them when the cloud is smaller)."""
    b, total, _ = points.shape
    if total <= n:
        return points
    keys = torch.rand(b, total, generator=gen, device=points.device)
    idx = keys.topk(n, dim=1).indices
    return points.gather(1, idx[..., None].expand(-1, -1, 3))


def jittered_distances(dist: torch.Tensor, jitter: float, gen: torch.Generator) -> torch.Tensor:
    """[B] distances to [B,2]: two independent dist·(1 + U(−jitter, jitter)) per object."""
    u = torch.rand(dist.shape[0], 2, generator=gen, device=dist.device) * 2 - 1
    return dist[:, None] * (1 + jitter * u)


def depth_pair_input(batch: Batch, data: DataSettings, gen: torch.Generator, image_size: int) -> torch.Tensor:
    """The two jittered depth pictures of each object's view, CLIP-ready: [B,2,3,H,W]. The subset is
    normalised like every cloud the package projects (SPEC §3: the reference's ``pc_norm``)."""
    points = normalize_unit_sphere(subsample_points(batch.points, data.num_points, gen))
    dists = jittered_distances(batch.dist, data.dist_jitter, gen)
    two = (-1, 2)
    with torch.no_grad():
        return depth_views_to_clip_input(
            points, batch.elev[:, None].expand(*two), batch.azim[:, None].expand(*two), dists,
            preset=data.depth_preset, image_size=image_size,
        )


def rgb_to_clip_input(rgb: torch.Tensor, image_size: int) -> torch.Tensor:
    """uint8 [B,H,W,3] to CLIP's input [B,3,S,S] (bilinear resize only when the size differs)."""
    x = rgb.permute(0, 3, 1, 2).float().div_(255.0)
    if x.shape[-1] != image_size or x.shape[-2] != image_size:
        x = nn.functional.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    mean = torch.tensor(CLIP_MEAN, device=x.device)[:, None, None]
    std = torch.tensor(CLIP_STD, device=x.device)[:, None, None]
    return (x - mean) / std


def channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if x.is_cuda else x


@torch.no_grad()
def image_features(image_encoder: nn.Module, batch: Batch, image_size: int) -> torch.Tensor:
    """Frozen-tower features [B,D] of the RGB views (or the cached ones)."""
    if batch.image_feats is not None:
        return batch.image_feats
    if batch.rgb is None:
        raise ValueError("a batch needs either RGB views or cached image features")
    return image_encoder(channels_last(rgb_to_clip_input(batch.rgb, image_size)))


def compute_loss(
    model: nn.Module, image_encoder: nn.Module, batch: Batch, gen: torch.Generator, *, data: DataSettings,
    optim: OptimSettings, precision: str, image_size: int,
) -> LossParts:
    """Forward pass of one micro-batch. ``--negatives gathered``: features are gathered over ranks, so
    each NT-Xent sees the global batch; ``per-device`` (the reference's DataParallel): each rank's
    loss sees its own share, and DDP's gradient average equals the mean of the per-device losses."""
    depth = depth_pair_input(batch, data, gen, image_size)
    device = batch.points.device
    with autocast(device, precision):
        f_img = image_features(image_encoder, batch, image_size)
        f_depth, w = model(channels_last(depth.flatten(0, 1)))
    f_depth = f_depth.float().view(batch.size, 2, -1)
    share = gather_with_grad if optim.negatives == "gathered" else (lambda x: x)
    return pretrain_loss(share(f_depth[:, 0]), share(f_depth[:, 1]), share(f_img.float()), w, optim.temperature)
