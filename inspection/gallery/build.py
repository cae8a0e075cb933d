"""Build the gallery: pictures of the objects that lack them, then every page.

Work is proportional to the objects shown: each new object is read once from its shard (all
views, to draw its view sheet) and turned into three files; an object whose files exist from an
earlier build is not read at all, so a rebuild costs only the HTML. Shards are visited in order
and each is opened once. A shard that cannot be read does not stop the build: its objects are
shown with the error instead of pictures (``inspect verify`` says more).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

from clip2point.datasets.shards.file_format import open_shard, read_object
from clip2point.errors import ConfigError, ShardError
from clip2point.inspection.gallery.images import ASSET_VERSION, assets_of, missing, write_assets
from clip2point.inspection.gallery.object_page import render_object_page, shard_infos
from clip2point.inspection.gallery.pages import class_page, failures_page, index_page, objects_script
from clip2point.inspection.gallery.records import (STATUSES, GalleryObject, class_slugs, gallery_objects,
                                                 object_page, select)
from clip2point.inspection.summary import Target, summarize
from clip2point.inspection.verify import VerifySettings, verify_index
from clip2point.parallel import map_in_processes
from clip2point.validation import check_choice, check_int

MARKER = "gallery.json"
STATIC = ("gallery.css", "gallery.js")


@dataclasses.dataclass(frozen=True)
class GallerySettings:
    """What to show: ``classes``/``statuses`` (None: all), at most ``per_class`` objects per class,
    the view on the thumbnails, whether to run ``inspect verify`` and show its findings, and how
    many processes draw the pictures."""

    out: Path
    classes: tuple[str, ...] | None = None
    statuses: tuple[str, ...] | None = None
    per_class: int | None = None
    thumb_view: int | None = None
    verify: bool = False
    workers: int = 1

    def __post_init__(self) -> None:
        check_int(self.workers, "--workers", low=1)
        if self.per_class is not None:
            check_int(self.per_class, "--per-class", low=1, hint="objects of each class")
        if self.thumb_view is not None:
            check_int(self.thumb_view, "--thumb-view", low=0, hint="a view number")
        for status in self.statuses or ():
            check_choice(status, "--status", STATUSES)


@dataclasses.dataclass(frozen=True)
class GalleryReport:
    """What a build did: objects shown, pages written, pictures made and reused, seconds."""

    index: Path
    objects: int
    pages: int
    made: int
    reused: int
    picture_errors: int
    seconds: float


def prepare_out(out: Path) -> None:
    """Refuse a folder that holds something other than a gallery: a rebuild replaces the pages,
    so a wrong ``--out`` (the shard folder, a home directory) must never be written into."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder for the gallery")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ConfigError(f"--out {out} is not empty and holds no gallery ({MARKER}); give an empty or new folder")
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("classes", "objects", "data"):
        shutil.rmtree(out / sub, ignore_errors=True)  # pages of an earlier build (other flags); pictures stay


def thumb_view_of(target: Target, asked: int | None) -> int:
    """The view on the thumbnails: the one asked for (checked against the shards' view count),
    else the first oblique view (elevation and azimuth both off the axes: it shows three sides of
    an object, where a front view shows a chair as a thin line), else view 0."""
    shards = [s for s in target.index["shards"] if s.get("shapes") and s.get("file")]
    views = min((int(s["shapes"]["rgb"][0]) for s in shards), default=None)
    if asked is not None:
        if views is not None and asked >= views:
            raise ConfigError(f"--thumb-view {asked}: the shards have {views} views (0 to {views - 1})")
        return asked
    if not shards:
        return 0
    try:
        with open_shard(target.root / shards[0]["file"]) as h5:
            elev, azim = h5["elev"][0], h5["azim"][0]
    except (ShardError, OSError, KeyError):
        return 0
    oblique = [v for v, (e, a) in enumerate(zip(elev, azim)) if float(e) % 90 and float(a) % 90]
    return oblique[0] if oblique else 0


def _shard_pictures(path: Path, out: Path, todo: list[tuple[str, int, str]], thumb_view: int
                    ) -> tuple[int, dict[str, str]]:
    """Pictures of one shard's objects, given as (id, row, content hash): (made, {id: error})."""
    made, errors = 0, {}
    try:
        with open_shard(path) as h5:
            for object_id, row, digest in todo:
                try:
                    arrays = read_object(h5, row, path)
                except ShardError as exc:
                    errors[object_id] = str(exc)
                    continue
                write_assets(out, arrays, assets_of(digest, thumb_view), thumb_view)
                made += 1
    except ShardError as exc:
        errors |= {object_id: str(exc) for object_id, _, _ in todo if object_id not in errors}
    return made, errors


def make_pictures(target: Target, out: Path, objects: Sequence[GalleryObject], thumb_view: int, workers: int = 1
                  ) -> tuple[int, int, dict[str, str]]:
    """Pictures of the rendered objects that lack them, one task per shard (``workers``
    processes): (made, reused, {object id: error})."""
    todo: dict[int, list[tuple[str, int, str]]] = defaultdict(list)
    reused = 0
    for obj in objects:
        if obj.content_hash is None:
            continue
        if missing(out, assets_of(obj.content_hash, thumb_view)):
            todo[int(obj.shard_id)].append((obj.object_id, int(obj.row), obj.content_hash))
        else:
            reused += 1
    tasks = [(target.shard_file(shard_id), out, todo[shard_id], thumb_view) for shard_id in sorted(todo)]
    results = map_in_processes(_shard_pictures, tasks, workers=workers)
    errors = {k: v for _, found in results for k, v in found.items()}
    return sum(made for made, _ in results), reused, errors


def _static(out: Path) -> None:
    folder = resources.files(__package__).joinpath("static")
    for name in STATIC:
        (out / name).write_text(folder.joinpath(name).read_text(encoding="utf-8"), encoding="utf-8")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _selection_note(settings: GallerySettings, shown: int, every: int) -> str:
    if shown == every:
        return ""
    flags = [f"--classes {' '.join(settings.classes)}" if settings.classes else "",
             f"--status {' '.join(settings.statuses)}" if settings.statuses else "",
             f"--per-class {settings.per_class}" if settings.per_class else ""]
    return f"This gallery shows {shown} of the folder's {every} objects ({' '.join(f for f in flags if f)})."


def build_gallery(target: Target, settings: GallerySettings) -> GalleryReport:
    """Write the whole site into ``settings.out`` and return what was done."""
    start = time.perf_counter()
    thumb_view = thumb_view_of(target, settings.thumb_view)
    out = settings.out
    prepare_out(out)
    summary = summarize(target)
    report = verify_index(target.root, target.index, VerifySettings()) if settings.verify else None
    every = gallery_objects(target.index, report)
    shown = select(every, classes=settings.classes, statuses=settings.statuses, per_class=settings.per_class)
    made, reused, errors = make_pictures(target, out, shown, thumb_view, settings.workers)
    shown = [dataclasses.replace(o, picture_error=errors[o.object_id]) if o.object_id in errors else o for o in shown]
    slugs, infos = class_slugs(shown), shard_infos(target.index)
    _static(out)
    _write(out / "data" / "objects.js", objects_script(shown, slugs))
    note = _selection_note(settings, len(shown), len(every))
    _write(out / "index.html", index_page(summary, every, shown, slugs, note))
    by_class: dict[str, list[GalleryObject]] = defaultdict(list)
    for obj in shown:
        by_class[obj.class_name].append(obj)
    totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
    for obj in every:
        totals[obj.class_name][obj.status] += 1
    for name, objs in by_class.items():
        _write(out / "classes" / f"{slugs[name]}.html", class_page(name, objs, totals[name], slugs, thumb_view))
        for i, obj in enumerate(objs):
            page = render_object_page(obj, slugs=slugs, info=infos.get(obj.shard_id) if obj.row is not None else None,
                                      thumb_view=thumb_view, verified=report is not None,
                                      prev=objs[i - 1] if i else None, nxt=objs[i + 1] if i + 1 < len(objs) else None)
            _write(out / object_page(obj, slugs), page)
    shard_problems = [p["text"] for p in (report or {}).get("problems", []) if not p.get("object_id")]
    _write(out / "failures.html", failures_page(every, slugs, {o.object_id for o in shown}, shard_problems))
    seconds = time.perf_counter() - start
    result = GalleryReport(out / "index.html", len(shown), 2 + len(by_class) + len(shown), made, reused, len(errors),
                           seconds)
    marker: dict[str, Any] = {"format": "clip2point-gallery", "asset_version": ASSET_VERSION,
                              "shards": str(target.root), "settings": _jsonable(settings), "thumb_view": thumb_view,
                              "report": _jsonable(result)}
    _write(out / MARKER, json.dumps(marker, indent=1, sort_keys=True) + "\n")
    return result


def _jsonable(obj: Any) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(obj).items()}
