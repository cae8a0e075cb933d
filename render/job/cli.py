"""``clip2point render``: the generation job from the command line.

Exit status: 0 when every object of the folder rendered or was skipped by rule, 1 when some
failed (unless ``--allow-failures``), 2 on a usage or configuration error, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import logging
import os

from clip2point.extras import require
from clip2point.provenance import to_jsonable
from clip2point.render.backends import BACKENDS
from clip2point.render.job.config import SUPPORTED_VIEWS, RenderJobConfig
from clip2point.render.job.run import run_render_job
from clip2point.render.views_cli import add_rgb_arguments

log = logging.getLogger(__name__)


def _usable_cores() -> int:
    """Cores this process may run on (respects taskset/cgroup affinity, unlike ``os.cpu_count``)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="shard folder (created; rerun to resume)")
    src = parser.add_argument_group("source")
    src.add_argument("--shapenet", metavar="ROOT", help="ShapeNetCore v2 root (SYNSET/MODEL_ID/models/...); "
                     "default: the built-in synthetic set, cached under $CLIP2POINT_CACHE or ~/.cache/clip2point")
    src.add_argument("--manifest", metavar="FILE", help="any collection: a .jsonl or .csv with id, path (mesh, "
                     "relative to FILE or absolute), optional label, split, root; other columns kept as metadata")
    src.add_argument("--objaverse", metavar="ROOT", help="an objaverse download folder (object-paths.json, glbs/)")
    src.add_argument("--lvis", action="store_true", help="with --objaverse: the LVIS objects of "
                     "lvis-annotations.json, labelled with their category, in split 'test'")
    src.add_argument("--split-dir", metavar="DIR", help="folder with train.txt / test.txt (default: ROOT)")
    src.add_argument("--synthetic-per-class", type=int, default=20, metavar="N", help="synthetic objects per class")
    src.add_argument("--limit", type=int, metavar="N", help="only the first N objects (id order)")
    out = parser.add_argument_group("output")
    out.add_argument("--views", type=int, default=10, choices=SUPPORTED_VIEWS, help="view preset (SPEC §2)")
    out.add_argument("--size", type=int, default=224, help="image side in pixels")
    out.add_argument("--points", type=int, default=8192, help="points stored per object")
    out.add_argument("--depth-points", type=int, default=1024, help="points the stored depth maps are projected from")
    out.add_argument("--objects-per-shard", type=int, default=64, metavar="N")
    out.add_argument("--seed", type=int, default=0)
    add_rgb_arguments(out)
    run = parser.add_argument_group("execution")
    run.add_argument("--workers", type=int, default=_usable_cores(),
                     help="parallel render processes, each with its own GL context (default: the usable cores)")
    run.add_argument("--backend", choices=BACKENDS, default="loky", help="joblib backend")
    run.add_argument("--num-nodes", type=int, default=1, help="nodes sharing the job (shard k -> node k %% N)")
    run.add_argument("--node-rank", type=int, default=0, help="this node's rank in [0, num-nodes)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--quick-resume", action="store_true",
                     help="check done shards by size and HDF5 header only, not their checksums (resuming a large "
                     "job on slow storage: a checksum reads every byte of every shard, ~90 GB for ShapeNet)")
    fail = parser.add_argument_group("failures")
    fail.add_argument("--max-faces", type=int, metavar="N", help="fail meshes with more faces")
    fail.add_argument("--timeout", type=float, metavar="SEC", help="fail an object whose rendering takes longer")
    fail.add_argument("--max-texture-pixels", type=int, default=RenderJobConfig.max_texture_pixels, metavar="N",
                      help="render a texture with more pixels untextured, recorded as over_budget, checked from its "
                      "header before decoding (default %(default)s = 8192x8192)")
    fail.add_argument("--max-file-bytes", type=int, default=RenderJobConfig.max_file_bytes, metavar="N",
                      help="largest mesh, texture or buffer file read (default %(default)s = 512 MiB)")
    fail.add_argument("--allow-failures", action="store_true", help="exit 0 even if some objects failed")
    fail.add_argument("--retry-failed", action="store_true",
                      help="re-render only the objects the folder records as failed (into new shards)")


def config_from_args(args: argparse.Namespace) -> RenderJobConfig:
    return RenderJobConfig(
        out=args.out, shapenet_root=args.shapenet, manifest=args.manifest, objaverse_root=args.objaverse,
        lvis=args.lvis, split_dir=args.split_dir,
        synthetic_per_class=args.synthetic_per_class, num_views=args.views, size=args.size,
        num_points=args.points, depth_points=args.depth_points, objects_per_shard=args.objects_per_shard,
        seed=args.seed, limit=args.limit, max_faces=args.max_faces, timeout_s=args.timeout,
        light=args.light, shading=args.shading,
        max_texture_pixels=args.max_texture_pixels, max_file_bytes=args.max_file_bytes,
    )


def run(args: argparse.Namespace) -> int:
    require("render", "clip2point render")
    report = run_render_job(
        config_from_args(args), workers=args.workers, backend=args.backend, num_nodes=args.num_nodes,
        node_rank=args.node_rank, retry_failed=args.retry_failed, progress=not args.no_progress,
        checksums=not args.quick_resume,
    )
    summary = to_jsonable(report)
    summary["failures"] = summary["failures"][:20]
    print(json.dumps(summary, indent=1, sort_keys=True))
    failed = report.index_counts.get("failed", 0)
    if failed and not args.allow_failures:
        log.error("%d objects failed (see index.json / report.json); fix them and rerun with --retry-failed, "
                  "or pass --allow-failures", failed)
        return 1
    return 0
