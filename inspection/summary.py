"""``inspect``: what is in a shard folder (summary), pictures of it (sheet) and one object's files
(export). A target is a shard folder (its ``index.json``, else its markers) or a single
``shard-NNNNN.h5``, so a file found on its own can be examined too. Checks live in
:mod:`clip2point.inspection.verify`.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
from PIL import Image

from clip2point.datasets.shards.file_format import (
    open_shard, read_json_attr, read_object, read_strings, texture_counts, texture_status_of,
)
from clip2point.datasets.shards import INDEX_FORMAT, class_names_of, load_index
from clip2point.errors import ConfigError, ShardError
from clip2point.render.sheets import contact_sheet, depth_tile
from clip2point.validation import check_int, check_int_list


@dataclasses.dataclass(frozen=True)
class Target:
    """Where the shards are (``root``) and their index."""

    root: Path
    index: dict[str, Any]

    def record(self, object_id: str) -> dict[str, Any]:
        for obj in self.index["objects"]:
            if obj["object_id"] == object_id:
                return obj
        raise ConfigError(f"{self.root}: no object {object_id!r} in the shards "
                          "(see `clip2point inspect SHARDS summary --per-object` for the ids)")

    def shard_file(self, shard_id: int) -> Path:
        return self.root / next(s["file"] for s in self.index["shards"] if s["shard_id"] == shard_id)


def open_target(path: str | Path) -> Target:
    """A folder's index, or an index made from one shard file's own contents."""
    path = Path(path)
    if path.is_dir():
        return Target(path, _folder_index(path))
    if path.is_file():
        return Target(path.parent, index_of_file(path))
    raise ShardError(path, "no such shard folder or shard file")


def _folder_index(folder: Path) -> dict[str, Any]:
    """A folder's index; one listing no shard at all is an error, not "OK: 0 shards", because
    it is almost always the wrong folder (a mesh tree, an empty or not yet rendered output)."""
    index = load_index(folder)
    if index["shards"] or index["skipped"]:
        return index
    loose = len(list(folder.glob("shard-*.h5")))
    found = (f"{loose} shard-*.h5 files but no completion markers (shard-NNNNN.json) or index listing them"
             if loose else "no shards (no shard-NNNNN.json completion markers, no index.json listing any)")
    raise ShardError(folder, f"{found}; give the folder `clip2point render --out` wrote, or one shard file")


def index_of_file(path: Path) -> dict[str, Any]:
    """An index over one shard file (no reference checksum: only its content hashes are checked)."""
    with open_shard(path) as h5:
        ids, synsets, splits, hashes, textures, details = (read_strings(h5, n) for n in (
            "object_id", "synset", "split", "content_hash", "texture_status", "texture_detail"))
        labels = h5["label"][()].tolist()
        shard_id, version = int(h5.attrs.get("shard_id", 0)), int(h5.attrs["schema_version"])
        config, class_names = read_json_attr(h5, "config"), read_json_attr(h5, "class_names")
        code = read_json_attr(h5, "code_version")
        shapes = {"rgb": list(h5["rgb"].shape[1:]), "points": list(h5["points"].shape[1:])}
    objects = [{"object_id": i, "synset": s, "label": int(lb), "split": sp, "hash": h, "texture_status": t,
                "texture_detail": d, "shard_id": shard_id, "row": r}
               for r, (i, s, lb, sp, h, t, d) in enumerate(zip(ids, synsets, labels, splits, hashes, textures, details))]
    shard = {"shard_id": shard_id, "file": path.name, "checksum": None, "bytes": path.stat().st_size,
             "shapes": shapes, "num_objects": len(objects), "num_failures": 0}
    return {"format": INDEX_FORMAT, "schema_version": version, "config": config, "code_version": code,
            "class_names": class_names, "shards": [shard], "objects": objects, "failures": [], "skipped": [],
            "counts": {"shards": 1, "objects": len(objects), "failed": 0, "skipped": 0}}


def unreadable_shards(target: Target) -> list[dict[str, str]]:
    """Shards whose file is missing or does not open as a shard of this schema (metadata only)."""
    bad = []
    for shard in target.index["shards"]:
        if not shard.get("file"):
            continue
        try:
            open_shard(target.root / shard["file"]).close()
        except ShardError as exc:
            bad.append({"file": shard["file"], "reason": exc.reason, "text": str(exc)})
    return bad


def class_name(names: Sequence[str], label: int) -> str:
    """The name of a label (``class N`` for a label the names do not cover)."""
    return names[label] if 0 <= label < len(names) else f"class {label}"


def summarize(target: Target, *, per_object: bool = False) -> dict[str, Any]:
    """Counts by class and split, configuration, failures; ``per_object`` lists every object."""
    index, names = target.index, class_names_of(target.index)
    objects = index["objects"]
    summary = {
        "root": str(target.root),
        "schema_version": index["schema_version"],
        "shards": len(index["shards"]),
        "bytes": sum(int(s.get("bytes") or 0) for s in index["shards"]),
        "objects": len(objects),
        "failed": len(index["failures"]),
        "skipped": len(index["skipped"]),
        "classes": dict(sorted(Counter(class_name(names, int(o["label"])) for o in objects).items())),
        "splits": dict(sorted(Counter(o["split"] for o in objects).items())),
        "texture_status": texture_counts(objects),
        "views": _view_shape(index),
        "config": index.get("config"),
        "code_version": index.get("code_version"),
        "failures": index["failures"],
        "skipped_objects": index["skipped"],
        "unreadable": unreadable_shards(target),
    }
    if per_object:
        summary["per_object"] = per_object_status(index)
    return summary


def _view_shape(index: dict[str, Any]) -> list[int] | None:
    shapes = [s["shapes"]["rgb"] for s in index["shards"] if s.get("shapes")]
    return shapes[0] if shapes else None


def per_object_status(index: dict[str, Any]) -> list[dict[str, Any]]:
    """Every object, id-sorted: ``ok`` with its content hash, or ``failed``/``skipped`` with why."""
    rows = [{"id": o["object_id"], "status": "ok", "hash": o["hash"], "shard": o["shard_id"],
             "texture_status": texture_status_of(o), "texture_detail": o.get("texture_detail", "")}
            for o in index["objects"]]
    rows += [{"id": f["object_id"], "status": f["status"], "hash": None, "reason": f["reason"]}
             for f in index["failures"] + index["skipped"]]
    return sorted(rows, key=lambda r: r["id"])


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as lines a person reads."""
    lines = [
        f"{summary['root']}: schema v{summary['schema_version']}, {summary['shards']} shards, "
        f"{summary['bytes'] / 2**20:.1f} MiB, views {summary['views']}",
        f"objects {summary['objects']}  failed {summary['failed']}  skipped {summary['skipped']}",
        "splits: " + ", ".join(f"{k} {v}" for k, v in summary["splits"].items()),
        "textures: " + ", ".join(f"{k} {v}" for k, v in summary["texture_status"].items()),
        "classes: " + ", ".join(f"{k} {v}" for k, v in summary["classes"].items()),
        "config: " + json.dumps(summary["config"], sort_keys=True),
    ]
    lines += [f"failed {f['object_id']}: {f['reason']}" for f in summary["failures"]]
    lines += [f"skipped {f['object_id']}: {f['reason']}" for f in summary["skipped_objects"]]
    lines += [f"UNREADABLE {u['text']}" for u in summary["unreadable"]]
    lines += [f"{r['id']}  {r['status']}  {r['hash'] or r.get('reason', '')}"
              + (f"  texture {r['texture_status']}" if r.get("texture_status") else "")
              + (f" ({r['texture_detail']})" if r.get("texture_detail") else "") for r in summary.get("per_object", [])]
    return "\n".join(lines)


def check_random(random_n: int) -> int:
    """``--random``: a count of objects to show, at least one."""
    return check_int(random_n, "--random", low=1, hint="objects to show")


def choose_ids(target: Target, ids: Sequence[str] | None, random_n: int | None, seed: int) -> list[str]:
    """The ids asked for (checked), or ``random_n`` drawn with ``seed`` from the objects."""
    if random_n is not None:
        check_random(random_n)
    if ids:
        for oid in ids:
            target.record(oid)
        return list(ids)
    every = [o["object_id"] for o in target.index["objects"]]
    if not every:
        raise ShardError(target.root, "no rendered objects to show")
    n = min(random_n or 4, len(every))
    return [every[i] for i in sorted(np.random.default_rng(seed).choice(len(every), n, replace=False))]


def read_objects(target: Target, ids: Iterable[str]) -> list[dict[str, Any]]:
    """Arrays and labels of the objects, each read from its shard."""
    out = []
    for oid in ids:
        record = target.record(oid)
        path = target.shard_file(record["shard_id"])
        with open_shard(path) as h5:
            out.append(read_object(h5, record["row"], path))
    return out


def make_sheet(target: Target, ids: Sequence[str], *, views: Sequence[int] | None = None, tile: int = 112) -> Image.Image:
    """Rows of RGB/depth pairs, one row per object, labelled with id and class."""
    names = class_names_of(target.index)
    objects = read_objects(target, ids)
    num_views = objects[0]["rgb"].shape[0]
    chosen = list(views) if views else list(range(num_views))
    check_int_list(chosen, "--views", low=0, high=num_views - 1, hint="view numbers of these shards")
    rows = [[t for v in chosen for t in (o["rgb"][v], depth_tile(o["depth"][v]))] for o in objects]
    labels = [f"{o['object_id'][:12]} {names[o['label']] if o['label'] < len(names) else o['label']}" for o in objects]
    columns = [f"{kind} {v}" for v in chosen for kind in ("rgb", "depth")]
    return contact_sheet(rows, row_labels=labels, col_labels=columns, tile=tile)


def write_ply(path: Path, points: np.ndarray) -> Path:
    """ASCII PLY of xyz points (opens in MeshLab, CloudCompare, open3d)."""
    header = f"ply\nformat ascii 1.0\nelement vertex {len(points)}\nproperty float x\nproperty float y\nproperty float z\nend_header\n"
    body = "\n".join(f"{x:.7g} {y:.7g} {z:.7g}" for x, y, z in points.astype(np.float64))
    path.write_text(header + body + "\n", encoding="ascii")
    return path


def export_object(target: Target, object_id: str, out: str | Path) -> list[Path]:
    """``rgb-K.png``, ``depth-K.png`` (viewable), ``depth.npy`` (raw), ``points.ply`` and
    ``meta.json`` (labels, cameras, hash) of one object in ``out``."""
    obj = read_objects(target, [object_id])[0]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for v, (rgb, depth) in enumerate(zip(obj["rgb"], obj["depth"])):
        Image.fromarray(rgb).save(out / f"rgb-{v}.png")
        Image.fromarray((depth_tile(depth) * 255 + 0.5).astype(np.uint8)).save(out / f"depth-{v}.png")
        written += [out / f"rgb-{v}.png", out / f"depth-{v}.png"]
    np.save(out / "depth.npy", obj["depth"])
    written += [out / "depth.npy", write_ply(out / "points.ply", obj["points"])]
    meta = {k: obj[k] for k in ("object_id", "synset", "label", "split", "content_hash", "content_hash_algorithm")}
    meta |= {k: obj[k].tolist() for k in ("elev", "azim", "dist")}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return written + [out / "meta.json"]
