"""Planning, the resume check, indexing and merging for an Objaverse-sized manifest, without
rendering (issue 14, item 5): does the job's bookkeeping stay in minutes and bounded memory at
800,000 objects?

A synthetic manifest of N rows (every row names the same small mesh, so the index's per-row
``stat`` is warm: on a network file system budget more) is planned; then every shard is made
"done" by writing its completion marker (through ``ShardFolder``), with a one-byte stand-in file and its
checksum, so that ``run_render_job`` does exactly what a resume of a finished job does (check every
done shard against its marker, reconcile retries, rebuild ``index.json``) and renders nothing;
last, ``shards merge`` copies the folder into a new one. Timed phases are wall-clock seconds;
memory is the process's peak RSS after each phase (it only grows). Checksumming real shard files
is extra and bound by the disk (XXH3-128 hashes faster than disks read, see
``ShardFolder.file_problem``) -- use ``--quick-resume`` to skip it. Last line: one JSON object.

    python benchmarks/collection_scale.py --objects 800000
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from clip2point.datasets.shards.digests import file_checksum
from clip2point.datasets.shards.job_config import ensure_job_config
from clip2point.datasets.shards.merge import merge_shard_folders
from clip2point.datasets.shards.folder import ShardFolder
from clip2point.datasets.shards.records import Marker, shard_file_name
from clip2point.render.job.config import RenderJobConfig
from clip2point.render.job.run import plan_job, run_render_job

STAND_IN = b"x"  # the stand-in shard file: checked like a real one, one byte to read


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def write_manifest(folder: Path, objects: int, classes: int) -> Path:
    (folder / "mesh.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    path = folder / "manifest.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for i in range(objects):
            f.write(json.dumps({"id": f"obj-{i:07d}", "path": "mesh.obj", "label": f"class-{i % classes:04d}",
                                "source": "bench"}) + "\n")
    return path


def finish_shards(config: RenderJobConfig, plan: Any) -> None:
    """A marker per planned shard, as the worker writes it, over a one-byte stand-in file."""
    digest, folder = file_checksum(STAND_IN), ShardFolder(config.out)
    for task in plan.tasks:
        folder.shard_path(task.shard_id).write_bytes(STAND_IN)
        objects = [{"object_id": e.object_id, "synset": e.synset, "label": e.label, "split": e.split,
                    "hash": digest.partition(":")[2], "texture_status": "untextured_by_source", "texture_detail": ""}
                   for e in task.entries]
        folder.write_marker(Marker(
            task.shard_id, shard_file_name(task.shard_id), digest, len(STAND_IN), objects=tuple(objects),
            failures=task.failures, class_names=tuple(plan.class_names),
            shapes={"rgb": [10, 224, 224, 3], "points": [8192, 3]}, stats={}))


def run(objects: int, per_shard: int, classes: int, work: Path, *, trace: bool = False) -> dict[str, Any]:
    """The phases, timed; with ``trace``, also each phase's peak of Python allocations
    (``tracemalloc``: exact and independent of the allocator, but it slows every phase ~2x)."""
    result: dict[str, Any] = {"objects": objects, "objects_per_shard": per_shard}
    if trace:
        tracemalloc.start()

    def phase(name: str, start: float) -> None:
        result[f"{name}_s"] = round(time.perf_counter() - start, 2)
        result[f"{name}_peak_rss_mb"] = round(peak_rss_mb(), 1)
        line = f"{name}: {result[f'{name}_s']} s, peak RSS {result[f'{name}_peak_rss_mb']} MB"
        if trace:
            result[f"{name}_traced_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 2)
            line += f", traced peak {result[f'{name}_traced_peak_mb']} MB"
            tracemalloc.reset_peak()
        print(line, flush=True)

    start = time.perf_counter()
    manifest = write_manifest(work, objects, classes)
    phase("write_manifest", start)
    config = RenderJobConfig(out=work / "out", manifest=manifest, objects_per_shard=per_shard)
    start = time.perf_counter()
    plan = plan_job(config)
    phase("plan", start)
    result["shards"] = len(plan.tasks)
    config.out.mkdir()
    ensure_job_config(config.out, config.identity())
    start = time.perf_counter()
    finish_shards(config, plan)
    del plan
    phase("write_markers", start)
    start = time.perf_counter()
    report = run_render_job(config, progress=False)  # plan again + resume check + index: renders nothing
    phase("resume_and_index", start)
    assert report.shards_run == 0 and report.index_counts["objects"] == objects, report.index_counts
    start = time.perf_counter()
    merged = merge_shard_folders(work / "merged", [config.out])
    phase("merge", start)
    assert merged["counts"]["objects"] == objects
    result["index_json_mb"] = round((config.out / "index.json").stat().st_size / 2**20, 1)
    if trace:
        tracemalloc.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=800_000)
    parser.add_argument("--objects-per-shard", type=int, default=64)
    parser.add_argument("--classes", type=int, default=1156, help="labels in the manifest (LVIS has 1,156)")
    parser.add_argument("--workdir", type=Path, help="default: a temporary folder, removed afterwards")
    parser.add_argument("--trace-memory", action="store_true",
                        help="also report each phase's peak of Python allocations (tracemalloc; ~2x slower)")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="c2p-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        result = run(args.objects, args.objects_per_shard, args.classes, work, trace=args.trace_memory)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
