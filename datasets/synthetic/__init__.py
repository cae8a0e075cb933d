"""The built-in synthetic ShapeNet-style mesh set: the default data everything runs on without
downloads.

Layout (ShapeNetCore v2 + the ShapeNet-55 split files)::

    OUT/SYNSET/MODEL_ID/models/model_normalized.{obj,mtl,json}
    OUT/SYNSET/MODEL_ID/images/textureN.{jpg,png}      (textured models only)
    OUT/train.txt, OUT/test.txt                         (``SYNSET-MODEL_ID.npy`` per line)
    OUT/manifest.json                                   (written last: the set is complete)

Object ``i`` of a class depends only on (seed, synset, i), so a set with more objects per class
contains the smaller one, and the same settings always give the same bytes. The set is written
into a private sibling folder and renamed into place, so an interrupted run leaves no
half-written set behind and concurrent writers of the same set do not collide.

Bump ``GENERATOR_VERSION`` whenever the bytes of a set change (``test_generator_output_is_pinned``
says so): caches keyed on it (the render job's) then rebuild instead of reusing stale meshes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from clip2point.datasets.synthetic.obj import write_model
from clip2point.datasets.synthetic.shapes import SYNTHETIC_SYNSETS, build_object, model_id
from clip2point.datasets.taxonomy import SHAPENET_SYNSETS, synset_name
from clip2point.errors import ConfigError, PathError
from clip2point.validation import check_int

log = logging.getLogger(__name__)

FORMAT = "clip2point-synthetic-shapenet"
GENERATOR_VERSION = 4
MANIFEST = "manifest.json"
TEST_EVERY = 5  # object i is a test object when i % 5 == 1: 20 %, and >= 1 per class from 2 objects on
MAX_PER_CLASS = 10_000


@dataclass(frozen=True)
class SyntheticSettings:
    """What identifies a synthetic set; equal settings give byte-identical sets."""

    per_class: int = 20
    seed: int = 0
    synsets: tuple[str, ...] = SYNTHETIC_SYNSETS

    def __post_init__(self) -> None:
        check_int(self.per_class, "--per-class", low=1, high=MAX_PER_CLASS)
        check_int(self.seed, "--seed", low=0)
        if not self.synsets:
            raise ConfigError("the synthetic set needs at least one class (leave classes unset for all of them)")
        unknown = [s for s in self.synsets if s not in SYNTHETIC_SYNSETS]
        if unknown:
            available = ", ".join(f"{s} ({SHAPENET_SYNSETS[s]})" for s in SYNTHETIC_SYNSETS)
            raise ConfigError(f"no synthetic generator for {unknown}; available classes: {available}")
        if list(self.synsets) != sorted(set(self.synsets)):
            raise ConfigError("synsets must be sorted and unique; use resolve_classes() to build them")


def resolve_classes(classes: Sequence[str] | None) -> tuple[str, ...]:
    """Synset ids or ShapeNet-55 names (``"chair"``, ``"03001627"``) -> sorted unique synset ids."""
    if classes is None:
        return SYNTHETIC_SYNSETS
    by_name = {synset_name(s): s for s in SYNTHETIC_SYNSETS}
    out = set()
    for item in classes:
        key = str(item).strip().lower()
        if key in SYNTHETIC_SYNSETS:
            out.add(key)
        elif key in by_name:
            out.add(by_name[key])
        else:
            names = ", ".join(sorted(by_name))
            raise ConfigError(f"unknown synthetic class {item!r}; use a synset id or one of: {names}")
    return tuple(sorted(out))


def is_test_object(index: int) -> bool:
    """The fixed per-class split: one object in five, from the second on, is a test object."""
    return index % TEST_EVERY == 1


def _manifest(settings: SyntheticSettings, digest: str) -> dict:
    classes = []
    for synset in settings.synsets:
        test = sum(is_test_object(i) for i in range(settings.per_class))
        classes.append(
            {
                "synset": synset,
                "name": synset_name(synset),
                "count": settings.per_class,
                "train": settings.per_class - test,
                "test": test,
            }
        )
    return {
        "format": FORMAT,
        "generator_version": GENERATOR_VERSION,
        "seed": settings.seed,
        "per_class": settings.per_class,
        "num_models": settings.per_class * len(settings.synsets),
        "classes": classes,
        "files_sha256": digest,
    }


def _digest(root: Path, files: Sequence[Path]) -> str:
    """One hash over every file's relative path and bytes: equal digests, equal sets."""
    total = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        total.update(path.relative_to(root).as_posix().encode() + b"\0")
        total.update(hashlib.sha256(path.read_bytes()).digest())
    return total.hexdigest()


def _write_into(root: Path, settings: SyntheticSettings) -> None:
    files: list[Path] = []
    split: dict[str, list[str]] = {"train": [], "test": []}
    for synset in settings.synsets:
        for index in range(settings.per_class):
            mid = model_id(synset, index, settings.seed)
            header = f"clip2point synthetic ShapeNet-style model: {synset_name(synset)} #{index}, seed {settings.seed}"
            files += write_model(build_object(synset, index, settings.seed), root / synset / mid, mid, header)
            split["test" if is_test_object(index) else "train"].append(f"{synset}-{mid}.npy")
        log.debug("synthetic set: wrote %d %s models", settings.per_class, synset_name(synset))
    for name, lines in split.items():
        path = root / f"{name}.txt"
        path.write_text("".join(f"{line}\n" for line in sorted(lines)), encoding="ascii")
        files.append(path)
    manifest = json.dumps(_manifest(settings, _digest(root, files)), indent=2, sort_keys=True) + "\n"
    (root / MANIFEST).write_text(manifest, encoding="ascii")


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def _holds(root: Path, settings: SyntheticSettings) -> bool:
    """Does ``root`` hold the complete set these settings describe?"""
    have = read_manifest(root)
    return have == _manifest(settings, have.get("files_sha256", ""))


def _publish(partial: Path, out: Path, settings: SyntheticSettings) -> None:
    """Rename the finished set into place. Losing a race to another writer of the identical
    set is fine (its bytes are ours); losing it to anything else is an error."""
    try:
        if out.exists():
            out.rmdir()  # only ever an empty folder here; fails if someone filled it meanwhile
        os.rename(partial, out)
    except OSError:
        if (out / MANIFEST).is_file() and _holds(out, settings):
            log.info("another process wrote the identical synthetic set to %s first; using it", out)
            return
        raise PathError(out, "was filled by another process while the synthetic set was being written") from None


def write_synthetic_set(
    out: str | Path, *, per_class: int = 20, seed: int = 0, classes: Sequence[str] | None = None
) -> Path:
    """Write a fresh synthetic set into ``out`` (absent or empty); returns ``out``.

    ``classes`` (synset ids or names) restricts the set to some classes; by default every
    procedural class is written. Refuses a non-empty folder: use ``ensure_synthetic_set`` to
    reuse a set that is already there. The set is built in a private sibling folder and renamed
    into place, so concurrent writers (several nodes of one job) and interruptions are safe.
    """
    settings = SyntheticSettings(per_class=per_class, seed=seed, synsets=resolve_classes(classes))
    out = Path(out)
    if out.exists() and not _is_empty_dir(out):
        raise PathError(out, "is not an empty folder; refusing to write a synthetic set over it (choose a new folder)")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        os.chmod(partial, 0o755)  # mkdtemp makes it private; the published set is for everyone
        _write_into(partial, settings)
        _publish(partial, out, settings)
    finally:
        if partial.exists():
            shutil.rmtree(partial)
    log.info("wrote synthetic set: %d classes x %d models (seed %d) to %s", len(settings.synsets), per_class, seed, out)
    return out


def read_manifest(root: str | Path) -> dict:
    """The manifest of a synthetic set; ``PathError`` when absent, unreadable or foreign."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise PathError(path, "not found; this folder is not a complete synthetic set")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PathError(path, f"is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise PathError(path, f"is not a clip2point synthetic-set manifest (format is not {FORMAT!r})")
    return manifest


def ensure_synthetic_set(
    out: str | Path, per_class: int = 20, seed: int = 0, *, classes: Sequence[str] | None = None
) -> Path:
    """Idempotent ``write_synthetic_set``: reuse ``out`` when it holds the identical set
    (same generator version, seed, size and classes); refuse a folder holding anything else."""
    settings = SyntheticSettings(per_class=per_class, seed=seed, synsets=resolve_classes(classes))
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise PathError(out, "is a file; the synthetic set needs a folder (choose a new path)")
    if out.exists() and not _is_empty_dir(out):
        if not (out / MANIFEST).exists():
            raise PathError(
                out,
                "is not empty and holds no synthetic-set manifest.json; refusing to overwrite it (choose a new folder)",
            )
        if not _holds(out, settings):
            have = read_manifest(out)
            raise PathError(
                out,
                f"holds a different synthetic set (seed {have.get('seed')}, per_class {have.get('per_class')}, "
                f"{len(have.get('classes', []))} classes, generator v{have.get('generator_version')}) than asked "
                f"(seed {seed}, per_class {per_class}, {len(settings.synsets)} classes, generator v{GENERATOR_VERSION}); "
                "delete it or choose another folder",
            )
        log.info("reusing the synthetic set already in %s", out)
        return out
    return write_synthetic_set(out, per_class=per_class, seed=seed, classes=classes)
