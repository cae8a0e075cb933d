"""Code version and settings serialisation, so every output can be traced to what made it."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

from clip2point import __version__


@lru_cache(maxsize=1)
def code_version() -> dict[str, str]:
    """Package version plus the git commit (and a dirty flag) when run from a checkout."""
    info = {"package": __version__, "git_commit": "unknown", "git_dirty": "unknown"}
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if commit.returncode == 0:
            info["git_commit"] = commit.stdout.strip()
            dirty = subprocess.run(
                ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True, text=True, timeout=5,
            )
            info["git_dirty"] = str(bool(dirty.stdout.strip())).lower()
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, paths and tuples to plain JSON types (stable key order)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def config_json(config: Any) -> str:
    """Canonical JSON of a settings object (sorted keys), used for equality checks and attrs."""
    return json.dumps(to_jsonable(config), sort_keys=True)
