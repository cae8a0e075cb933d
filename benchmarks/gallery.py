"""Build time of ``clip2point inspect SHARDS gallery`` and its projection to ShapeNet's 52,460 objects.

Renders the built-in synthetic set at the Quickstart's settings (10 views, 224², 8,192 points;
``--synthetic-per-class`` objects per class, 55 classes) unless ``--shards`` names a folder, then
times, each the best of ``--repeats``:

- ``fresh``: a build into an empty folder (every object read from its shard, its thumbnail, view
  sheet and point preview encoded, every page written), with ``--workers`` processes;
- ``rebuild``: the same build again into the same folder (pictures reused, pages rewritten).

``per_object_ms`` is the fresh build's wall clock per object, ``rebuild_per_object_ms`` the
rebuild's, ``cpu_per_object_ms`` the fresh build's CPU time per object with one worker: what an
idle core takes, far less disturbed by a busy shared machine than the wall clock. The build is
linear in the objects (one pass over the shards, one page per object, no per-pair work), so the
projections are per-object cost × N: ``projection_1100_s`` (the Quickstart set) and
``projection_52460_s`` on one idle core (CPU time; the wall clock when ``--workers`` > 1),
``projection_52460_16_workers_s`` with the pictures spread over a 16-core node (pages are
written by one process), ``projection_52460_rebuild_s`` for a rebuild, and
``projection_52460_wall_here_s`` from this machine's wall clock as measured.
``site_bytes_per_object``: disk per object (pictures + pages).
The machine this runs on is shared; numbers are noisy. Prints one JSON object as its last line.

    python benchmarks/gallery.py [--synthetic-per-class 4] [--workers 1] [--repeats 2] [--shards DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from clip2point.inspection.gallery import GallerySettings, build_gallery
from clip2point.inspection.summary import open_target
from clip2point.render.job.config import RenderJobConfig
from clip2point.render.job.run import run_render_job

PAPER_OBJECTS, NODE_CORES = 52_460, 16


def timed_build(shards: Path, out: Path, workers: int) -> tuple[float, float, Any]:
    """(wall seconds, this process's CPU seconds, report)."""
    start, cpu = time.perf_counter(), time.process_time()
    report = build_gallery(open_target(shards), GallerySettings(out=out, workers=workers))
    return time.perf_counter() - start, time.process_time() - cpu, report


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def run(shards: Path, work: Path, workers: int, repeats: int) -> dict[str, Any]:
    fresh, rebuild, report = [], [], None
    for attempt in range(repeats):
        out = work / f"site-{attempt}"
        wall, cpu, report = timed_build(shards, out, workers)
        fresh.append((wall, cpu))
        rebuild.append(timed_build(shards, out, workers)[:2])
    objects = report.objects
    (wall, cpu), (rebuild_wall, rebuild_cpu) = min(fresh), min(rebuild)
    # The cost of one object on an idle core: CPU time with one worker (the wall clock of a shared
    # machine counts the neighbours' load too), else the wall clock with several.
    per_object = (cpu if workers == 1 else wall) / objects
    per_page = (rebuild_cpu if workers == 1 else rebuild_wall) / objects  # pages only (pictures reused)
    return {
        "objects": objects,
        "rendered": report.made,
        "workers": workers,
        "fresh_s": round(wall, 3),
        "rebuild_s": round(rebuild_wall, 3),
        "per_object_ms": round(wall / objects * 1e3, 2),
        "rebuild_per_object_ms": round(rebuild_wall / objects * 1e3, 2),
        "cpu_per_object_ms": round(cpu / objects * 1e3, 2) if workers == 1 else None,
        "cpu_rebuild_per_object_ms": round(rebuild_cpu / objects * 1e3, 2) if workers == 1 else None,
        "projection_1100_s": round(per_object * 1100, 1),
        "projection_52460_s": round(per_object * PAPER_OBJECTS, 1),
        "projection_52460_16_workers_s": round(((per_object - per_page) * workers / NODE_CORES + per_page)
                                               * PAPER_OBJECTS, 1),
        "projection_52460_rebuild_s": round(per_page * PAPER_OBJECTS, 1),
        "projection_52460_wall_here_s": round(wall / objects * PAPER_OBJECTS, 1),
        "site_bytes_per_object": folder_bytes(work / "site-0") // objects,
        "fresh_runs_s": [round(w, 3) for w, _ in fresh],
        "rebuild_runs_s": [round(w, 3) for w, _ in rebuild],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=Path, help="an existing shard folder (default: render the synthetic set)")
    parser.add_argument("--synthetic-per-class", type=int, default=4, help="objects per class to render (55 classes)")
    parser.add_argument("--workers", type=int, default=1, help="processes drawing the pictures")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="clip2point-gallery-bench-") as tmp:
        work = Path(tmp)
        shards = args.shards
        if shards is None:
            shards = work / "shards"
            run_render_job(RenderJobConfig(out=shards, synthetic_per_class=args.synthetic_per_class),
                           workers=2, progress=False)
        result = run(shards, work, args.workers, args.repeats)
        shutil.rmtree(work / "site-0", ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
