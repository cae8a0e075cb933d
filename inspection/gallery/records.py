"""What the gallery says about each object, taken from the shard index (markers, ``index.json``).

Every object of the folder becomes one :class:`GalleryObject`: rendered ones with their shard
row and content hash, failed and skipped ones with their reason. Nothing here reads a shard file,
so the same records serve any source (ShapeNet, synthetic, manifests, Objaverse) and folders
merged from several nodes, all of which the index describes alike.

Fields that only some producers write are shown when present and never required: a per-object
texture status (``texture_status`` / ``texture_detail``, see :func:`texture_of`), a source path
(:data:`SOURCE_KEYS`) and any other metadata a record carries.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import Counter, defaultdict
from typing import Any, Iterable, Mapping, Sequence

from clip2point.datasets.shards import SHAPENET_LABELS, class_names_of
from clip2point.datasets.taxonomy import CLASS_NAMES
from clip2point.errors import ConfigError
from clip2point.inspection.summary import class_name

STATUSES = ("rendered", "failed", "skipped")
# Texture statuses that mean nothing was lost: anything else (missing, refused_outside,
# undecodable, over_budget, ...) is a lost texture and is listed on the failures page.
TEXTURE_KEPT = ("textured", "untextured_by_source")
SOURCE_KEYS = ("source_path", "source", "path", "mesh_path")
TEXTURE_KEYS = ("texture_status", "texture_detail")
_INDEX_KEYS = {"object_id", "synset", "label", "split", "hash", "shard_id", "row", "status", "reason"}


@dataclasses.dataclass(frozen=True)
class GalleryObject:
    """One object as the gallery shows it; ``shard_id``/``row``/``content_hash`` only when rendered."""

    object_id: str
    class_name: str
    status: str
    synset: str
    split: str
    label: int | None = None
    content_hash: str | None = None
    shard_id: int | None = None
    row: int | None = None
    reason: str | None = None
    texture: str | None = None
    texture_detail: str | None = None
    source: str | None = None
    findings: tuple[str, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()
    picture_error: str | None = None  # set by the build when the object's shard could not be read

    @property
    def pictured(self) -> bool:
        """Rendered and its pictures made (the pages show them)."""
        return self.content_hash is not None and self.picture_error is None

    @property
    def texture_lost(self) -> bool:
        return self.texture is not None and self.texture not in TEXTURE_KEPT


def slug(text: str) -> str:
    """A file name for an id or class name: itself when already safe, else its safe characters
    plus a short hash of the original, so two names never share a file (``a/b`` vs ``a_b``)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "x"
    if safe == text and safe == safe.lower() and len(safe) <= 100:
        return safe
    return f"{safe[:80].lower()}-{hashlib.sha1(text.encode()).hexdigest()[:10]}"


def texture_of(record: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(texture status, detail) of an index record as the shard writer records it
    (``texture_status``, ``texture_detail``: ``datasets.shards.file_format``), or (None, None) for
    records without one (failed and skipped objects). ``unrecorded`` (folders rendered before
    texture status existed) is shown as such."""
    value = record.get("texture_status")
    if not value:
        return None, None
    return str(value), (str(record["texture_detail"]) if record.get("texture_detail") else None)


def _source_of(record: Mapping[str, Any]) -> str | None:
    return next((str(record[k]) for k in SOURCE_KEYS if record.get(k)), None)


def _extra_of(record: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    skip = _INDEX_KEYS | set(SOURCE_KEYS) | set(TEXTURE_KEYS)
    return tuple((k, str(v)) for k, v in sorted(record.items()) if k not in skip)


def _failure_class(synset: str, names: Sequence[str], synset_labels: Mapping[str, int]) -> str:
    """A failed object has no label: its class is the one its synset has among the rendered
    objects, else ShapeNet's name of the synset when the labels are ShapeNet's, else the synset."""
    if synset in synset_labels:
        return class_name(names, synset_labels[synset])
    if list(names) == list(CLASS_NAMES) and synset in SHAPENET_LABELS:
        return CLASS_NAMES[SHAPENET_LABELS[synset]]
    return synset or "unknown"


def findings_by_object(report: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """``inspect verify`` problems per object id (empty without a report)."""
    found: dict[str, list[str]] = defaultdict(list)
    for problem in (report or {}).get("problems", []):
        if problem.get("object_id"):
            found[problem["object_id"]].append(f"{problem['check']}: {problem['message']}")
    return dict(found)


def gallery_objects(index: Mapping[str, Any], verify_report: Mapping[str, Any] | None = None) -> list[GalleryObject]:
    """Every object of the index (rendered, failed, skipped), sorted by class then id."""
    names = class_names_of(index)
    synset_labels = {o["synset"]: int(o["label"]) for o in index["objects"]}
    findings = findings_by_object(verify_report)
    out = []
    for rec in index["objects"]:
        texture, detail = texture_of(rec)
        out.append(GalleryObject(
            rec["object_id"], class_name(names, int(rec["label"])), "rendered", rec["synset"], rec["split"],
            label=int(rec["label"]), content_hash=rec["hash"], shard_id=int(rec["shard_id"]), row=int(rec["row"]),
            texture=texture, texture_detail=detail, source=_source_of(rec),
            findings=tuple(findings.get(rec["object_id"], ())), extra=_extra_of(rec)))
    for rec in list(index["failures"]) + list(index["skipped"]):
        texture, detail = texture_of(rec)
        out.append(GalleryObject(
            rec["object_id"], _failure_class(rec["synset"], names, synset_labels), rec["status"], rec["synset"],
            rec["split"], shard_id=rec.get("shard_id"), reason=rec["reason"], texture=texture,
            texture_detail=detail, source=_source_of(rec), extra=_extra_of(rec)))
    return sorted(out, key=lambda o: (o.class_name, o.object_id))


def select(objects: Iterable[GalleryObject], *, classes: Sequence[str] | None = None,
           statuses: Sequence[str] | None = None, per_class: int | None = None) -> list[GalleryObject]:
    """The objects the gallery shows: of ``classes`` and ``statuses`` (all when None), at most
    ``per_class`` of each class (the first by id: the same objects on every rebuild)."""
    objects = list(objects)
    if classes:
        known = {o.class_name for o in objects}
        unknown = [c for c in classes if c not in known]
        if unknown:
            raise ConfigError(f"--classes: no objects of class {', '.join(map(repr, unknown))} in the shards; "
                              f"classes there: {', '.join(sorted(known)[:12])}{' ...' if len(known) > 12 else ''}")
        objects = [o for o in objects if o.class_name in set(classes)]
    if statuses:
        objects = [o for o in objects if o.status in set(statuses)]
    if per_class is not None:
        taken: Counter[str] = Counter()
        kept = []
        for obj in objects:
            if taken[obj.class_name] < per_class:
                taken[obj.class_name] += 1
                kept.append(obj)
        objects = kept
    return objects


def class_slugs(objects: Iterable[GalleryObject]) -> dict[str, str]:
    return {name: slug(name) for name in sorted({o.class_name for o in objects})}


def object_page(obj: GalleryObject, slugs: Mapping[str, str]) -> str:
    """The object's page, relative to the gallery root."""
    return f"objects/{slugs[obj.class_name]}/{slug(obj.object_id)}.html"


def counts_by_class(objects: Iterable[GalleryObject]) -> dict[str, Counter[str]]:
    """``{class: Counter(status)}`` over the given objects, sorted by class."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for obj in objects:
        out[obj.class_name][obj.status] += 1
    return dict(sorted(out.items()))
