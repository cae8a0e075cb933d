"""Code version and settings serialisation, so every output can be traced to what made it."""

from __future__ import annotations

import dataclasses
import json
import platform
import subprocess
import sys
import zlib
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from clip2point import __version__


# Distributions whose release can change the bytes or numbers of an output: the generator's RNG
# streams (numpy), the renderer (pyrender, PyOpenGL, trimesh's loaders, Pillow's decoders), the
# shard writer (h5py + its HDF5, isal's deflate for depth chunks), training and evaluation (torch, open_clip, timm, open3d's sampling).
BYTE_RELEVANT = (
    "numpy", "torch", "trimesh", "h5py", "isal", "pillow", "pyrender", "PyOpenGL", "scipy",
    "open_clip_torch", "timm", "open3d",
)


def _dist_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


@lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    """The releases (and native libraries) that can change an output's bytes, recorded beside it
    so a difference between two runs can be traced to the release that moved. Reads package
    metadata only, plus the native versions of modules that are already cheap to import."""
    info = {"python": platform.python_version(), "platform": f"{sys.platform}-{platform.machine()}"}
    info.update({name: _dist_version(name) for name in BYTE_RELEVANT})
    info["zlib"] = zlib.ZLIB_RUNTIME_VERSION
    try:
        import h5py

        info["hdf5"] = h5py.version.hdf5_version
    except ImportError:
        info["hdf5"] = "not installed"
    try:
        from PIL import features

        info["pillow_zlib"] = str(features.version("zlib"))
        info["pillow_libjpeg"] = str(features.version("jpg"))
    except ImportError:
        info["pillow_zlib"] = info["pillow_libjpeg"] = "not installed"
    try:
        import numpy

        blas = numpy.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
        info["numpy_blas"] = f"{blas.get('name', '?')} {blas.get('version', '?')}"
    except (ImportError, TypeError, AttributeError):
        info["numpy_blas"] = "unknown"
    return info


@lru_cache(maxsize=1)
def code_version() -> dict[str, Any]:
    """Package version plus the git commit (and a dirty flag) when run from a checkout, and the
    byte-relevant library versions (``libraries``, see :func:`library_versions`)."""
    info: dict[str, Any] = {"package": __version__, "git_commit": "unknown", "git_dirty": "unknown"}
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
    info["libraries"] = library_versions()
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
