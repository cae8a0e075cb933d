"""Zero-shot throughput: objects per second through normalise → project V depth views →
encode → view-summed cosine scores, on synthetic clouds of 1,024 points.

Runs the tiny model on the CPU, and ViT-B-32 (random weights: throughput does not depend on
them) when CUDA is available. Baseline: the same work one object at a time (batch 1), which is
what a per-object loop over a dataset does; every batch size sees the same objects. Rates are best of ``--repeats`` after a warm-up;
the CPU-time rate is less disturbed by other processes on a shared machine. Prints one JSON
object as its last line.

    python benchmarks/zeroshot.py [--objects 30] [--views 6] [--repeats 2] [--batch-sizes 1,8,32]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from clip2point.datasets.pointsets import PointSet
from clip2point.eval.encoders import load_encoders, text_features
from clip2point.eval.features import FeatureStore
from clip2point.eval.settings import EncoderSettings, ViewSettings
from clip2point.eval.zeroshot import classify
from clip2point.render.cameras import view_counts

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from pointset_fixtures import SHAPES, shape_clouds  # noqa: E402

log = logging.getLogger("benchmarks.zeroshot")


def objects_per_second(model: str, device: str, objects: int, views: int, batch: int, repeats: int) -> dict[str, float]:
    encoders = load_encoders(EncoderSettings(model, device=device), ("clip",))
    clouds, labels = shape_clouds(max(1, objects // len(SHAPES)), seed=0)
    ps = PointSet("bench", "test", clouds, labels, SHAPES, tuple(map(str, range(len(labels)))), frame="z-up")
    texts = text_features(encoders, SHAPES, "image of a {}").to(device)
    settings = ViewSettings(num_views=views, batch_size=batch)

    def once() -> None:  # a fresh store: nothing cached, every object projected and encoded
        logits = classify(encoders.visual["clip"], encoders.ids["clip"], ps, texts.cpu(), settings, device=device,
                          store=FeatureStore())
        assert logits.shape == (len(ps), len(SHAPES))

    once()
    wall, cpu = [], []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time()
        once()
        if device == "cuda":
            torch.cuda.synchronize()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"objects_per_s": len(ps) / min(wall), "objects_per_cpu_s": len(ps) / min(cpu), "objects": len(ps)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=30)
    parser.add_argument("--views", type=int, default=6, choices=view_counts("clip2point"))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-sizes", type=lambda t: [int(v) for v in t.split(",")], default=[1, 8, 32],
                        help="objects per encoder batch; 1 is the per-object-loop baseline")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    runs = [("c2p-tiny", "cpu")] + ([("ViT-B-32", "cuda"), ("c2p-tiny", "cuda")] if torch.cuda.is_available() else [])
    result: dict[str, object] = {"benchmark": "zeroshot", "views": args.views, "points": 1024,
                                 "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
                                 "load_average": os.getloadavg()[0]}
    for model, device in runs:
        rates = {b: objects_per_second(model, device, args.objects, args.views, b, args.repeats)
                 for b in args.batch_sizes}
        key = f"{model}_{device}"
        result[key] = {f"batch{b}": r for b, r in rates.items()}
        result[key]["speedup_vs_batch1"] = {f"batch{b}": r["objects_per_s"] / rates[1]["objects_per_s"]
                                            for b, r in rates.items() if 1 in rates}
        print(f"{key}: " + ", ".join(f"batch {b}: {r['objects_per_s']:.2f} objects/s" for b, r in rates.items()),
              flush=True)
    print(json.dumps(rounded(result)))


def rounded(value: object) -> object:
    """Floats to 3 decimals, recursively (rates are noisy well before the 4th digit)."""
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v) for v in value]
    return round(float(value), 3) if isinstance(value, (float, np.floating)) else value


if __name__ == "__main__":
    main()
