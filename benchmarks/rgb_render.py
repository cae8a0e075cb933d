"""Throughput of the RGB renderer: 10 views per object at 224², real meshes and the synthetic set.

Ours: ``RGBRenderer`` (one GL context per worker, the scene built once per object and only
camera and light moved per view, no MSAA, our Phong shader) with the default faithful shading
(per-face texture atlas built on the CPU); ``ours_improved`` is the improved shading (full
textures uploaded, two-sided lighting).
Baseline: pyrender as its documentation shows it, with the context reused (a fair, not a
straw-man, baseline): per view a new ``Scene`` with ``Mesh.from_trimesh`` of every part,
camera and light, rendered by the stock ``OffscreenRenderer`` (4x MSAA framebuffer, PBR
shader), ``SKIP_CULL_FACES`` so it draws what ours draws.
An ablation renders ours with 4x MSAA to show what the framebuffer alone costs.

Each variant runs in its own fresh process (one render worker), which also reports its peak
RSS. Mesh loading is timed apart from rendering. Prints one JSON object as its last line.

    python benchmarks/rgb_render.py [--per-class 1] [--repeats 1] [--gl-threads 1]
        [--meshes DIR] [--sets shared_meshes,synthetic] [--variants ours,ours_msaa4,ours_improved,baseline] [--workers 1]

``--workers N`` (N > 1) adds ``concurrent``: N render workers on the real meshes at once (several
workers sharing one GPU, or N cores), each rendering after all have loaded and compiled (a
barrier): views/s of each worker and of all together. ``gl_renderer`` names the GL renderer
(llvmpipe, or the NVIDIA driver on a GPU node). ``--meshes`` defaults to
``$CLIP2POINT_SHARED_DATA/meshes``, else ``../shared/data/meshes``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing
import os
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

log = logging.getLogger("benchmarks.rgb_render")

SHARED_MESHES = (Path(os.environ["CLIP2POINT_SHARED_DATA"]) if os.environ.get("CLIP2POINT_SHARED_DATA")
                 else Path(__file__).resolve().parents[1].parent / "shared" / "data") / "meshes"
VARIANTS = ("ours", "ours_msaa4", "ours_improved", "baseline")
SIZE, LIGHT_SEED = 224, 0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _gl_renderer() -> str | None:
    """GL_RENDERER of the current context (None when none is current)."""
    try:
        from OpenGL import GL  # noqa: PLC0415  (pyrender already chose the platform)

        name = GL.glGetString(GL.GL_RENDERER)
        return name.decode() if name else None
    except Exception:  # noqa: BLE001  (a label, never a reason to fail the benchmark)
        return None


def _render_ours(paths: list[str], repeats: int, msaa_samples: int, barrier: object = None,
                 shading: str = "faithful") -> dict:
    from clip2point.render.cameras import get_view_preset
    from clip2point.datasets.mesh_io import load_mesh
    from clip2point.render.rgb import RGBRenderer

    preset = get_view_preset(10)
    render_s = load_s = 0.0
    views = 0
    with RGBRenderer(SIZE, msaa_samples=msaa_samples, shading=shading) as renderer:
        renderer.render(load_mesh(paths[0]), preset, light_seed=LIGHT_SEED)  # compile shaders
        gl_renderer = _gl_renderer()
        if barrier is not None:
            barrier.wait()  # concurrent workers: all render at the same time
        start = time.perf_counter()
        for _ in range(repeats):
            for path in paths:
                t0 = time.perf_counter()
                mesh = load_mesh(path)
                t1 = time.perf_counter()
                renderer.render(mesh, preset, light_seed=LIGHT_SEED)
                render_s += time.perf_counter() - t1
                load_s += t1 - t0
                views += preset.num_views
        wall_s = time.perf_counter() - start
    return {"views": views, "render_s": render_s, "load_s": load_s, "wall_s": wall_s, "peak_rss_mb": _peak_rss_mb(),
            "gl_renderer": gl_renderer}


def _concurrent(paths: list[str], repeats: int, workers: int) -> dict:
    """``workers`` spawned render workers on the same meshes, released together by a barrier."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        barrier = manager.Barrier(workers)
        results = [f.result() for f in [pool.submit(_render_ours, paths, repeats, 0, barrier) for _ in range(workers)]]
    per_worker = [r["views"] / r["render_s"] for r in results]
    return {
        "workers": workers,
        "views_per_s_per_worker": [round(v, 2) for v in per_worker],
        "mean_views_per_s_per_worker": round(sum(per_worker) / workers, 2),
        "views_per_s_all_workers": round(sum(r["views"] for r in results) / max(r["wall_s"] for r in results), 2),
        "peak_rss_mb_per_worker": round(max(r["peak_rss_mb"] for r in results), 1),
    }


def _render_baseline(paths: list[str], repeats: int) -> dict:
    """pyrender's default usage: a new scene per view, stock renderer (MSAA, PBR)."""
    from clip2point.render.cameras import get_view_preset
    from clip2point.render.gl import import_pyrender
    from clip2point.datasets.mesh_io import load_mesh
    from clip2point.render.rgb import camera_poses
    from clip2point.render.rgb.light import light_directions, light_poses

    pyrender = import_pyrender()
    preset = get_view_preset(10)
    poses = camera_poses(preset, 2.0 * preset.dist)
    lights = light_poses(light_directions("random", preset, LIGHT_SEED))
    offscreen = pyrender.OffscreenRenderer(SIZE, SIZE)
    flags = pyrender.RenderFlags.SKIP_CULL_FACES

    def render_object(mesh) -> None:
        parts = list(mesh.scene.geometry.values())
        for pose, light in zip(poses, lights):
            scene = pyrender.Scene(bg_color=(1.0, 1.0, 1.0, 1.0), ambient_light=(0.5, 0.5, 0.5))
            scene.add(pyrender.Mesh.from_trimesh(parts))
            scene.add(pyrender.PerspectiveCamera(yfov=math.radians(60), znear=1.0, zfar=100.0), pose=pose)
            scene.add(pyrender.DirectionalLight(color=np.ones(3), intensity=3.0), pose=light)
            offscreen.render(scene, flags=flags)

    render_s = load_s = 0.0
    views = 0
    render_object(load_mesh(paths[0]))  # compile shaders
    for _ in range(repeats):
        for path in paths:
            t0 = time.perf_counter()
            mesh = load_mesh(path)
            t1 = time.perf_counter()
            render_object(mesh)
            render_s += time.perf_counter() - t1
            load_s += t1 - t0
            views += preset.num_views
    offscreen.delete()
    return {"views": views, "render_s": render_s, "load_s": load_s, "peak_rss_mb": _peak_rss_mb()}


def _in_worker(fn, *args) -> dict:
    """Run one variant in a fresh spawned process: its own GL context and its own peak RSS."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def _mesh_sets(per_class: int, workdir: Path, meshes: Path, names: list[str]) -> dict[str, list[str]]:
    sets = {"shared_meshes": sorted(str(p) for p in meshes.glob("*/*.obj"))} if "shared_meshes" in names else {}
    if "synthetic" not in names:
        return sets
    try:
        from clip2point.datasets.synthetic import write_synthetic_set
    except ImportError:
        log.warning("clip2point.datasets.synthetic is not available: skipping the synthetic set")
        return sets
    root = write_synthetic_set(workdir / "synthetic", per_class=per_class, seed=0)
    sets["synthetic"] = sorted(str(p) for p in Path(root).glob("*/*/models/model_normalized.obj"))
    return sets


def _summary(result: dict) -> dict:
    return {
        "objects_views": result["views"],
        "views_per_s": round(result["views"] / result["render_s"], 2),
        "load_s_per_object": round(result["load_s"] / (result["views"] / 10), 4),
        "peak_rss_mb": round(result["peak_rss_mb"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=1, help="synthetic models per class")
    parser.add_argument("--repeats", type=int, default=1, help="passes over each set")
    parser.add_argument("--gl-threads", type=int, default=1, help="LP_NUM_THREADS for llvmpipe (1 per worker)")
    parser.add_argument("--meshes", type=Path, default=SHARED_MESHES, help="folder of <name>/<mesh>.obj")
    parser.add_argument("--sets", default="shared_meshes,synthetic", help="comma-separated: shared_meshes, synthetic")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated subset of {VARIANTS}")
    parser.add_argument("--workers", type=int, default=1, help="> 1: also N concurrent workers on the real meshes")
    args = parser.parse_args()
    variants = args.variants.split(",")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    os.environ["LP_NUM_THREADS"] = str(args.gl_threads)  # inherited by the spawned workers

    report: dict = {"size": SIZE, "views_per_object": 10, "gl_threads": args.gl_threads, "sets": {}}
    totals = {key: [0, 0.0, 0.0] for key in variants}
    runners = {"ours": lambda paths: _in_worker(_render_ours, paths, args.repeats, 0),
               "ours_msaa4": lambda paths: _in_worker(_render_ours, paths, args.repeats, 4),
               "ours_improved": lambda paths: _in_worker(_render_ours, paths, args.repeats, 0, None, "improved"),
               "baseline": lambda paths: _in_worker(_render_baseline, paths, args.repeats)}
    with tempfile.TemporaryDirectory() as tmp:
        mesh_sets = _mesh_sets(args.per_class, Path(tmp), args.meshes, args.sets.split(","))
        for name, paths in mesh_sets.items():
            results = {key: runners[key](paths) for key in variants}
            entry: dict = {"objects": len(paths), **{key: _summary(r) for key, r in results.items()}}
            if "ours" in results and "baseline" in results:
                ours, base = results["ours"], results["baseline"]
                entry["speedup"] = round(base["render_s"] / ours["render_s"] * ours["views"] / base["views"], 2)
            report["sets"][name] = entry
            log.info("%s: %s", name, entry)
            for key, result in results.items():
                totals[key][0] += result["views"]
                totals[key][1] += result["render_s"]
                totals[key][2] = max(totals[key][2], result["peak_rss_mb"])
                report.setdefault("gl_renderer", result.get("gl_renderer"))
        if args.workers > 1 and "shared_meshes" in mesh_sets:
            report["concurrent"] = _concurrent(mesh_sets["shared_meshes"], args.repeats, args.workers)
            log.info("concurrent: %s", report["concurrent"])
    if "ours" in totals:
        report["views_per_s"] = round(totals["ours"][0] / totals["ours"][1], 2)
        report["peak_rss_mb_per_worker"] = round(totals["ours"][2], 1)
    if "baseline" in totals:
        report["baseline_views_per_s"] = round(totals["baseline"][0] / totals["baseline"][1], 2)
        report["baseline_peak_rss_mb_per_worker"] = round(totals["baseline"][2], 1)
    if "ours" in totals and "baseline" in totals:
        report["speedup"] = round(report["views_per_s"] / report["baseline_views_per_s"], 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
