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
import os
import re
from pathlib import Path
from typing import Any, Iterator, NamedTuple

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


def read_manifest_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line or row number, row) for each row of a JSONL or CSV manifest; :func:`manifest_where`
    turns the number into ``FILE line N`` / ``FILE row N`` for messages."""
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
                yield number, row
    elif suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in ("id", "path") if c not in (reader.fieldnames or [])]
            if missing:
                raise ConfigError(f"{path}: the CSV header lacks {' and '.join(missing)}; it needs id,path[,label,split]")
            for number, row in enumerate(reader, start=2):
                yield number, {k: v for k, v in row.items() if k is not None and v not in (None, "")}
    else:
        raise ConfigError(f"{path}: manifest must be .jsonl, .ndjson or .csv; got {suffix or 'no suffix'!r}")


def manifest_where(path: Path, number: int) -> str:
    return f"{path} {'row' if path.suffix.lower() == '.csv' else 'line'} {number}"


class _Row(NamedTuple):
    """A checked manifest row, held (instead of the row's dict) until the labels are numbered."""

    object_id: str
    label: str  # "" when the row names none
    split: str
    path: str
    root: str | None
    metadata: tuple[tuple[str, str], ...]
    number: int


class _Folders:
    """One ``Path`` per folder under ``base`` the meshes lie in, shared by its meshes: a Path holds
    its parts and string (~300 bytes), and 800,000 rows name far fewer folders (Objaverse: 160)."""

    def __init__(self, base: Path) -> None:
        self.base, self._known = base, dict[str, Path]()

    def folder(self, relative: str) -> Path:
        found = self._known.get(relative)
        if found is None:
            found = self._known[relative] = self.base / relative
        return found

    def file(self, relative: str) -> tuple[Path, Path, str]:
        """The file's folder, its Path and, for ``stat``, its string (not cached on the Path:
        that would hold another copy of it per object)."""
        head, name = os.path.split(relative)
        folder = self.folder(head)
        return folder, folder / name, os.path.join(str(folder), name)


def _checked_rows(path: Path) -> list[_Row]:
    """Every row of the manifest, checked, as a compact record; equal strings (labels, splits,
    metadata) shared, since a collection repeats them across its rows."""
    rows: list[_Row] = []
    seen: set[str] = set()
    shared: dict[Any, Any] = {}
    for number, row in read_manifest_rows(path):
        object_id = check_object_id(row.get("id"), manifest_where(path, number))
        if object_id in seen:
            first = next(n for n, r in read_manifest_rows(path) if r.get("id") == object_id)
            raise ConfigError(f"{manifest_where(path, number)}: id {object_id!r} is already used by "
                              f"{manifest_where(path, first)}; ids must be unique")
        seen.add(object_id)
        for column in ("path", "label", "split", "root"):
            if column in row and not (isinstance(row[column], str) and row[column].strip()):
                raise ConfigError(f"{manifest_where(path, number)}: {column} must be a non-empty string; "
                                  f"got {row[column]!r}")
        if "path" not in row:
            raise ConfigError(f"{manifest_where(path, number)}: no 'path' (the mesh file, relative to the manifest "
                              "or absolute)")
        metadata = tuple(sorted((k, json.dumps(v) if not isinstance(v, str) else v)
                                for k, v in row.items() if k not in MANIFEST_COLUMNS))
        label, split = row.get("label", ""), row.get("split", "train")
        rows.append(_Row(object_id, shared.setdefault(label, label), shared.setdefault(split, split), row["path"],
                         row.get("root"), shared.setdefault(metadata, metadata), number))
    return rows


def build_manifest_index(path: str | Path) -> tuple[ShapeNetIndex, tuple[str, ...]]:
    """The index of a manifest and its class names (sorted labels; label = position)."""
    path = Path(path)
    rows = _checked_rows(path)
    listed = len(rows)
    class_names = tuple(sorted({row.label for row in rows if row.label}))
    labels = {name: number for number, name in enumerate(class_names)}
    folders = _Folders(path.parent)
    entries, failed = [], []
    rows.sort(key=lambda row: row.object_id, reverse=True)
    while rows:  # smallest id first; each row is dropped as its entry is made
        row = rows.pop()
        folder, mesh, mesh_str = folders.file(row.path)
        if not os.path.isfile(mesh_str):
            failed.append(ExcludedEntry(row.object_id, row.label, row.split,
                                        f"{manifest_where(path, row.number)}: mesh {mesh} does not exist"))
            continue
        root = folder if row.root is None else folders.folder(row.root)
        entries.append(ShapeNetEntry(row.object_id, row.label, row.object_id, row.split,
                                     labels.get(row.label, UNLABELLED), mesh, root, row.metadata))
    index = ShapeNetIndex(path, tuple(entries), (), tuple(failed), 0)
    log.info("%s: %d rows -> %d to render, %d failed before rendering (mesh absent)", path, listed,
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
    folders, real_root = _Folders(root), root.resolve()
    for uid in wanted:
        check_object_id(uid, f"{paths_file} uid {uid!r}")
        category = category_of.get(uid, "")
        relative = paths.get(uid)
        if not isinstance(relative, str) or not relative:
            failed.append(ExcludedEntry(uid, category, split, "in lvis-annotations.json but not in object-paths.json"))
            continue
        _, mesh, mesh_str = folders.file(relative)
        if os.path.isabs(relative) or not Path(os.path.realpath(mesh_str)).is_relative_to(real_root):
            failed.append(ExcludedEntry(uid, category, split, f"{paths_file} uid {uid!r}: path {relative!r} leaves {root}"))
        elif not os.path.isfile(mesh_str):
            failed.append(ExcludedEntry(uid, category, split, f"listed in object-paths.json but {mesh} is not "
                                        "downloaded"))
        else:
            entries.append(ShapeNetEntry(uid, category, uid, split, labels.get(category, UNLABELLED), mesh, mesh))
    index = ShapeNetIndex(root, tuple(entries), (), tuple(failed), 0)
    log.info("%s: %d listed%s -> %d to render, %d failed before rendering (not downloaded)", root, len(wanted),
             " LVIS objects" if lvis else "", len(entries), len(failed))
    return index, class_names
