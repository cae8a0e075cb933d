"""Zero-shot throughput: objects per second through normalise → project V depth views →
encode → view-summed cosine scores, on synthetic clouds of 1,024 points scored against
ModelNet40's 40 classes, at each of ``--views`` (6 and 10); and the cost of an LVIS-sized text
bank (1,156 classes) per template set: the first call encodes, later calls read the
FeatureStore (memory, or a fresh store on the same cache folder: a later run).

Runs the tiny model on the CPU, and ViT-B-32 (random weights: throughput does not depend on
them) when CUDA is available. Baseline: the same work one object at a time (batch 1), which is
what a per-object loop over a dataset does; every batch size sees the same objects. Rates are best of ``--repeats`` after a warm-up;
the CPU-time rate is less disturbed by other processes on a shared machine. Prints one JSON
object as its last line.

    python benchmarks/zeroshot.py [--objects 30] [--views 6,10] [--repeats 2] [--batch-sizes 1,8,32]
                                  [--classes 1156] [--templates reference,openshape-lvis]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from clip2point.datasets.modelnet import MODELNET40_CLASSES
from clip2point.datasets.pointsets import PointSet
from clip2point.datasets.prompt_templates import resolve_templates
from clip2point.eval.encoders import Encoders, load_encoders, text_features
from clip2point.eval.features import FeatureStore
from clip2point.eval.settings import EncoderSettings, ViewSettings
from clip2point.eval.zeroshot import classify
from clip2point.render.cameras import view_counts

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from pointset_fixtures import SHAPES, shape_clouds  # noqa: E402

log = logging.getLogger("benchmarks.zeroshot")
LVIS_CLASSES = 1156  # Objaverse-LVIS's categories


def objects_per_second(encoders: Encoders, device: str, objects: int, views: int, batch: int,
                       repeats: int) -> dict[str, float]:
    clouds, labels = shape_clouds(max(1, objects // len(SHAPES)), seed=0)
    ps = PointSet("bench", "test", clouds, labels, MODELNET40_CLASSES, tuple(map(str, range(len(labels)))),
                  frame="z-up")
    names = [name.replace("_", " ") for name in MODELNET40_CLASSES]
    texts = text_features(encoders, names, "image of a {}").to(device)
    settings = ViewSettings(num_views=views, batch_size=batch)

    def once() -> None:  # a fresh store: nothing cached, every object projected and encoded
        logits = classify(encoders.visual["clip"], encoders.ids["clip"], ps, texts.cpu(), settings, device=device,
                          store=FeatureStore())
        assert logits.shape == (len(ps), len(MODELNET40_CLASSES))

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


def text_bank_ms(encoders: Encoders, classes: int, template_set: str) -> dict[str, float]:
    """Milliseconds for the [classes,D] text features of one template set: encoded (first call),
    from the store's memory, and from its cache folder in a fresh store (a later run)."""
    names = [f"lvis category {i:04d}" for i in range(classes)]  # LVIS-sized bank; names of LVIS-like length
    templates = resolve_templates(template_set).templates
    with tempfile.TemporaryDirectory() as cache:
        store = FeatureStore(Path(cache))
        times = {}
        for label, current in (("first_call_ms", store), ("cached_memory_ms", store),
                               ("cached_disk_ms", FeatureStore(Path(cache)))):
            t0 = time.perf_counter()
            feats = text_features(encoders, names, templates, current)
            times[label] = 1e3 * (time.perf_counter() - t0)
        assert feats.shape[0] == classes and (store.misses, store.hits) == (1, 1)
    return {**times, "templates": len(templates), "classes": classes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=30)
    parser.add_argument("--views", type=lambda t: [int(v) for v in t.split(",")], default=[6, 10],
                        help=f"view counts to measure (of {view_counts('clip2point')})")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-sizes", type=lambda t: [int(v) for v in t.split(",")], default=[1, 8, 32],
                        help="objects per encoder batch; 1 is the per-object-loop baseline")
    parser.add_argument("--classes", type=int, default=LVIS_CLASSES, help="classes in the text bank")
    parser.add_argument("--templates", default="reference,openshape-lvis",
                        help="template sets (names or files) whose text bank is timed")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for views in args.views:
        if views not in view_counts("clip2point"):
            parser.error(f"--views {views}: the clip2point preset has {view_counts('clip2point')}")
    runs = [("c2p-tiny", "cpu")] + ([("ViT-B-32", "cuda"), ("c2p-tiny", "cuda")] if torch.cuda.is_available() else [])
    result: dict[str, object] = {"benchmark": "zeroshot", "views": args.views, "points": 1024,
                                 "classes": len(MODELNET40_CLASSES), "torch_threads": torch.get_num_threads(),
                                 "cpu_count": os.cpu_count(), "load_average": os.getloadavg()[0]}
    for model, device in runs:
        encoders = load_encoders(EncoderSettings(model, device=device), ("clip",))
        key = f"{model}_{device}"
        result[key] = {}
        for views in args.views:
            rates = {b: objects_per_second(encoders, device, args.objects, views, b, args.repeats)
                     for b in args.batch_sizes}
            entry: dict[str, object] = {f"batch{b}": r for b, r in rates.items()}
            if 1 in rates:
                entry["speedup_vs_batch1"] = {f"batch{b}": r["objects_per_s"] / rates[1]["objects_per_s"]
                                              for b, r in rates.items()}
            result[key][f"views{views}"] = entry
            print(f"{key} {views} views: " + ", ".join(f"batch {b}: {r['objects_per_s']:.2f} objects/s"
                                                       for b, r in rates.items()), flush=True)
        result[key]["text_bank"] = {name: text_bank_ms(encoders, args.classes, name)
                                    for name in args.templates.split(",")}
        for name, times in result[key]["text_bank"].items():
            print(f"{key} text bank {times['classes']} classes x {times['templates']} template(s) {name}: "
                  f"first {times['first_call_ms']:.0f} ms, cached {times['cached_memory_ms']:.3f} ms (memory), "
                  f"{times['cached_disk_ms']:.2f} ms (disk)", flush=True)
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
