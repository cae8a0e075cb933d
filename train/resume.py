"""Choosing and vetting the checkpoint a run continues from.

A checkpoint may only continue the run that made it: same trajectory-defining settings, same
base weights, same shards. Anything else is refused with the differences listed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from clip2point.datasets.shards.digests import qualified_checksum
from clip2point.errors import CheckpointError, ConfigError
from clip2point.train.checkpoint import Checkpoint, find_resume, read_checkpoint, step_checkpoints
from clip2point.train.config import TrainConfig, resume_differences

log = logging.getLogger(__name__)


def locate_checkpoint(resume: str | None, ckpt_dir: Path) -> tuple[Path, Checkpoint] | None:
    """The checkpoint ``--resume`` names (``auto``: the newest valid one), or None for a fresh run."""
    if resume is None:
        existing = step_checkpoints(ckpt_dir) if ckpt_dir.is_dir() else []
        if existing or (ckpt_dir / "last.pt").exists():
            raise ConfigError(
                f"{ckpt_dir} already holds checkpoints; pass --resume auto to continue that run "
                "or choose another --out"
            )
        return None
    if resume == "auto":
        found = find_resume(ckpt_dir) if ckpt_dir.is_dir() else None
        if found is None:
            log.info("--resume auto: no usable checkpoint in %s, starting from scratch", ckpt_dir)
        return found
    path = Path(resume)
    return path, read_checkpoint(path)


def check_compatible(path: Path, ckpt: Checkpoint, cfg: TrainConfig, *, base_weights: str,
                     shards: dict[str, str]) -> None:
    """Refuse a checkpoint of another configuration, other base weights or other shards."""
    diffs = resume_differences(ckpt.config, cfg)
    if diffs:
        raise CheckpointError(path, "comes from another configuration (" + "; ".join(diffs) + "); "
                              "resume with the same settings or start a new --out")
    if ckpt.base_weights != base_weights:
        raise CheckpointError(path, f"was trained from other base weights than --model {cfg.model.model} "
                              f"--pretrained {cfg.model.pretrained}; pass the weights the run started from")
    trained_on = {name: qualified_checksum(value) for name, value in ckpt.shards.items()}  # older: bare sha256
    if trained_on and trained_on != shards:
        changed = sorted(set(trained_on.items()) ^ set(shards.items()))[:4]
        raise CheckpointError(path, f"was trained on other shards (differences {changed}); "
                              "point --shards at the folder the run used")
