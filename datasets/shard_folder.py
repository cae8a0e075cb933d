"""What belongs in a shard folder, and which source its shards were made from.

A job's output folder may hold only the files the job itself writes; anything else (a mesh set,
a training run, a user's notes) means ``--out`` points at the wrong folder, and rendering there
would mix our files into theirs or theirs into the index. And two runs with the same flags but
different sources (``--shapenet A`` then ``--shapenet B``) have the same configuration, so
``config.json`` also records the *source*: its kind, its resolved root and a digest of its object
list. Without that a second dataset "resumed" into the first one's folder and rendered nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

from clip2point.atomic_io import write_json_atomic
from clip2point.datasets.shards import CONFIG_NAME, INDEX_NAME, SKIPPED_NAME, completed_shard_ids, read_config
from clip2point.errors import ConfigError

# Every name a generation job or ``shards merge`` writes; hidden names are crash leftovers
# (``.NAME.tmp-PID``) and set-aside shards keep their name plus ``.bad-STAMP``.
_OURS = re.compile(r"^(config|index|skipped|report(-node\d+)?)\.json$|^shard-\d{5,}\.(h5|json)(\.bad-.+)?$|^\.")


def foreign_entries(folder: Path) -> list[str]:
    """Names in ``folder`` that no job of ours writes (folders with a trailing ``/``), sorted."""
    if not folder.is_dir():
        return []
    return sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir() if not _OURS.match(p.name))


def refuse_foreign_files(folder: Path) -> None:
    """``ConfigError`` (one line) when ``folder`` holds files that are not a shard folder's."""
    found = foreign_entries(folder)
    if found:
        shown = ", ".join(found[:4]) + (f" and {len(found) - 4} more" if len(found) > 4 else "")
        raise ConfigError(f"--out {folder} holds files that are not a shard folder's ({shown}); render into an "
                          "empty or new folder (it is created), never into a mesh set or a run folder")


def is_shard_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a generation job's output (shards, markers, index or skip list)."""
    return folder.is_dir() and (bool(completed_shard_ids(folder)) or any(folder.glob("shard-*.h5"))
                                or (folder / INDEX_NAME).is_file() or (folder / SKIPPED_NAME).is_file())


def source_record(kind: str, root: Path | None, objects: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The source of a job: ``kind`` (synthetic / shapenet / manifest / objaverse[-lvis]), the resolved root (None for the
    built-in set, whose cache folder may move), and the count and sha256 of its sorted
    ``object_id split`` lines, which change with any other dataset or split files."""
    lines = sorted(f"{object_id} {split}" for object_id, split in objects)
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return {"kind": kind, "root": None if root is None else str(Path(root).resolve()),
            "objects": len(lines), "objects_sha256": digest}


def check_job_source(folder: Path, source: Mapping[str, Any], keys: tuple[str, ...] = ("kind", "root")) -> None:
    """Refuse a folder whose ``config.json`` records another source (compared on ``keys``),
    naming both and how to resume. The job compares kind and root first (another dataset is the
    clearer message), then, once the configuration matched, the object list."""
    data = read_config(folder)
    found = (data or {}).get("source")
    if found is None or all(found.get(k) == source.get(k) for k in keys):
        return
    resume = "rerun without --shapenet, --manifest or --objaverse" if found["root"] is None else f"rerun with {_source_flag(found)}"
    same_root = found["kind"] == source["kind"] and found["root"] == source["root"]
    if same_root:
        resume = "restore the split files it was made from"
    raise ConfigError(f"{folder / CONFIG_NAME} holds shards of {_describe(found)}, not of {_describe(source)}; "
                      f"{resume} to resume it, or choose a new output folder")


def record_job_source(folder: Path, source: Mapping[str, Any]) -> None:
    """Add the source to ``config.json`` (a folder from before sources were recorded gets it now)."""
    data = read_config(folder)
    if data is not None and data.get("source") != dict(source):
        write_json_atomic(folder / CONFIG_NAME, {**data, "source": json.loads(json.dumps(dict(source)))})


_SOURCE_FLAGS = {"shapenet": "--shapenet {}", "manifest": "--manifest {}", "objaverse": "--objaverse {}",
                 "objaverse-lvis": "--objaverse {} --lvis"}


def _source_flag(source: Mapping[str, Any]) -> str:
    """The render flags that name ``source`` again (``--shapenet ROOT``, ``--manifest FILE``...)."""
    return _SOURCE_FLAGS.get(source["kind"], "--shapenet {}").format(source["root"])


def _describe(source: Mapping[str, Any]) -> str:
    where = "the built-in synthetic set" if source["root"] is None else f"{source['kind']} {source['root']}"
    return f"{where} ({source['objects']} objects, id list sha256 {source['objects_sha256'][:12]})"
