"""The ShapeNetCore v2 index: which objects a generation job renders, skips or records as failed.

The job's input is the ShapeNet-55 split (``train.txt`` / ``test.txt``, one ``SYNSET-MODEL_ID.npy``
per line), not whatever happens to be on disk: the paper's object count (52,460) is the split's
52,470 entries minus the reference's 10-entry drop list (SPEC §1). Every listed entry therefore
ends in exactly one bucket: to render, skipped by that rule, or failed before rendering (mesh
absent, unknown synset) -- nothing is dropped silently. Works for any folder in that layout,
including the built-in synthetic set.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from clip2point.datasets.taxonomy import SYNSET_IDS
from clip2point.errors import ConfigError

log = logging.getLogger(__name__)

SPLITS = ("train", "test")
MESH_RELPATH = Path("models") / "model_normalized.obj"

# The reference drops every split entry whose key (below) equals one of these (SPEC §1).
PAPER_SKIP_KEYS: frozenset[str] = frozenset({
    "03001627-udf068a6b", "03001627-u6028f63e", "03001627-uca24feec", "04379243-",
    "02747177-", "03001627-u481ebf18", "03001627-u45c7b89f", "03001627-ub5d972a1",
    "03001627-u1e22cc04", "03001627-ue639c33f",
})


@dataclass(frozen=True, slots=True)
class ShapeNetEntry:
    """One model to render. ``object_id`` is ``SYNSET-MODEL_ID`` (the split line minus ``.npy``).

    ``asset_root`` is the folder the mesh's textures and material libraries must lie in
    (``SYNSET/MODEL_ID``: ShapeNet keeps textures in ``images/`` beside ``models/``); None means
    the mesh's own folder. ``metadata`` carries a manifest row's extra columns."""

    object_id: str
    synset: str
    model_id: str
    split: str
    label: int
    mesh_path: Path
    asset_root: Path | None = None
    metadata: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ExcludedEntry:
    """A listed model that will not be rendered, with the reason a person can act on."""

    object_id: str
    synset: str
    split: str
    reason: str


@dataclass(frozen=True)
class ShapeNetIndex:
    """Every split entry in exactly one of ``entries`` / ``skipped`` / ``failed`` (id-sorted).

    ``unlisted`` counts models present on disk but named by no split file (not job inputs)."""

    root: Path
    entries: tuple[ShapeNetEntry, ...]
    skipped: tuple[ExcludedEntry, ...]
    failed: tuple[ExcludedEntry, ...]
    unlisted: int

    @property
    def num_listed(self) -> int:
        return len(self.entries) + len(self.skipped) + len(self.failed)


def skip_key(object_id: str) -> str:
    """The reference's key: the synset and the model id up to its first dash (or dot).

    ShapeNet's UUID-style chair ids (``u45c7b89f-d996-...``) are cut at the first dash, which
    is why the drop list holds short keys such as ``03001627-u45c7b89f`` and ``04379243-``."""
    synset, _, model_id = object_id.partition("-")
    return f"{synset}-{model_id.split('-')[0].split('.')[0]}"


def skip_rule(object_id: str) -> str | None:
    """The rule that drops this entry, or None when the entry is rendered."""
    key = skip_key(object_id)
    if key in PAPER_SKIP_KEYS:
        return f"paper skip list (SPEC §1): key {key!r} is one of the reference's 10 dropped entries"
    return None


def read_split_file(path: Path) -> list[str]:
    """Object ids of one split file, in file order; a malformed line is a ``ConfigError``."""
    if not path.is_file():
        raise ConfigError(f"{path}: split file not found; pass --split-dir with train.txt and test.txt")
    ids = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        synset, dash, _ = line.partition("-")
        if not (line.endswith(".npy") and dash and synset):
            raise ConfigError(f"{path} line {number}: expected 'SYNSET-MODEL_ID.npy', got {line!r}")
        ids.append(line[: -len(".npy")])
    return ids


def read_splits(split_dir: Path) -> dict[str, str]:
    """``object_id -> split`` over train.txt and test.txt; an id listed twice is an error."""
    split_of: dict[str, str] = {}
    for split in SPLITS:
        path = split_dir / f"{split}.txt"
        for object_id in read_split_file(path):
            if object_id in split_of:
                raise ConfigError(
                    f"{path}: {object_id} is already listed in {split_of[object_id]}.txt; "
                    "each model must appear in exactly one split"
                )
            split_of[object_id] = split
    return split_of


def scan_models(root: Path) -> set[str]:
    """Object ids ``SYNSET-MODEL_ID`` of every ``SYNSET/MODEL_ID/models/model_normalized.obj``."""
    if not root.is_dir():
        raise ConfigError(f"{root}: ShapeNet root is not a folder; pass the folder holding the synset folders")
    found = set()
    for synset in os.scandir(root):
        if not synset.is_dir():
            continue
        for model in os.scandir(synset.path):
            if model.is_dir() and (Path(model.path) / MESH_RELPATH).is_file():
                found.add(f"{synset.name}-{model.name}")
    return found


def build_shapenet_index(root: str | Path, split_dir: str | Path | None = None) -> ShapeNetIndex:
    """Classify every split entry under ``root`` (split files default to ``root`` itself)."""
    root = Path(root)
    split_of = read_splits(Path(split_dir) if split_dir is not None else root)
    on_disk = scan_models(root)
    labels = {synset: label for label, synset in enumerate(SYNSET_IDS)}
    entries, skipped, failed = [], [], []
    for object_id in sorted(split_of):
        split = split_of[object_id]
        synset, _, model_id = object_id.partition("-")
        rule = skip_rule(object_id)
        if rule is not None:
            skipped.append(ExcludedEntry(object_id, synset, split, rule))
        elif synset not in labels:
            failed.append(ExcludedEntry(object_id, synset, split,
                                        f"synset {synset} is not one of ShapeNet's 55 synsets"))
        elif object_id not in on_disk:
            failed.append(ExcludedEntry(object_id, synset, split,
                                        f"listed in {split}.txt but {root / synset / model_id / MESH_RELPATH} does not exist"))
        else:
            entries.append(ShapeNetEntry(object_id, synset, model_id, split, labels[synset],
                                         root / synset / model_id / MESH_RELPATH, root / synset / model_id))
    index = ShapeNetIndex(root, tuple(entries), tuple(skipped), tuple(failed), len(on_disk - split_of.keys()))
    log.info("%s: %d listed -> %d to render, %d skipped by rule, %d failed before rendering, %d on disk but unlisted",
             root, index.num_listed, len(entries), len(skipped), len(failed), index.unlisted)
    return index
