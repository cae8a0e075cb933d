"""End-to-end throughput of the generation job (``clip2point render``) against its RGB stage alone.

Two inputs, both rendered at the paper's settings (10 views, 224², 8,192 points, depth from 1,024):
the built-in synthetic set, and the real meshes of ``../shared/data/meshes`` arranged in ShapeNet
layout (each copied a few times under different model ids so both workers have shards to run).

- ``objects_per_s``: the whole job (plan, load, sample, RGB, depth, HDF5 write, index) with
  ``--workers`` loky processes, wall clock from the call to the report, after a warm-up job.
- ``rgb_stage_objects_per_s``: the baseline the job is measured against: the same objects and
  the same number of worker processes doing nothing but ``RGBRenderer.render`` (meshes loaded
  and GL contexts created before the clock starts), i.e. what a job would reach if loading,
  sampling, depth and writing were free. The goal is end-to-end >= 80 % of it.
- Both are the best of ``--repeats`` alternated runs; ``stage_seconds`` (per-stage wall time summed
  over workers, seconds of worker time) belongs to the best job run.
- ``stage_cpu_ms_per_object``: per-stage CPU (process) time per object, each stage's best over
  the repeats (CPU, not wall: the machine may be shared), and ``non_rgb_to_rgb_cpu``, the CPU of
  load + sample + depth + write over the RGB stage's: on a GPU node, where RGB leaves the CPU,
  it is what bounds the job (goal <= 0.4). Parsing and texture decoding are load's (``load_mesh``
  decodes eagerly); the faithful shading's per-face texture atlas and vertex normals, the GL
  upload and the drawing are RGB's (``RGBRenderer.render``).
- ``projection_52460``: the full ShapeNet job on a 16-core node, from the per-object stage
  costs measured on the real meshes (assumptions in the dict and in the report).

The machine this runs on is shared; numbers are noisy. Prints one JSON object as its last line.

    python benchmarks/generation.py [--workers 2] [--synthetic-limit 96] [--copies 8] [--meshes DIR]

``--meshes`` defaults to ``$CLIP2POINT_SHARED_DATA/meshes``, else ``../shared/data/meshes``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import joblib

from clip2point.datasets.shards.file_format import DEFAULT_LAYOUT
from clip2point.render.backends import threads_per_worker
from clip2point.render.job.config import RenderJobConfig
from clip2point.render.job.run import plan_job, run_render_job

log = logging.getLogger("benchmarks.generation")

SHARED_MESHES = (Path(os.environ["CLIP2POINT_SHARED_DATA"]) if os.environ.get("CLIP2POINT_SHARED_DATA")
                 else Path(__file__).resolve().parents[1].parent / "shared" / "data") / "meshes"
# (source obj relative to SHARED_MESHES, synset it stands for)
REAL_MESHES = [
    ("pytorch3d_cow/cow.obj", "02691156"), ("classic/teapot_pytorch3d.obj", "03797390"),
    ("kaolin_armchair/armchair.obj", "03001627"), ("classic/spot.obj", "02691156"),
    ("classic/suzanne.obj", "03636649"), ("classic/beetle.obj", "02958343"),
    ("classic/homer.obj", "04379243"), ("classic/fandisk.obj", "03211117"),
    ("classic/alligator.obj", "04530566"),
]
PAPER_OBJECTS, NODE_CORES = 52_460, 16


def arrange_real_meshes(root: Path, copies: int, meshes: Path = SHARED_MESHES) -> Path:
    """ShapeNet layout: the mesh's folder becomes ``models/`` and the OBJ ``model_normalized.obj``
    (materials and texture sub-folders keep their relative paths); all copies in train.txt."""
    ids = []
    for index, (relative, synset) in enumerate(REAL_MESHES):
        source = meshes / relative
        for copy in range(copies):
            model_id = f"real{index:02d}{source.stem}{copy}"
            models = root / synset / model_id / "models"
            if source.parent.name == "classic":
                models.mkdir(parents=True)
                shutil.copy(source, models / source.name)
            else:
                shutil.copytree(source.parent, models)
            (models / source.name).rename(models / "model_normalized.obj")
            ids.append(f"{synset}-{model_id}")
    (root / "train.txt").write_text("".join(f"{i}.npy\n" for i in sorted(ids)))
    (root / "test.txt").write_text("")
    return root


def mean_faces(root: Path) -> float:
    """Mean triangle count of the distinct real meshes (copy 0 of each)."""
    from clip2point.datasets.mesh_io import load_mesh  # noqa: PLC0415

    counts = [load_mesh(p).num_faces for p in sorted(root.glob("*/*0/models/model_normalized.obj"))]
    return sum(counts) / len(counts)


def _render_only(paths: list[str], size: int, num_views: int, threads: int) -> tuple[int, float, str | None]:
    """In a worker process: load everything and make the context, then time only the renders."""
    import os  # noqa: PLC0415

    os.environ.setdefault("LP_NUM_THREADS", str(threads))
    from clip2point.render.cameras import get_view_preset  # noqa: PLC0415
    from clip2point.datasets.mesh_io import load_mesh  # noqa: PLC0415
    from clip2point.render.rgb import RGBRenderer  # noqa: PLC0415

    meshes, views = [load_mesh(p) for p in paths], get_view_preset(num_views)
    with RGBRenderer(size) as renderer:
        start = time.perf_counter()
        for light_seed, mesh in enumerate(meshes):
            renderer.render(mesh, views, light_seed=light_seed)
        seconds = time.perf_counter() - start
        try:
            from OpenGL import GL  # noqa: PLC0415

            name = GL.glGetString(GL.GL_RENDERER).decode()
        except Exception:  # noqa: BLE001  (a label only)
            name = None
        return len(meshes), seconds, name


def rgb_stage_objects_per_s(config: RenderJobConfig, workers: int) -> tuple[float, str | None]:
    """The RGB stage alone over the job's objects, split evenly over ``workers`` processes, and
    the GL renderer that drew them (llvmpipe, or the NVIDIA driver's on a GPU node)."""
    paths = [str(e.mesh_path) for t in plan_job(config).tasks for e in t.entries]
    chunks = [paths[k::workers] for k in range(workers)]
    results = joblib.Parallel(n_jobs=workers, backend="loky")(
        joblib.delayed(_render_only)(chunk, config.size, config.num_views, threads_per_worker(workers))
        for chunk in chunks)
    return len(paths) / max(seconds for _, seconds, _ in results), results[0][2]


def measure(config: RenderJobConfig, workers: int, repeats: int) -> dict[str, Any]:
    """Best of ``repeats`` for both the job and the RGB stage, alternated so that a burst of load
    from other processes on a shared machine hits both alike.

    A tiny warm-up job first writes the synthetic set (if needed), starts the loky pool and
    imports torch/pyrender in the workers: once-per-job costs that 52,460 objects amortise."""
    warm_up = dataclasses.replace(config, out=config.out.with_name(config.out.name + "-warmup"),
                                  limit=workers * config.objects_per_shard)
    run_render_job(warm_up, workers=workers, progress=False)
    best, rgb_alone, renderer, cpu = None, 0.0, None, {}
    for repeat in range(repeats):
        out = config.out.with_name(f"{config.out.name}-{repeat}")
        start = time.perf_counter()
        report = run_render_job(dataclasses.replace(config, out=out), workers=workers, progress=False)
        wall = time.perf_counter() - start
        if best is None or wall < best[0]:
            best = (wall, report)
        for stage, seconds in report.stage_cpu_seconds.items():
            cpu[stage] = min(cpu.get(stage, seconds), seconds)
        rate, renderer = rgb_stage_objects_per_s(config, workers)
        rgb_alone = max(rgb_alone, rate)
    wall, report = best
    objects = report.rendered + report.failed
    return {
        "objects": objects,
        "failed": report.failed,
        "objects_per_s": objects / wall,
        "rgb_stage_objects_per_s": rgb_alone,
        "ratio_to_rgb_stage": objects / wall / rgb_alone,
        "stage_seconds": {k: round(v, 3) for k, v in report.stage_seconds.items()},
        "stage_ms_per_object": {k: round(1000 * v / max(objects, 1), 2) for k, v in report.stage_seconds.items()},
        "stage_cpu_ms_per_object": (cpu_ms := {k: round(1000 * v / max(objects, 1), 2) for k, v in cpu.items()}),
        "non_rgb_to_rgb_cpu": round(sum(v for k, v in cpu_ms.items() if k != "rgb") / max(cpu_ms["rgb"], 1e-9), 3),
        "mb_per_object": report.bytes / 1e6 / max(objects, 1),
        "wall_s": wall,
        "workers": workers,
        "gl_renderer": renderer,
    }


def projection(real: dict[str, Any]) -> dict[str, Any]:
    """The 52,460-object job on a 16-core node, from the real-mesh per-object stage costs.

    ``cpu_llvmpipe``: rendering stays in software (no GPU EGL), 16 single-threaded workers scale
    linearly. ``gpu_egl_bound``: rendering moves to the GPU and costs nothing on the CPU; the
    other stages still need their CPU time -- an upper bound. ``as_measured``: every stage at its
    measured cost, RGB included, whatever renderer drew it (on a GPU node: the NVIDIA driver's EGL).
    ``measured_job``: the job's own measured rate with its workers, scaled linearly to 16."""
    per_object = {k: v / 1000 for k, v in real["stage_ms_per_object"].items()}
    cpu_other = sum(v for k, v in per_object.items() if k != "rgb")
    llvmpipe_rate = NODE_CORES / (cpu_other + per_object["rgb"])
    gpu_rate = NODE_CORES / cpu_other
    return {
        "assumptions": "16 single-threaded workers scale linearly; per-object stage costs of the real "
                       f"meshes (mean {real['mean_faces']:.0f} triangles) stand for ShapeNet's; disk keeps up "
                       f"({real['mb_per_object']:.2f} MB/object)",
        "cpu_llvmpipe": {"objects_per_s": llvmpipe_rate, "hours": PAPER_OBJECTS / llvmpipe_rate / 3600},
        "gpu_egl_bound": {"objects_per_s": gpu_rate, "hours": PAPER_OBJECTS / gpu_rate / 3600},
        "as_measured": {"gl_renderer": real["gl_renderer"], "objects_per_s": llvmpipe_rate,
                        "hours": PAPER_OBJECTS / llvmpipe_rate / 3600},
        "measured_job": {"workers": real["workers"], "objects_per_s": real["objects_per_s"],
                         "objects_per_s_at_16": real["objects_per_s"] * NODE_CORES / real["workers"],
                         "hours_at_16": PAPER_OBJECTS / (real["objects_per_s"] * NODE_CORES / real["workers"]) / 3600},
        "output_gb": PAPER_OBJECTS * real["mb_per_object"] / 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--synthetic-limit", type=int, default=96, help="synthetic objects to render")
    parser.add_argument("--copies", type=int, default=8, help="copies of each real mesh")
    parser.add_argument("--repeats", type=int, default=2, help="best of N (shared machines are noisy)")
    parser.add_argument("--meshes", type=Path, default=SHARED_MESHES, help="the real meshes' folder")
    parser.add_argument("--real-only", action="store_true", help="skip the synthetic set (the real-mesh split only)")
    parser.add_argument("--objects-per-shard", type=int, default=4,
                        help="small, so uneven meshes balance over workers (the real job has 820 shards)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="c2p-gen-bench-") as tmp:
        tmp_path = Path(tmp)
        common = {"objects_per_shard": args.objects_per_shard}
        synthetic = None if args.real_only else measure(
            RenderJobConfig(out=tmp_path / "synthetic", limit=args.synthetic_limit, **common), args.workers, args.repeats)
        root = arrange_real_meshes(tmp_path / "real-shapenet", args.copies, args.meshes)
        real = measure(RenderJobConfig(out=tmp_path / "real", shapenet_root=root, **common), args.workers,
                       args.repeats)
        real["mean_faces"] = mean_faces(root)
    result = {
        "benchmark": "generation",
        "workers": args.workers,
        "settings": f"10 views, 224 px, 8192 points, depth from 1024, loky; shards: {DEFAULT_LAYOUT.describe()}",
        "objects_per_s": synthetic and synthetic["objects_per_s"],
        "rgb_stage_objects_per_s": synthetic and synthetic["rgb_stage_objects_per_s"],
        "stage_seconds": synthetic and synthetic["stage_seconds"],
        "non_rgb_to_rgb_cpu": real["non_rgb_to_rgb_cpu"],
        "synthetic": synthetic,
        "real_meshes": real,
        "projection_52460": projection(real),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
