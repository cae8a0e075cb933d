"""Pre-training step throughput and where the time goes (loader, depth rendering, image tower,
depth tower, optimiser), for the project's step against a baseline that follows the reference
recipe literally.

- project: the trainer's own stages: loader reading points only (RGB features come from the
  image-feature cache, built once and timed separately), the batched disc projector on the
  training device, bf16 autocast + channels-last on CUDA (fp32 on CPU), LAMB.
- baseline: fp32, RGB read and the frozen image tower run every step, depth maps from the
  obvious scatter-min projector (``benchmarks/depth_projection.py``'s baseline), same LAMB.

Data: render-free shards (10 views, 224², 2,048 points) written to a temporary folder. Defaults:
tiny model, batch 16 on CPU; ``--model ViT-B-32 --batch-size 256`` on CUDA. The last line is
JSON with ``samples_per_s`` and ``baseline_samples_per_s`` (stage by stage, synchronised so each
stage is timed alone), ``pipelined_samples_per_s`` (the same steps unsynchronised, as the trainer
runs them), ``depth_share`` (the project step's depth projection over the sum of its stages, timed
alone) and, on CUDA, ``gpu_busy`` (share of the pipelined wall time a kernel was running) and
``pipelined_depth_share`` (depth projection's CUDA-event time over the pipelined wall time).

    python benchmarks/train_step.py [--device cpu|cuda] [--model c2p-tiny] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from depth_projection import baseline_project  # noqa: E402  (the literal scatter-min projector)
from shard_fixtures import synthetic_object  # noqa: E402  (a test fixture, kept out of the library)

from clip2point.datasets.shards import build_index, write_shard  # noqa: E402
from clip2point.datasets.batch_loader import batch_loader  # noqa: E402
from clip2point.datasets.torch_dataset import ShardDataset  # noqa: E402
from clip2point.render.depth import DepthMaps, depth_to_image, to_clip_input  # noqa: E402
from clip2point.train import feature_cache  # noqa: E402
from clip2point.train.config import TrainConfig  # noqa: E402
from clip2point.train.losses import pretrain_loss  # noqa: E402
from clip2point.train.models import build_pretrain_model, create_clip  # noqa: E402
from clip2point.train.precision import Compute, autocast, resolve_precision  # noqa: E402
from clip2point.train.schedule import build_optimizer  # noqa: E402
from clip2point.train.step import (  # noqa: E402
    Batch, channels_last, depth_pair_input, image_features, jittered_distances,
    step_generator, subsample_points, to_device_batch,
)

log = logging.getLogger("benchmarks.train_step")
STAGES = ("loader", "depth_render", "image_tower", "depth_tower", "optimiser")


def write_shards(folder: Path, n_objects: int) -> Path:
    objects = [synthetic_object(f"obj-{i:04d}", label=i % 4, split="train", views=10, size=224, num_points=2048, seed=i)
               for i in range(n_objects)]
    write_shard(folder, 0, objects, [], attrs={"config": {"kind": "benchmark"}, "class_names": ["a", "b", "c", "d"]})
    build_index(folder)
    return folder


class Timer:
    """Accumulates wall time per stage; synchronises CUDA so GPU work lands in its own stage
    (``sync=False``: no synchronisation, the stages overlap as in training and wall times mean
    nothing; on CUDA each stage is then bracketed by CUDA events instead, whose elapsed time is
    how long the GPU's stream took from one to the other -- see ``event_seconds``)."""

    def __init__(self, device: torch.device, sync: bool = True) -> None:
        self.device, self.seconds, self.sync = device, defaultdict(float), sync and device.type == "cuda"
        self.events: dict[str, list[tuple[torch.cuda.Event, torch.cuda.Event]]] = defaultdict(list)
        self.use_events = not sync and device.type == "cuda"

    def stage(self, name: str, fn: Callable[[], object]) -> object:
        if self.use_events:
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            out = fn()
            end.record()
            self.events[name].append((begin, end))
            return out
        if self.sync:
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = fn()
        if self.sync:
            torch.cuda.synchronize()
        self.seconds[name] += time.perf_counter() - start
        return out

    def event_seconds(self, name: str) -> float:
        """GPU-stream seconds spent inside stage ``name`` (CUDA, ``sync=False`` only)."""
        torch.cuda.synchronize()
        return sum(begin.elapsed_time(end) for begin, end in self.events[name]) / 1000


def baseline_depth(batch: Batch, cfg: TrainConfig, gen: torch.Generator) -> torch.Tensor:
    points = subsample_points(batch.points, cfg.data.num_points, gen)
    dists = jittered_distances(batch.dist, cfg.data.dist_jitter, gen)
    two = (-1, 2)
    raw = baseline_project(points, batch.elev[:, None].expand(*two), batch.azim[:, None].expand(*two), dists)
    raw = raw.view(batch.size, 2, *raw.shape[-2:])
    return to_clip_input(depth_to_image(DepthMaps(raw, raw > 0)))


def run_steps(mode: str, args: argparse.Namespace, shards: Path, device: torch.device) -> dict[str, float]:
    cfg = TrainConfig.from_flat(shards=str(shards), out="unused", model=args.model, pretrained=None,
                                batch_size=args.batch_size, recipe="improved" if mode == "project" else "faithful")
    precision = resolve_precision("auto" if mode == "project" else "fp32", device)
    bundle = create_clip(args.model, None, device=device)
    model = build_pretrain_model(bundle).to(device)
    if mode == "project" and device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, cfg.optim)
    cache = None
    cache_s = 0.0
    if mode == "project":
        start = time.perf_counter()
        data = ShardDataset(shards, view="all", fields=("rgb",))
        compute = Compute(device, precision, max(1, args.batch_size // 4))
        feats = feature_cache.compute_features(data, model.image_encoder, compute, image_size=224,
                                               num_workers=args.workers)
        cache = feature_cache.ImageFeatureCache("bench", {str(o): i for i, o in enumerate(data.object_ids)}, feats)
        cache_s = time.perf_counter() - start
    dataset = ShardDataset(shards, view="random", fields=("points",) if cache else ("rgb", "points"))
    loader = batch_loader(dataset, batch_size=args.batch_size, shuffle=True, drop_last=True, num_workers=args.workers,
                          pin_memory=device.type == "cuda", persistent_workers=args.workers > 0)
    batches = _forever(loader)

    def one_step(step: int, timer: Timer) -> None:
        item = timer.stage("loader", lambda: next(batches))
        feats = cache.lookup(item["object_id"], item["view"]) if cache else None
        batch = to_device_batch(item, device, feats)
        gen = step_generator(0, step, 0, 0, device)
        depth = timer.stage("depth_render", lambda: depth_pair_input(batch, cfg.data, gen, 224) if mode == "project"
                            else baseline_depth(batch, cfg, gen))
        with autocast(device, precision):
            f_img = timer.stage("image_tower", lambda: image_features(model.image_encoder, batch, 224))

        def depth_tower() -> None:
            with autocast(device, precision):
                f_depth, w = model(channels_last(depth.flatten(0, 1)) if mode == "project" else depth.flatten(0, 1))
            f_depth = f_depth.float().view(batch.size, 2, -1)
            pretrain_loss(f_depth[:, 0], f_depth[:, 1], f_img.float(), w).total.backward()

        timer.stage("depth_tower", depth_tower)
        timer.stage("optimiser", lambda: (optimizer.step(), optimizer.zero_grad(set_to_none=True)))

    timer = Timer(device)
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            timer.seconds.clear()
        one_step(step, timer)
    total = sum(timer.seconds[s] for s in STAGES)
    out = {f"{s}_ms": 1000 * timer.seconds[s] / args.steps for s in STAGES}
    out.update(samples_per_s=args.batch_size * args.steps / total, precision=precision, cache_build_s=cache_s,
               depth_share=timer.seconds["depth_render"] / total)
    out.update(pipelined(one_step, args, device))
    return out


def pipelined(step_fn: Callable[[int, Timer], None], args: argparse.Namespace,
              device: torch.device) -> dict[str, object]:
    """The same steps with no synchronisation between stages (as the trainer runs them), wall
    clock from first to last: ``pipelined_samples_per_s``. On CUDA also ``gpu_busy``: the share of
    that wall time in which a kernel was running (union of kernel intervals from torch.profiler),
    the figure behind "the GPU busy >= 90 % of each step"; and ``pipelined_depth_share``: the
    stream time between the CUDA events around depth projection, over that wall time."""
    start_step = args.warmup + args.steps
    profile = device.type == "cuda"
    timer = Timer(device, sync=False)
    activities = [torch.profiler.ProfilerActivity.CUDA] if profile else []
    with torch.profiler.profile(activities=activities) if profile else contextlib.nullcontext() as prof:
        start = time.perf_counter()
        for step in range(start_step, start_step + args.steps):
            step_fn(step, timer)
        if profile:
            torch.cuda.synchronize()
        wall = time.perf_counter() - start
    out: dict[str, object] = {"pipelined_samples_per_s": args.batch_size * args.steps / wall}
    if profile:
        out["gpu_busy"] = busy_fraction(prof.events(), wall)
        out["pipelined_depth_share"] = timer.event_seconds("depth_render") / wall
    return out


def busy_fraction(events: object, wall_s: float) -> float | None:
    """Union of the device events' time intervals over ``wall_s`` (None: the profiler saw none)."""
    intervals = sorted((e.time_range.start, e.time_range.end) for e in events
                       if getattr(e, "device_type", None) == torch.autograd.DeviceType.CUDA)
    if not intervals:
        return None
    covered, (lo, hi) = 0.0, intervals[0]
    for start, end in intervals[1:]:
        if start > hi:
            covered, lo, hi = covered + hi - lo, start, end
        else:
            hi = max(hi, end)
    return min(1.0, (covered + hi - lo) / 1e6 / wall_s)


def _forever(loader: DataLoader) -> Iterator[dict]:
    while True:
        yield from loader


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--model", default=None, help="default: ViT-B-32 on CUDA, c2p-tiny on CPU")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 256 on CUDA, 16 on CPU")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    device = torch.device(args.device)
    args.model = args.model or ("ViT-B-32" if device.type == "cuda" else "c2p-tiny")
    args.batch_size = args.batch_size or (256 if device.type == "cuda" else 16)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        shards = write_shards(Path(tmp) / "shards", n_objects=2 * args.batch_size)
        results = {mode: run_steps(mode, args, shards, device) for mode in ("baseline", "project")}
    for mode, r in results.items():
        log.info("%-8s %7.1f samples/s  %s", mode, r["samples_per_s"],
                 "  ".join(f"{s} {r[f'{s}_ms']:.1f} ms" for s in STAGES))
    log.info("project depth projection: %.1f %% of the step", 100 * results["project"]["depth_share"])
    log.info("project image-feature cache build (once per weights+shards): %.2f s", results["project"]["cache_build_s"])
    print(json.dumps({
        "device": str(device), "model": args.model, "batch_size": args.batch_size, "threads": torch.get_num_threads(),
        "samples_per_s": round(results["project"]["samples_per_s"], 2),
        "baseline_samples_per_s": round(results["baseline"]["samples_per_s"], 2),
        "pipelined_samples_per_s": round(results["project"]["pipelined_samples_per_s"], 2),
        "baseline_pipelined_samples_per_s": round(results["baseline"]["pipelined_samples_per_s"], 2),
        "gpu_busy": results["project"].get("gpu_busy"),
        "depth_share": round(results["project"]["depth_share"], 4),
        "pipelined_depth_share": results["project"].get("pipelined_depth_share"),
        "project": results["project"], "baseline": results["baseline"],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
