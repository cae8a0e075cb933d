"""Checks of the pre-training inputs against what is on disk, made before any model is built.

Without them a wrong setting shows only late (a missing ``--modelnet40`` folder after the first
epoch) or never (``--num-points`` above what the shards store silently trains on fewer points).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from clip2point.datasets.shards.folder import ShardFolder
from clip2point.datasets.shards import load_index
from clip2point.errors import ConfigError, PathError
from clip2point.train.settings import DataSettings, ValidationSettings


def check_inputs(out: Path, data: DataSettings, validation: ValidationSettings) -> None:
    """Refuse inputs that cannot give the run the settings ask for (see the module doc)."""
    check_run_folder(out)
    check_num_points(data.num_points, data.shards)
    if validation.modelnet40 and not Path(validation.modelnet40).exists():
        raise PathError(validation.modelnet40, "ModelNet40 data not found (--modelnet40 takes the ModelNet40 folder "
                        "of CLASS/test/*.off meshes, or the folder of its ply_data_*.h5 files)")


def check_run_folder(out: Path) -> None:
    """``--out`` must be a run folder: a shard folder would get a run's config.json over its own
    (its next resume then fails on "40 keys differ") and checkpoints among its shards; any other
    job's config.json would be overwritten just the same."""
    if ShardFolder(out).is_shard_folder():
        raise ConfigError(f"--out {out} is a shard folder (made by clip2point render); pretrain writes config.json, "
                          "checkpoints/ and metrics there, so pass a new run folder, e.g. --out runs/NAME")
    config = out / "config.json"
    if config.is_file():
        try:
            data = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            data = None
        recorded = data.get("config") if isinstance(data, dict) else None
        if not (isinstance(recorded, dict) and {"shards", "model", "out"} <= set(recorded)):
            raise ConfigError(f"--out {out} holds a config.json that is not a pre-training run's; pass a new run "
                              "folder, e.g. --out runs/NAME, rather than overwrite another job's configuration")


def stored_points(index: Mapping[str, Any]) -> int | None:
    """Points per object the shards store (the fewest over shards); None when the index does not say."""
    counts = [s["shapes"]["points"][0] for s in index["shards"] if (s.get("shapes") or {}).get("points")]
    return min(counts) if counts else None


def check_num_points(num_points: int, shards: str | Path) -> None:
    """``--num-points`` may not exceed the stored cloud: the step would silently use every stored point
    (fewer than asked), so the run would not be the one its config.json describes."""
    stored = stored_points(load_index(shards))
    if stored is not None and num_points > stored:
        raise ConfigError(f"--num-points {num_points} is more than the {stored} points per object stored in "
                          f"{shards}; pass --num-points {stored} or fewer (or render shards with more --points)")
