"""Mesh collections other than ShapeNet, as the same index the generation job plans from: a
manifest (any collection, one row per mesh) and the folder layout the ``objaverse`` package
downloads. Like the ShapeNet index, every listed object ends in exactly one bucket (to render,
or failed before rendering with a reason), and rows are checked once, with one-line errors that
name the file and row, before any rendering starts.

Manifest (``.jsonl``/``.ndjson``: one JSON object per line; ``.csv``: a header row): ``id``
(unique, safe as a file name), ``path`` (the mesh, relative to the manifest or absolute),
optional ``label`` (a class name), ``split`` (default ``train``) and ``root`` (the folder the
mesh's textures must lie in, relative to the manifest; default the mesh's folder); any other
column is kept as the object's metadata.

Objaverse: ``ROOT/object-paths.json`` maps uid -> ``glbs/000-XXX/UID.glb``; with ``lvis``,
only the uids of ``ROOT/lvis-annotations.json`` (LVIS category -> uids) are taken, each
labelled with its category (labels follow the sorted category list of the file, so a subset
keeps the full set's label numbers) and in split ``test``, the split it is evaluated on. An
Objaverse GLB is self-contained: its asset root is the file itself, so it may read nothing else
(the ``glbs/000-XXX`` folder holds a thousand other objects).
"""

from __future__ import annotations

import csv
import json
import logging
import re
from pathlib import Path
from typing import Any, Iterator

from clip2point.datasets.shapenet import ExcludedEntry, ShapeNetEntry, ShapeNetIndex
from clip2point.errors import ConfigError

log = logging.getLogger(__name__)

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
MANIFEST_COLUMNS = ("id", "path", "label", "split", "root")
UNLABELLED = -1  # the label of an object its collection gives no class


def check_object_id(object_id: Any, where: str) -> str:
    """An id usable as a file name on every system and in shard names: letters, digits, ``. _ -``,
    not starting with a dot or dash (no path separators, no ``..``), at most 200 characters."""
    if not isinstance(object_id, str) or not SAFE_ID.match(object_id):
        raise ConfigError(f"{where}: id {object_id!r} is not safe as a file name; use letters, digits, '.', '_' "
                          "and '-' (not first), at most 200 characters")
    return object_id


def read_manifest_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(``FILE row N`` for messages, row) for each row of a JSONL or CSV manifest."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ConfigError(f"{path}: manifest not found; pass --manifest a .jsonl or .csv file")
    if suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"{path} line {number}: not a JSON object ({exc.msg})") from exc
                if not isinstance(row, dict):
                    raise ConfigError(f"{path} line {number}: expected a JSON object with 'id' and 'path'")
                yield f"{path} line {number}", row
    elif suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in ("id", "path") if c not in (reader.fieldnames or [])]
            if missing:
                raise ConfigError(f"{path}: the CSV header lacks {' and '.join(missing)}; it needs id,path[,label,split]")
            for number, row in enumerate(reader, start=2):
                yield f"{path} row {number}", {k: v for k, v in row.items() if k is not None and v not in (None, "")}
    else:
        raise ConfigError(f"{path}: manifest must be .jsonl, .ndjson or .csv; got {suffix or 'no suffix'!r}")


def build_manifest_index(path: str | Path) -> tuple[ShapeNetIndex, tuple[str, ...]]:
    """The index of a manifest and its class names (sorted labels; label = position)."""
    path = Path(path)
    rows: list[tuple[str, dict[str, Any]]] = []
    seen: dict[str, str] = {}
    for where, row in read_manifest_rows(path):
        object_id = check_object_id(row.get("id"), where)
        if object_id in seen:
            raise ConfigError(f"{where}: id {object_id!r} is already used by {seen[object_id]}; ids must be unique")
        seen[object_id] = where
        for column in ("path", "label", "split", "root"):
            if column in row and not (isinstance(row[column], str) and row[column].strip()):
                raise ConfigError(f"{where}: {column} must be a non-empty string; got {row[column]!r}")
        if "path" not in row:
            raise ConfigError(f"{where}: no 'path' (the mesh file, relative to the manifest or absolute)")
        rows.append((where, row))
    class_names = tuple(sorted({row["label"] for _, row in rows if "label" in row}))
    labels = {name: number for number, name in enumerate(class_names)}
    entries, failed = [], []
    for where, row in sorted(rows, key=lambda item: item[1]["id"]):
        mesh = path.parent / row["path"]
        name, split = row.get("label", ""), row.get("split", "train")
        if not mesh.is_file():
            failed.append(ExcludedEntry(row["id"], name, split, f"{where}: mesh {mesh} does not exist"))
            continue
        root = path.parent / row["root"] if "root" in row else mesh.parent
        metadata = tuple(sorted((k, json.dumps(v) if not isinstance(v, str) else v)
                                for k, v in row.items() if k not in MANIFEST_COLUMNS))
        entries.append(ShapeNetEntry(row["id"], name, row["id"], split, labels.get(name, UNLABELLED), mesh,
                                     root, metadata))
    index = ShapeNetIndex(path, tuple(entries), (), tuple(failed), 0)
    log.info("%s: %d rows -> %d to render, %d failed before rendering (mesh absent)", path, len(rows),
             len(entries), len(failed))
    return index, class_names


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise ConfigError(f"{path}: {what} not found; pass --objaverse the folder objaverse.load_objects fills")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: unreadable {what} ({exc})") from exc


def lvis_categories(root: Path) -> tuple[dict[str, str], tuple[str, ...]]:
    """``uid -> LVIS category`` from ``lvis-annotations.json`` (a uid in two categories is an
    error) and the full category list: every key of the file, sorted (OpenShape's
    ``extract_lvis_feat.py`` orders its text features so), a category without uids included."""
    path = root / "lvis-annotations.json"
    annotations = _read_json(path, "LVIS annotations")
    if not isinstance(annotations, dict) or not all(isinstance(v, list) for v in annotations.values()):
        raise ConfigError(f"{path}: expected {{category: [uid, ...]}}")
    category_of: dict[str, str] = {}
    for category, uids in sorted(annotations.items()):
        for uid in uids:
            if uid in category_of:
                raise ConfigError(f"{path}: uid {uid} is in both {category_of[uid]!r} and {category!r}")
            category_of[uid] = category
    return category_of, tuple(sorted(annotations))


def build_objaverse_index(root: str | Path, *, lvis: bool = False) -> tuple[ShapeNetIndex, tuple[str, ...]]:
    """The index of an Objaverse download folder and its class names (LVIS categories or none)."""
    root = Path(root)
    paths_file = root / "object-paths.json"
    paths = _read_json(paths_file, "object-paths.json")
    if not isinstance(paths, dict):
        raise ConfigError(f"{paths_file}: expected {{uid: 'glbs/000-XXX/UID.glb'}}")
    category_of, class_names = lvis_categories(root) if lvis else ({}, ())
    labels = {name: number for number, name in enumerate(class_names)}
    wanted = sorted(category_of) if lvis else sorted(paths)
    split = "test" if lvis else "train"
    entries, failed = [], []
    for uid in wanted:
        where = f"{paths_file} uid {uid!r}"
        check_object_id(uid, where)
        category = category_of.get(uid, "")
        relative = paths.get(uid)
        if not isinstance(relative, str) or not relative:
            failed.append(ExcludedEntry(uid, category, split, "in lvis-annotations.json but not in object-paths.json"))
            continue
        mesh = root / relative
        if Path(relative).is_absolute() or not mesh.resolve().is_relative_to(root.resolve()):
            failed.append(ExcludedEntry(uid, category, split, f"{where}: path {relative!r} leaves {root}"))
        elif not mesh.is_file():
            failed.append(ExcludedEntry(uid, category, split, f"listed in object-paths.json but {mesh} is not "
                                        "downloaded"))
        else:
            entries.append(ShapeNetEntry(uid, category, uid, split, labels.get(category, UNLABELLED), mesh, mesh))
    index = ShapeNetIndex(root, tuple(entries), (), tuple(failed), 0)
    log.info("%s: %d listed%s -> %d to render, %d failed before rendering (not downloaded)", root, len(wanted),
             " LVIS objects" if lvis else "", len(entries), len(failed))
    return index, class_names
