"""HTML of the index, the class pages and the failures page (the object page is in
:mod:`.object_page`). Pages are complete without JavaScript (every count and card is in the
HTML); ``gallery.js`` adds the filters and the search, which hide cards and recount.

Every text from the shards (ids, class names, reasons, paths) goes through ``html.escape``:
object ids and failure reasons come from user files.
"""

from __future__ import annotations

import json
from collections import Counter
from html import escape
from importlib import resources
from string import Template
from typing import Any, Iterable, Mapping, Sequence

from clip2point.inspection.gallery.images import THUMB_PX, assets_of
from clip2point.inspection.gallery.records import STATUSES, GalleryObject, counts_by_class, object_page

_LAYOUT = Template(resources.files(__package__).joinpath("static/page.html").read_text(encoding="utf-8"))


def layout(*, title: str, page: str, root: str, body: str, where: str = "", scripts: Sequence[str] = ()) -> str:
    """A whole page: ``root`` is the relative path from the page to the gallery root ("" or "../../")."""
    tags = "\n".join(f'<script src="{escape(s)}"></script>' for s in scripts)
    return _LAYOUT.substitute(title=escape(title), page=page, root=root, body=body, where=where, scripts=tags)


def textures_of(objects: Iterable[GalleryObject]) -> list[str]:
    return sorted({o.texture for o in objects if o.texture is not None})


def has_findings(objects: Iterable[GalleryObject]) -> bool:
    return any(o.findings for o in objects)


def _options(name: str, label: str, values: Sequence[str]) -> str:
    opts = "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)
    return f'<label>{label} <select name="{name}"><option value="">all</option>{opts}</select></label>'


def filter_bar(objects: Sequence[GalleryObject], *, classes: Sequence[str], class_pages: Mapping[str, str] | None = None,
               current: str = "") -> str:
    """The filter form: class (on a class page, a jump to the chosen class's page: ``class_pages``
    maps names to hrefs), status, texture status (when the shards record one), verify findings
    (when given), id substring."""
    parts = []
    attrs = ' data-nav="1"' if class_pages else ""
    opts = "".join(f'<option value="{escape(c)}"{" selected" if c == current else ""}'
                   f'{f" data-href={chr(34)}{escape(class_pages[c])}{chr(34)}" if class_pages else ""}>{escape(c)}</option>'
                   for c in classes)
    first = "" if class_pages else '<option value="">all</option>'
    parts.append(f'<label>class <select name="class"{attrs}>{first}{opts}</select></label>')
    parts.append(_options("status", "status", STATUSES))
    if textures_of(objects):
        parts.append(_options("texture", "texture", textures_of(objects) + ["none recorded"]))
    if has_findings(objects):
        parts.append(_options("verify", "verify", ["flagged", "clean"]))
    parts.append('<label>id <input type="search" name="q" placeholder="id contains" autocomplete="off"></label>')
    return f'<form class="filters" id="filters" autocomplete="off">{"".join(parts)}<output id="count"></output></form>'


def badges(obj: GalleryObject) -> str:
    out = [f'<span class="badge s-{obj.status}">{obj.status}</span>']
    if obj.texture is not None:
        kind = "lost" if obj.texture_lost else "kept"
        out.append(f'<span class="badge t-{kind}" title="texture status">texture {escape(obj.texture)}</span>')
    if obj.findings:
        out.append(f'<span class="badge flagged" title="inspect verify">{len(obj.findings)} verify findings</span>')
    return "".join(out)


def data_attrs(obj: GalleryObject) -> str:
    """What the filters read from a card or row."""
    texture = obj.texture if obj.texture is not None else "none recorded"
    flag = "flagged" if obj.findings else "clean"
    return (f'data-id="{escape(obj.object_id)}" data-status="{obj.status}" data-texture="{escape(texture)}" '
            f'data-verify="{flag}" data-class="{escape(obj.class_name)}"')


def card(obj: GalleryObject, slugs: Mapping[str, str], thumb_view: int, root: str) -> str:
    """One object on a class page: its thumbnail (lazily loaded) or, without data, its reason."""
    href = root + object_page(obj, slugs)
    if obj.pictured:
        src = root + assets_of(obj.content_hash, thumb_view).thumb
        picture = (f'<img class="thumb" loading="lazy" decoding="async" src="{escape(src)}" width="{2 * THUMB_PX}" '
                   f'height="{THUMB_PX}" alt="RGB view {thumb_view} and depth map of {escape(obj.object_id)}">')
    else:
        why = obj.picture_error if obj.status == "rendered" else f"{obj.status}: {obj.reason or ''}"
        picture = f'<div class="noimg">{escape(why or "")}</div>'
    return (f'<a class="card" href="{escape(href)}" {data_attrs(obj)}>{picture}'
            f'<span class="id">{escape(obj.object_id)}</span><span class="badges">{badges(obj)}</span></a>')


def class_page(name: str, objects: Sequence[GalleryObject], total: Mapping[str, int], slugs: Mapping[str, str],
               thumb_view: int) -> str:
    """All shown objects of one class as cards; ``total`` is the class's count per status in the folder."""
    root = "../"
    hrefs = {c: f"{slug_}.html" for c, slug_ in slugs.items()}
    counts = ", ".join(f"{total.get(s, 0)} {s}" for s in STATUSES)
    shown = f" (this gallery shows {len(objects)} of {sum(total.values())})" if len(objects) < sum(total.values()) else ""
    body = (f'<h1>{escape(name)}</h1><p class="counts">{counts}{shown}</p>'
            f'{filter_bar(objects, classes=list(slugs), class_pages=hrefs, current=name)}'
            f'<div class="grid" id="cards">{"".join(card(o, slugs, thumb_view, root) for o in objects)}</div>')
    return layout(title=name, page="class", root=root, body=body, where=escape(name))


def _totals(summary: Mapping[str, Any], objects: Sequence[GalleryObject]) -> str:
    """The folder's counts exactly as ``inspect summary --json`` gives them, plus texture and
    verify counts when there are any."""
    items = [("rendered", summary["objects"]), ("failed", summary["failed"]), ("skipped", summary["skipped"]),
             ("classes", len(summary["classes"])), ("shards", summary["shards"])]
    cells = "".join(f'<div class="stat" data-stat="{k}"><b>{v}</b><span>{k}</span></div>' for k, v in items)
    textures: dict[str, int] = {}
    for obj in objects:
        if obj.texture is not None:
            textures[obj.texture] = textures.get(obj.texture, 0) + 1
    cells += "".join(f'<div class="stat texture" data-stat="texture:{escape(k)}"><b>{v}</b>'
                     f'<span>texture {escape(k)}</span></div>' for k, v in sorted(textures.items()))
    if has_findings(objects):
        flagged = sum(1 for o in objects if o.findings)
        cells += f'<div class="stat verify" data-stat="verify"><b>{flagged}</b><span>flagged by verify</span></div>'
    return f'<div class="stats">{cells}</div>'


def index_page(summary: Mapping[str, Any], every: Sequence[GalleryObject], shown: Sequence[GalleryObject],
               slugs: Mapping[str, str], note: str = "") -> str:
    """Folder totals, the class table (counts of the shown objects, recounted by the filters),
    and the search results the filters fill in."""
    views = summary.get("views")
    info = (f'<p class="meta">{escape(str(summary["root"]))} · schema v{summary["schema_version"]} · '
            f'{summary["bytes"] / 2**20:.1f} MiB · views {escape(str(views))}</p>')
    unreadable = "".join(f'<li>{escape(u["text"])}</li>' for u in summary.get("unreadable", []))
    warn = f'<div class="problem"><h2>Unreadable shards</h2><ul>{unreadable}</ul></div>' if unreadable else ""
    heads = "".join(f"<th>{s}</th>" for s in STATUSES)
    lost = any(o.texture_lost for o in every)
    heads += "<th>textures lost</th>" if lost else ""
    counts, rows = counts_by_class(shown), []
    lost_by_class = Counter(o.class_name for o in shown if o.texture_lost)
    for name, slug_ in slugs.items():
        mine = counts.get(name, Counter())
        cells = "".join(f'<td class="n" data-count="{s}">{mine[s]}</td>' for s in STATUSES)
        if lost:
            cells += f'<td class="n" data-count="texture-lost">{lost_by_class[name]}</td>'
        rows.append(f'<tr data-class="{escape(name)}"><td><a href="classes/{escape(slug_)}.html">{escape(name)}</a>'
                    f'</td>{cells}<td class="n" data-count="total">{sum(mine.values())}</td></tr>')
    table = (f'<table class="classes" id="classes"><thead><tr><th>class</th>{heads}<th>total</th></tr></thead>'
             f'<tbody>{"".join(rows)}</tbody></table>')
    note_html = f'<p class="note">{escape(note)}</p>' if note else ""
    body = (f'<h1>Shards</h1>{info}{_totals(summary, every)}{warn}{note_html}<h2>Objects by class</h2>'
            f'{filter_bar(shown, classes=list(slugs))}{table}'
            f'<h2 id="matches-title" hidden>Matching objects</h2><ol class="matches" id="matches"></ol>')
    return layout(title="index", page="index", root="", body=body, scripts=["data/objects.js"])


def objects_script(shown: Sequence[GalleryObject], slugs: Mapping[str, str]) -> str:
    """``data/objects.js``: the shown objects as compact rows for the index's filters and search
    (a script, not JSON: pages opened from ``file://`` may include files but not fetch them)."""
    rows = [[o.object_id, o.class_name, o.status, o.texture or "none recorded", bool(o.findings), o.texture_lost,
             object_page(o, slugs)] for o in shown]
    data = {"fields": ["id", "class", "status", "texture", "flagged", "texture_lost", "page"], "objects": rows}
    return "window.GALLERY_DATA = " + json.dumps(data, separators=(",", ":")).replace("</", "<\\/") + ";\n"


def failures_page(every: Sequence[GalleryObject], slugs: Mapping[str, str], paged: set[str],
                  shard_problems: Sequence[str]) -> str:
    """Every failed and skipped object of the folder with its reason, then the objects whose
    texture was lost and those ``verify`` flagged (when the shards/flags give them)."""
    def link(obj: GalleryObject) -> str:
        text = escape(obj.object_id)
        return f'<a href="{escape(object_page(obj, slugs))}">{text}</a>' if obj.object_id in paged else text

    def table(title: str, objs: list[GalleryObject], why: Any) -> str:
        rows = "".join(f'<tr {data_attrs(o)}><td class="id">{link(o)}</td><td>{escape(o.class_name)}</td>'
                       f'<td>{o.status}</td><td class="reason">{why(o)}</td></tr>' for o in objs)
        return (f'<h2 id="{title.split()[0].lower()}">{escape(title)} ({len(objs)})</h2>'
                f'<table class="failures"><thead><tr><th>id</th><th>class</th><th>status</th><th>reason</th>'
                f'</tr></thead><tbody>{rows}</tbody></table>')

    failed = [o for o in every if o.status == "failed"]
    skipped = [o for o in every if o.status == "skipped"]
    body = "<h1>Failures</h1>" + table("Failed objects", failed, lambda o: escape(o.reason or ""))
    body += table("Skipped objects", skipped, lambda o: escape(o.reason or ""))
    lost = [o for o in every if o.texture_lost]
    if lost:
        body += table("Textures lost", lost, lambda o: escape(f"{o.texture}: {o.texture_detail or ''}".rstrip(": ")))
    flagged = [o for o in every if o.findings]
    if flagged or shard_problems:
        body += table("Flagged by verify", flagged, lambda o: "<br>".join(escape(f) for f in o.findings))
        body += "".join(f'<p class="problem">{escape(p)}</p>' for p in shard_problems)
    return layout(title="failures", page="failures", root="", body=body)
