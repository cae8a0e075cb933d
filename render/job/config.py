"""Settings of the generation job, validated once, split into what defines the output and what
is only policy.

``identity()`` is what ``config.json`` pins: a rerun into the same folder must produce the same
bytes, so anything that changes an object's arrays or the shard partition belongs there. The
failure policy (``max_faces``, ``timeout_s``, the asset budget) only decides *whether* an object
renders, never what it looks like, so ``--retry-failed`` may relax it without invalidating the
folder; the one exception, a texture over the pixel budget left off, is recorded in that object's
``texture_status`` (``over_budget``), so the shards still say what each object is. Worker
count, backend and node split are arguments of the run, not settings: they never change output.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clip2point.datasets.asset_guard import DEFAULT_BUDGET, AssetBudget
from clip2point.errors import ConfigError
from clip2point.render.cameras import view_counts
from clip2point.render.rgb.light import DEFAULT_LIGHT, parse_light
from clip2point.render.rgb.scene import SHADINGS
from clip2point.validation import check_choice, check_int, check_positive

SUPPORTED_VIEWS = view_counts("clip2point")  # shards pair RGB and depth from CLIP2Point's cameras


@dataclass(frozen=True)
class RenderJobConfig:
    """One generation job, from one source: ``shapenet_root``, ``manifest`` (any collection) or
    ``objaverse_root`` (with ``lvis``: the LVIS subset, labelled); none renders the built-in
    synthetic set."""

    out: Path
    shapenet_root: Path | None = None
    manifest: Path | None = None
    objaverse_root: Path | None = None
    lvis: bool = False
    split_dir: Path | None = None
    synthetic_per_class: int = 20
    num_views: int = 10
    size: int = 224
    num_points: int = 8192
    depth_points: int = 1024
    objects_per_shard: int = 64
    seed: int = 0
    limit: int | None = None
    max_faces: int | None = None
    timeout_s: float | None = None
    light: str = DEFAULT_LIGHT  # rgb.light: why 'random' is the reference's stored-view light
    shading: str = "faithful"
    max_texture_pixels: int = DEFAULT_BUDGET.max_texture_pixels
    max_file_bytes: int = DEFAULT_BUDGET.max_file_bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        object.__setattr__(self, "light", parse_light(self.light))
        check_choice(self.shading, "--shading", SHADINGS)
        for name in ("shapenet_root", "split_dir", "manifest", "objaverse_root"):
            value = getattr(self, name)
            object.__setattr__(self, name, None if value is None else Path(value))
        given = [flag for flag, value in (("--shapenet", self.shapenet_root), ("--manifest", self.manifest),
                                          ("--objaverse", self.objaverse_root)) if value is not None]
        if len(given) > 1:
            raise ConfigError(f"{' and '.join(given)} both name a source; render one collection per output folder")
        if self.lvis and self.objaverse_root is None:
            raise ConfigError("--lvis needs --objaverse ROOT (it selects and labels Objaverse's LVIS objects)")
        if self.split_dir is not None and self.shapenet_root is None:
            raise ConfigError("--split-dir needs --shapenet ROOT (the synthetic set has its own split files)")
        check_choice(self.num_views, "--views", SUPPORTED_VIEWS, hint="the paper's presets")
        check_int(self.size, "--size", low=16, high=2048, hint="use 224 for the paper's images")
        check_int(self.num_points, "--points", low=1, hint="use 8192 (stored cloud)")
        check_int(self.depth_points, "--depth-points", low=1, high=self.num_points,
                  hint="depth uses a subset of the stored cloud; keep it <= --points (paper: 1024)")
        check_int(self.objects_per_shard, "--objects-per-shard", low=1, hint="e.g. 64")
        check_int(self.synthetic_per_class, "--synthetic-per-class", low=1, hint="e.g. 20")
        check_int(self.seed, "--seed", low=0, hint="any non-negative integer")
        if self.limit is not None:
            check_int(self.limit, "--limit", low=1, hint="or leave it out to render everything")
        if self.max_faces is not None:
            check_int(self.max_faces, "--max-faces", low=1, hint="or leave it out for no limit")
        check_int(self.max_texture_pixels, "--max-texture-pixels", low=1, hint="e.g. 67108864 (8192x8192)")
        check_int(self.max_file_bytes, "--max-file-bytes", low=1, hint="e.g. 536870912 (512 MiB)")
        if self.timeout_s is not None:
            check_positive(self.timeout_s, "--timeout", finite=True, hint="seconds, or leave it out")

    @property
    def source(self) -> str:
        if self.manifest is not None:
            return "manifest"
        if self.objaverse_root is not None:
            return "objaverse-lvis" if self.lvis else "objaverse"
        return "synthetic" if self.shapenet_root is None else "shapenet"

    @property
    def source_root(self) -> Path | None:
        """The file or folder the objects come from (None: the built-in synthetic set)."""
        return self.manifest if self.manifest is not None else self.objaverse_root or self.shapenet_root

    def identity(self) -> dict[str, Any]:
        """What the output depends on (pinned in ``config.json``); paths and policy excluded."""
        identity: dict[str, Any] = {
            "source": self.source,
            "num_views": self.num_views,
            "size": self.size,
            "num_points": self.num_points,
            "depth_points": self.depth_points,
            "objects_per_shard": self.objects_per_shard,
            "seed": self.seed,
            "limit": self.limit,
            "light": self.light,
            "shading": self.shading,
        }
        if self.source == "synthetic":
            identity["synthetic_per_class"] = self.synthetic_per_class
        return identity

    def policy(self) -> dict[str, Any]:
        """The failure policy, recorded with each run but free to change between runs."""
        return {"max_faces": self.max_faces, "timeout_s": self.timeout_s,
                "max_texture_pixels": self.max_texture_pixels, "max_file_bytes": self.max_file_bytes}

    def budget(self) -> AssetBudget:
        """What one object may make the loader read; an object over it is recorded, not rendered
        with a texture (pixels) or at all (file bytes), whatever the folder's identity says."""
        return AssetBudget(self.max_texture_pixels, self.max_file_bytes)


def default_cache_dir() -> Path:
    """Where derived inputs (the synthetic mesh set) are kept between jobs.

    ``$CLIP2POINT_CACHE`` wins, then ``$XDG_CACHE_HOME/clip2point``, then ``~/.cache/clip2point``."""
    if os.environ.get("CLIP2POINT_CACHE"):
        return Path(os.environ["CLIP2POINT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "clip2point"
