"""``clip2point inspect SHARDS {summary,verify,sheet,export,gallery}``: look into a shard folder (or
one shard file). ``verify`` exits 1 and names every bad shard and object; a file that cannot be read
at all is one clear sentence (exit 2), never a traceback."""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

from clip2point.inspection.gallery import GallerySettings, build_gallery
from clip2point.inspection.gallery.records import STATUSES
from clip2point.inspection.summary import (check_random, choose_ids, export_object, format_summary, make_sheet,
                                           open_target, summarize)
from clip2point.inspection.verify import VerifySettings, verify_index
from clip2point.render.sheets import save_sheet, sheet_path

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shards", type=Path, metavar="SHARDS", help="shard folder, or one shard-NNNNN.h5")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    summary = sub.add_parser("summary", help="objects, classes, splits, schema, configuration, failures")
    summary.add_argument("--json", action="store_true", help="print one JSON object")
    summary.add_argument("--per-object", action="store_true", help="list every object's id, status and content hash")
    verify = sub.add_parser("verify", help="checksums, schema, NaN, blank images, each view against the points")
    verify.add_argument("--json", action="store_true", help="print one JSON object")
    verify.add_argument("--min-precision", type=float, default=VerifySettings.min_precision,
                        help="least share of the points an RGB view must put on the object (default %(default)s)")
    verify.add_argument("--min-coverage", type=float, default=VerifySettings.min_coverage,
                        help="least share of an RGB view's object near a projected point (default %(default)s)")
    verify.add_argument("--min-depth-inside", type=float, default=VerifySettings.min_depth_inside,
                        help="least share of a depth view's pixels a point can reach (default %(default)s)")
    verify.add_argument("--no-progress", action="store_true", help="no progress bar (it goes to stderr)")
    verify.add_argument("--yfov", type=float, default=VerifySettings.yfov_deg, help="RGB field of view, degrees")
    sheet = sub.add_parser("sheet", help="PNG contact sheet of RGB/depth pairs")
    _add_choice(sheet)
    sheet.add_argument("--views", type=int, nargs="+", help="views to show (default all)")
    sheet.add_argument("--out", type=sheet_path, default=Path("sheet.png"),
                       help="PNG path, or a folder (ending in /) to write sheet.png into (default %(default)s)")
    export = sub.add_parser("export", help="one object's views as PNG files and its points as .ply")
    export.add_argument("object_id", metavar="OBJECT_ID")
    export.add_argument("--out", type=Path, help="folder (default ./OBJECT_ID)")
    gallery = sub.add_parser("gallery", help="static website of every object (opens from the file system)")
    gallery.add_argument("--out", type=Path, required=True, help="folder of the site (index.html); rebuilt in place")
    gallery.add_argument("--per-class", type=int, metavar="N", help="show at most N objects of each class")
    gallery.add_argument("--classes", nargs="+", metavar="NAME", help="show only these classes")
    gallery.add_argument("--status", nargs="+", choices=STATUSES, help="show only objects of these statuses")
    gallery.add_argument("--thumb-view", type=int, metavar="K",
                         help="view on the thumbnails (default: the first oblique view, else 0)")
    gallery.add_argument("--verify", action="store_true", help="run `verify` and show its findings per object")
    gallery.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)),
                         help="processes drawing the thumbnails (default: the usable cores, %(default)s here)")


def _add_choice(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ids", nargs="+", help="object ids to show")
    parser.add_argument("--random", type=int, metavar="N", help="show N random objects (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of --random")


def _settings(args: argparse.Namespace) -> VerifySettings | GallerySettings | None:
    """The action's settings, built (and so checked) before any shard is opened: a bad flag
    is refused at once, with the same sentence whichever action it belongs to."""
    if args.action == "verify":
        return VerifySettings(min_precision=args.min_precision, min_coverage=args.min_coverage,
                              min_depth_inside=args.min_depth_inside, yfov_deg=args.yfov)
    if args.action == "gallery":
        return GallerySettings(out=args.out, classes=tuple(args.classes) if args.classes else None,
                               statuses=tuple(args.status) if args.status else None, per_class=args.per_class,
                               thumb_view=args.thumb_view, verify=args.verify, workers=args.workers)
    if args.action == "sheet" and args.random is not None:
        check_random(args.random)
    return None


def run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    target = open_target(args.shards)
    if args.action == "summary":
        summary = summarize(target, per_object=args.per_object)
        print(json.dumps(summary, sort_keys=True) if args.json else format_summary(summary))
        return 1 if summary["unreadable"] else 0
    if args.action == "verify":
        report = verify_index(target.root, target.index, settings, progress=not args.no_progress)
        if args.json:
            print(json.dumps(report, sort_keys=True))
        else:
            for problem in report["problems"]:
                print(problem["text"])
            print(f"{'OK' if report['ok'] else 'BAD'}: {report['shards']} shards, {report['objects']} objects, "
                  f"{len(report['bad_shards'])} bad shards, {len(report['bad_objects'])} bad objects")
        return 0 if report["ok"] else 1
    if args.action == "sheet":
        ids = choose_ids(target, args.ids, args.random, args.seed)
        path = save_sheet(make_sheet(target, ids, views=args.views), args.out)
        print(f"wrote {path} ({len(ids)} objects: {' '.join(ids)})")
        return 0
    if args.action == "gallery":
        done = build_gallery(target, settings)
        print(f"wrote {done.index}: {done.objects} objects, {done.pages} pages, {done.made} thumbnails made, "
              f"{done.reused} reused, {done.seconds:.1f} s"
              + (f"; {done.picture_errors} objects unreadable (see their pages)" if done.picture_errors else ""))
        return 0
    files = export_object(target, args.object_id, args.out or Path(args.object_id))
    print(f"wrote {len(files)} files to {files[0].parent}")
    return 0
