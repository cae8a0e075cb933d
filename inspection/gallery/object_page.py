"""One object's page: every view as an RGB/depth pair, the points as a turntable (a canvas that
``gallery.js`` draws from the object's point preview, dragged to turn), and its record.

The views come from one sheet image per object (a row per view: RGB | depth); each pair on the
page shows its part of the sheet (``object-position``), so a page loads one picture, not 2×V.
"""

from __future__ import annotations

import dataclasses
import re
from html import escape
from typing import Mapping, Sequence

from clip2point.inspection.gallery.images import assets_of, view_tile_px
from clip2point.inspection.gallery.pages import badges, layout
from clip2point.inspection.gallery.records import GalleryObject, object_page

ROOT = "../../"


@dataclasses.dataclass(frozen=True)
class ShardInfo:
    """What the page needs from the object's shard entry in the index."""

    file: str
    num_views: int
    image_px: int


def shard_infos(index: Mapping) -> dict[int, ShardInfo]:
    out = {}
    for shard in index["shards"]:
        if shard.get("file") and shard.get("shapes"):
            rgb = shard["shapes"]["rgb"]
            out[int(shard["shard_id"])] = ShardInfo(shard["file"], int(rgb[0]), int(rgb[1]))
    return out


def flagged_views(findings: Sequence[str]) -> set[int]:
    """The views ``verify`` named in its findings ("RGB view 3 is blank", "view 4: depth map ...")."""
    return {int(m) for f in findings for m in re.findall(r"\bview (\d+)\b", f)}


def _views(obj: GalleryObject, info: ShardInfo, thumb_view: int) -> str:
    sheet = escape(ROOT + assets_of(obj.content_hash or "", thumb_view).views)
    px = view_tile_px(info.image_px)
    flagged = flagged_views(obj.findings)
    figures = []
    for v in range(info.num_views):
        imgs = "".join(
            f'<img class="{kind}" src="{sheet}" width="{px}" height="{px}" loading="lazy" '
            f'style="object-position:-{col * px}px -{v * px}px" alt="{kind} view {v} of {escape(obj.object_id)}">'
            for col, kind in enumerate(("rgb", "depth")))
        mark = (' flagged', ' · <b>flagged by verify</b>') if v in flagged else ("", "")
        figures.append(f'<figure class="view{mark[0]}" data-view="{v}"><div class="pair">{imgs}</div>'
                       f'<figcaption>view {v}: RGB | depth{mark[1]}</figcaption></figure>')
    return f'<h2>Views ({info.num_views})</h2><div class="views">{"".join(figures)}</div>'


def _record(obj: GalleryObject, slugs: Mapping[str, str], info: ShardInfo | None, verified: bool) -> str:
    if not verified:
        findings = "not checked (build with --verify, or run `inspect verify`)"
    elif obj.findings:
        findings = "<ul>" + "".join(f"<li>{escape(f)}</li>" for f in obj.findings) + "</ul>"
    else:
        findings = "none"
    rows: list[tuple[str, str]] = [
        ("id", escape(obj.object_id)),
        ("class", f'<a href="{ROOT}classes/{escape(slugs[obj.class_name])}.html">{escape(obj.class_name)}</a>'
                  + (f" (label {obj.label})" if obj.label is not None else "")),
        ("synset", escape(obj.synset)), ("split", escape(obj.split)), ("status", badges(obj)),
    ]
    if obj.reason:
        rows.append(("reason", f'<span class="reason">{escape(obj.reason)}</span>'))
    rows.append(("source path", escape(obj.source) if obj.source else '<span class="muted">not recorded</span>'))
    if obj.content_hash:
        rows.append(("content hash", f"<code>{escape(obj.content_hash)}</code>"))
    if info is not None and obj.row is not None:
        rows.append(("shard", f"{escape(info.file)}, row {obj.row}"))
    texture = ('<span class="muted">not recorded by these shards</span>' if obj.texture is None
               else escape(obj.texture + (f": {obj.texture_detail}" if obj.texture_detail else "")))
    rows.append(("texture", texture))
    if obj.status == "rendered":
        rows.append(("verify", findings))
    rows += [(escape(k), escape(v)) for k, v in obj.extra]
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="record" id="record">{body}</table>'


def _neighbours(obj: GalleryObject, prev: GalleryObject | None, nxt: GalleryObject | None,
                slugs: Mapping[str, str]) -> str:
    def link(other: GalleryObject | None, text: str, rel: str) -> str:
        if other is None:
            return f'<span class="muted">{text}</span>'
        return f'<a rel="{rel}" href="{ROOT}{escape(object_page(other, slugs))}">{text}: {escape(other.object_id)}</a>'
    return f'<nav class="neighbours">{link(prev, "previous", "prev")} · {link(nxt, "next", "next")}</nav>'


def render_object_page(obj: GalleryObject, *, slugs: Mapping[str, str], info: ShardInfo | None, thumb_view: int,
                       verified: bool, prev: GalleryObject | None = None, nxt: GalleryObject | None = None) -> str:
    """The page of one object (rendered: views, points and record; failed/skipped: the record)."""
    scripts: Sequence[str] = ()
    parts = [f'<h1>{escape(obj.object_id)}</h1>', _neighbours(obj, prev, nxt, slugs)]
    if obj.pictured and info is not None:
        scripts = [ROOT + assets_of(obj.content_hash, thumb_view).points]
        parts.append('<div class="object"><div class="left"><h2>Record</h2>' + _record(obj, slugs, info, verified)
                     + '</div><div class="right"><h2>Points</h2><canvas id="points" width="300" height="300" '
                     'title="drag to turn"></canvas><p class="muted" id="points-note">a preview of the stored '
                     'points, turning; drag to turn it by hand, double-click to let it turn</p></div></div>')
        parts.append(_views(obj, info, thumb_view))
    else:
        why = obj.picture_error or f"{obj.status}: no views or points in the shards"
        parts.append(f'<p class="noimg big">{escape(why)}</p>')
        parts.append("<h2>Record</h2>" + _record(obj, slugs, info, verified))
    where = f'<a href="{ROOT}classes/{escape(slugs[obj.class_name])}.html">{escape(obj.class_name)}</a>'
    return layout(title=obj.object_id, page="object", root=ROOT, body="".join(parts), where=where, scripts=scripts)
