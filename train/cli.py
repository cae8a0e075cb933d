"""``clip2point pretrain``: image-depth contrastive pre-training (also ``torchrun -m clip2point.train``)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from clip2point.extras import require
from clip2point.render.cameras import view_counts
from clip2point.train.config import (NEGATIVES, OPTIMIZERS, PRECISIONS, PROMPT_SETS, RECIPES, SELECT_METRICS,
                                     TrainConfig, flat_defaults)

log = logging.getLogger(__name__)


def _optional_str(value: str) -> str | None:
    return None if value.lower() in ("", "none", "random") else value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = flat_defaults()
    data = parser.add_argument_group("data")
    data.add_argument("--shards", required=True, help="shard folder of the generation job (train split is used)")
    data.add_argument("--out", required=True, help="run folder: config.json, metrics.jsonl, checkpoints/, curves.png")
    data.add_argument("--require-textures", action="store_true",
                      help="leave out objects whose texture_status records a lost texture (missing, "
                      "refused_outside, undecodable, over_budget); see `clip2point inspect SHARDS summary`")
    data.add_argument("--val-shards", default=None, help="shard folder for zero-shot validation (its --val-split)")
    data.add_argument("--val-split", default=d["val_split"])
    data.add_argument("--modelnet40", default=None, help="ModelNet40 folder (.off or .h5) for zero-shot validation")
    model = parser.add_argument_group("model")
    model.add_argument("--model", default=d["model"], help="open_clip model name, or c2p-tiny / c2p-tiny-64")
    model.add_argument("--pretrained", default=d["pretrained"], type=_optional_str,
                       help="open_clip tag (needs network once), a local weights file, or 'none' (seeded random); "
                            "default: openai, or none for c2p-tiny / c2p-tiny-64")
    opt = parser.add_argument_group("optimisation")
    opt.add_argument("--recipe", choices=tuple(RECIPES), default=d["recipe"],
                     help="group of defaults: faithful = the reference (torch_optimizer LAMB, fp32, per-device "
                          "negatives); improved = timm LAMB, bf16 on CUDA, negatives gathered over GPUs. "
                          "--optimizer, --precision and --negatives override single choices")
    opt.add_argument("--batch-size", type=int, default=d["batch_size"],
                     help="global batch (all devices); at least 2 per micro-batch: the other objects are the negatives")
    opt.add_argument("--accum-steps", type=int, default=d["accum_steps"],
                     help="split each step into this many micro-batches (fits memory; negatives per micro-batch)")
    opt.add_argument("--epochs", type=int, default=d["epochs"])
    opt.add_argument("--max-steps", type=int, default=None, help="stop after this many optimiser steps")
    opt.add_argument("--lr", type=float, default=d["lr"])
    opt.add_argument("--weight-decay", type=float, default=d["weight_decay"])
    opt.add_argument("--optimizer", choices=OPTIMIZERS, default=None,
                     help="lamb: torch_optimizer 0.3.0's (the reference's); lamb-timm: timm's (bias correction, "
                          "grad clip 1.0, w not decayed); adamw. Default: the recipe's")
    opt.add_argument("--negatives", choices=NEGATIVES, default=None,
                     help="per-device: each GPU's NT-Xent over its share of the batch (the reference's "
                          "DataParallel); gathered: over the whole global batch. Default: the recipe's")
    opt.add_argument("--restart-epochs", type=float, default=d["restart_epochs"], help="cosine warm-restart period")
    opt.add_argument("--eta-min", type=float, default=d["eta_min"], help="learning-rate floor (reference: 1e-5)")
    opt.add_argument("--temperature", type=float, default=d["temperature"])
    opt.add_argument("--num-points", type=int, default=d["num_points"],
                     help="points drawn per object and step; at most what the shards store (render --points)")
    opt.add_argument("--dist-jitter", type=float, default=d["dist_jitter"])
    opt.add_argument("--seed", type=int, default=d["seed"])
    run = parser.add_argument_group("run")
    run.add_argument("--precision", choices=PRECISIONS, default=None,
                     help="default: the recipe's (faithful fp32; improved auto = bf16 on CUDA, fp32 on CPU)")
    run.add_argument("--device", default=None,
                     help="cpu, cuda (this rank's GPU) or cuda:N; default: cuda:LOCAL_RANK when available, else cpu")
    run.add_argument("--deterministic", action="store_true", help="deterministic kernels (bit-exact resume on CPU)")
    run.add_argument("--num-workers", type=int, default=d["num_workers"])
    run.add_argument("--cache-image-features", action="store_true",
                     help="encode every RGB view once with the frozen tower and reuse the features")
    run.add_argument("--feature-cache-dir", default=None, help="default RUN/feature_cache")
    run.add_argument("--resume", default=None, help="'auto' (newest valid checkpoint in RUN) or a checkpoint path")
    run.add_argument("--checkpoint-every", type=int, default=d["checkpoint_every"], help="optimiser steps")
    run.add_argument("--keep-last", type=int, default=d["keep_last"])
    run.add_argument("--log-every", type=int, default=d["log_every"])
    run.add_argument("--val-views", type=int, choices=view_counts(), default=d["val_views"],
                     help="views per object in zero-shot validation, one of the depth preset's camera sets "
                          "(default: the reference's 10, or the preset's own count where it has no 10)")
    run.add_argument("--val-prompts", choices=PROMPT_SETS, default=d["val_prompts"],
                     help="class names in validation prompts: the reference's lists, or each label's own name")
    run.add_argument("--val-points", type=int, default=d["val_points"])
    run.add_argument("--select-metric", choices=SELECT_METRICS, default=d["select_metric"])
    run.add_argument("--no-progress", dest="progress", action="store_false", help="no tqdm bar")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The nested config of the parsed flags: every flag's destination is its setting's name."""
    names = set(flat_defaults()) | {"shards", "out"}
    values: dict[str, Any] = {k: v for k, v in vars(args).items() if k in names}
    return TrainConfig.from_flat(**values)


def run(args: argparse.Namespace) -> int:
    require("train", "clip2point pretrain")
    if args.modelnet40 and not any(Path(args.modelnet40).glob("*.h5")):  # .off meshes: sampled with open3d
        require("eval", "clip2point pretrain --modelnet40", ("open3d",))
    from clip2point.train.trainer import train

    result = train(config_from_args(args))
    if not result.is_main:
        return 0
    best = result.best
    print(f"pretrain: {result.run_dir} step {result.step} epoch {result.epoch}; last {result.last_checkpoint}; "
          f"best {best.get('metric')}={best.get('value')} at step {best.get('step')}")
    return 0
