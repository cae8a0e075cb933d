"""Pre-training checkpoints: explicit schema, atomic writes, resume lookup, pruning.

A checkpoint holds everything needed to continue a run exactly (weights, optimiser,
scheduler, grad scaler, progress counters, every RNG state) in plain types only, so it loads
with ``torch.load(weights_only=True)``. Layout under ``RUN/checkpoints/``: ``step-N.pt`` (kept:
the newest K), ``last.pt`` and ``best.pt`` (hard links to a step file when the filesystem
allows, else copies).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import random
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from clip2point.datasets.atomic_io import atomic_path
from clip2point.errors import CheckpointError

log = logging.getLogger(__name__)

SCHEMA = "clip2point.pretrain.checkpoint/1"
STEP_RE = re.compile(r"^step-(\d+)\.pt$")


@dataclass(frozen=True)
class Progress:
    """Where training stands: ``batch_in_epoch`` batches of ``epoch`` are done, ``step`` in all."""

    epoch: int = 0
    step: int = 0
    batch_in_epoch: int = 0


@dataclass(frozen=True)
class Checkpoint:
    config: dict[str, Any]  # the run's TrainConfig as plain JSON types
    base_weights: str  # weights_hash of the CLIP visual tower the run started from
    model: dict[str, torch.Tensor]  # PretrainModel.trainable_state_dict()
    progress: Progress
    optimizer: dict[str, Any] | None = None
    scheduler: dict[str, Any] | None = None
    scaler: dict[str, Any] | None = None
    rng: dict[str, Any] | None = None
    best: dict[str, Any] = field(default_factory=dict)  # {"metric", "value", "step"}
    metrics: dict[str, float] = field(default_factory=dict)  # last validation metrics
    code_version: dict[str, str] = field(default_factory=dict)
    shards: dict[str, str] = field(default_factory=dict)  # shard file -> sha256 it trained on


def capture_rng() -> dict[str, Any]:
    """Every RNG a run draws from, as tensors and ints (weights_only-loadable)."""
    version, state, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": [version, list(state), gauss],
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng(state: dict[str, Any]) -> None:
    version, values, gauss = state["python"]
    random.setstate((version, tuple(values), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def _to_payload(ckpt: Checkpoint) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "config": json.dumps(ckpt.config, sort_keys=True),
        "base_weights": ckpt.base_weights,
        "model": ckpt.model,
        "progress": [ckpt.progress.epoch, ckpt.progress.step, ckpt.progress.batch_in_epoch],
        "optimizer": ckpt.optimizer,
        "scheduler": ckpt.scheduler,
        "scaler": ckpt.scaler,
        "rng": ckpt.rng,
        "best": json.dumps(ckpt.best),
        "metrics": json.dumps(ckpt.metrics),
        "code_version": json.dumps(ckpt.code_version),
        "shards": json.dumps(ckpt.shards),
    }


def torch_save_atomic(obj: Any, path: Path) -> Path:
    """Save through ``atomic_path`` (temporary name, fsync, rename): never half a file."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


def write_checkpoint(path: Path, ckpt: Checkpoint) -> Path:
    return torch_save_atomic(_to_payload(ckpt), path)


def link_atomic(src: Path, dst: Path) -> None:
    """Point ``dst`` at ``src``'s bytes (hard link, else copy) and swap it in atomically."""
    with atomic_path(dst) as tmp:
        tmp.unlink(missing_ok=True)
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)


def read_checkpoint(path: Path) -> Checkpoint:
    """Load and validate a checkpoint; any defect is a ``CheckpointError`` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such checkpoint file")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        raise CheckpointError(path, f"unreadable or truncated checkpoint ({exc})") from exc
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
        found = raw.get("schema") if isinstance(raw, dict) else type(raw).__name__
        raise CheckpointError(path, f"not a clip2point pre-training checkpoint (schema {found!r}, expected {SCHEMA!r})")
    epoch, step, batch = raw["progress"]
    return Checkpoint(
        config=json.loads(raw["config"]),
        base_weights=raw["base_weights"],
        model=raw["model"],
        progress=Progress(int(epoch), int(step), int(batch)),
        optimizer=raw["optimizer"],
        scheduler=raw["scheduler"],
        scaler=raw["scaler"],
        rng=raw["rng"],
        best=json.loads(raw["best"]),
        metrics=json.loads(raw["metrics"]),
        code_version=json.loads(raw["code_version"]),
        shards=json.loads(raw["shards"]),
    )


def step_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """``step-N.pt`` files, newest first."""
    found = [(int(m.group(1)), p) for p in folder.glob("step-*.pt") if (m := STEP_RE.match(p.name))]
    return sorted(found, reverse=True)


def find_resume(folder: Path) -> tuple[Path, Checkpoint] | None:
    """The newest readable checkpoint in ``folder``; corrupt ones are skipped with a warning.

    Step files come first (newest first): ``last.pt`` is linked after its step file is
    written, so a crash in between leaves the step file as the newest state.
    """
    for path in [p for _, p in step_checkpoints(folder)] + [folder / "last.pt"]:
        if not path.is_file():
            continue
        try:
            return path, read_checkpoint(path)
        except CheckpointError as exc:
            log.warning("skipping checkpoint: %s", exc)
    return None


def prune_checkpoints(folder: Path, keep_last: int) -> list[Path]:
    """Delete all but the newest ``keep_last`` step files (``last``/``best`` are separate links)."""
    removed = [p for _, p in step_checkpoints(folder)[keep_last:]]
    for p in removed:
        p.unlink(missing_ok=True)
    return removed
