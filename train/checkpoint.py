"""Pre-training checkpoints: explicit schema, atomic writes, resume lookup, pruning.

A checkpoint holds everything needed to continue a run exactly (weights, optimiser,
scheduler, grad scaler, progress counters, every RNG state) in plain types only, so it loads
with ``torch.load(weights_only=True)``. Layout under ``RUN/checkpoints/``: ``step-N.pt`` (kept:
the newest K), ``last.pt`` and ``best.pt`` (hard links to a step file when the filesystem
allows, else copies).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import pickle
import random
import re
import shutil
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from clip2point.atomic_io import atomic_path, free_bytes
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
    shards: dict[str, str] = field(default_factory=dict)  # shard file -> checksum it trained on ("ALGORITHM:HEX"; bare sha256 hex before schema 2)


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
    """Save through ``atomic_path`` (temporary name, fsync, rename): never half a file.

    torch reports a failed write (a full disk) as a RuntimeError from its zip writer, several
    lines of C++ context; it becomes an ``OSError`` naming the file and the free space, which the
    CLI shows as one line."""
    path = Path(path)
    with atomic_path(path) as tmp:
        try:
            torch.save(obj, tmp)
        except RuntimeError as exc:
            raise OSError(errno.EIO, f"could not be written ({error_cause(exc)}); "
                                     f"{free_bytes(path.parent) / 1e6:.0f} MB free in {path.parent}",
                          str(path)) from exc
    return path


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


_ZIP_MAGIC = b"PK\x03\x04"  # torch.save writes a zip archive
_LEGACY_MAGIC = b"\x80\x02"  # ...or, with _use_new_zipfile_serialization=False, a protocol-2 pickle stream
_LOAD_ERRORS = (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile, struct.error)


def load_torch_file(path: Path, *, what: str = "torch file") -> Any:
    """``torch.load(weights_only=True)`` whose failures are a one-line ``CheckpointError``.

    torch's own messages run over several lines and advise ``weights_only=False``, which would
    run whatever code the file holds; the user only needs to know what is wrong with the file.
    ``what`` names the kind of file in the message (checkpoint, image-feature cache...).
    """
    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except _LOAD_ERRORS as exc:
        raise CheckpointError(path, f"unreadable {what}: {load_failure_reason(path, exc)}") from exc


def load_failure_reason(path: Path, exc: BaseException) -> str:
    """A short reason ``torch.load`` failed on ``path``: judged from the bytes, not torch's text."""
    text = str(exc)
    if "Unsupported global" in text:
        found = re.search(r"GLOBAL (\S+)", text)
        name = f" ({found.group(1)})" if found else ""
        return f"contains objects outside the safe allow-list{name}; clip2point loads only tensors and plain values"
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(len(_ZIP_MAGIC))
    except OSError as err:
        return f"cannot read it ({err.strerror or err})"
    if size == 0:
        return "empty file (0 bytes)"
    if head.startswith(_LEGACY_MAGIC):
        return f"damaged torch file in the legacy format ({error_cause(exc)})"
    if head != _ZIP_MAGIC:
        return "not a torch file"
    if not zipfile.is_zipfile(path):
        return f"truncated torch file ({size} bytes, the archive has no end)"
    return f"damaged torch file ({error_cause(exc)})"


def error_cause(exc: BaseException) -> str:
    """The cause an exception from torch states, in one line, without torch's loading advice
    (pages of it, suggesting weights_only=False): what is left when a message must stay short."""
    text = str(exc)
    _, marker, cause = text.partition("WeightsUnpickler error:")
    lines = [line.strip() for line in (cause if marker else text).splitlines() if line.strip()]
    if not lines or "weights_only" in lines[0]:
        return type(exc).__name__
    return lines[0][:200]


def read_checkpoint(path: Path) -> Checkpoint:
    """Load and validate a checkpoint; any defect is a ``CheckpointError`` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such checkpoint file")
    raw = load_torch_file(path, what="checkpoint")
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
    written, so a crash in between leaves the step file as the newest state. ``last.pt`` is
    read only when it is a file of its own (a copy, or overwritten), not a link to a step
    file: then it is used when it is newer, and a damaged one is named in a warning instead
    of being passed over in silence.
    """
    steps = [p for _, p in step_checkpoints(folder)]
    found = _first_readable(steps)
    last = folder / "last.pt"
    if last.is_file() and not any(_same_file(last, p) for p in steps):
        alias = _first_readable([last])
        if alias is not None and (found is None or alias[1].progress.step > found[1].progress.step):
            found = alias
    return found


def _first_readable(paths: list[Path]) -> tuple[Path, Checkpoint] | None:
    """The first of ``paths`` that reads as a checkpoint; each one skipped is logged as a warning."""
    for path in paths:
        try:
            return path, read_checkpoint(path)
        except CheckpointError as exc:
            log.warning("skipping checkpoint: %s", exc)
    return None


def _same_file(a: Path, b: Path) -> bool:
    """Whether two names are one file (``last.pt`` hard-linked to a step file)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def prune_checkpoints(folder: Path, keep_last: int) -> list[Path]:
    """Delete all but the newest ``keep_last`` step files (``last``/``best`` are separate links)."""
    removed = [p for _, p in step_checkpoints(folder)[keep_last:]]
    for p in removed:
        p.unlink(missing_ok=True)
    return removed
