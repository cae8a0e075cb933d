"""Typed errors. The CLI turns any ``Clip2PointError`` into one clear sentence and exit 2."""

from __future__ import annotations

from pathlib import Path


class Clip2PointError(Exception):
    """Base class for errors a user can fix (bad input, bad settings, foreign files)."""


class ConfigError(Clip2PointError, ValueError):
    """A setting has an invalid value; the message says how to fix it."""


class PathError(Clip2PointError):
    """An error tied to one file: the message always starts with the path."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class MeshLoadError(PathError):
    """A mesh file cannot be used (absent, empty, garbage, no faces, NaN, zero area...)."""


class ShardError(PathError):
    """A shard file is missing, truncated, corrupt, foreign or of an unknown schema."""


class CheckpointError(PathError):
    """A checkpoint is corrupt, foreign, or from an incompatible configuration."""


class MissingExtraError(Clip2PointError):
    """An optional dependency is not installed; the message names the extra that provides it."""
