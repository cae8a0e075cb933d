"""Few-shot cost once view features are cached: 3 seeds × 16-shot Dual-Path Adapter training
and test scoring at ModelNet40's scale (40 classes, 10 views × 512-D features per path, both
paths, 4 validation objects per class, 2,468 test objects, the default 100 epochs).

Features are synthetic (class-dependent unit vectors with noise): the adapter's cost depends
only on their shapes. The baseline is the same run recomputing features for every seed, as a
loop without the feature store would: 3 × (640 + 160 + 2,468) objects encoded with both towers
instead of the union of the seeds' draws + 2,468 once. Both totals are *estimated* from the tiny
model's measured CPU encoding rate (labelled as estimates; ViT-B-32 on CPU is far slower still). Prints one JSON object as its last line.

    python benchmarks/fewshot.py [--epochs 100] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from clip2point.eval.fewshot import FewShotSettings, needed_train_indices, run_fewshot_on_features

CLASSES, VIEWS, DIM, TRAIN_PER_CLASS, TEST = 40, 10, 512, 60, 2468


def synthetic_features(centres: torch.Tensor, labels: np.ndarray, gen: torch.Generator) -> dict[str, torch.Tensor]:
    n = len(labels)
    feats = centres[torch.as_tensor(labels)] + 0.8 * torch.randn(n, VIEWS, DIM, generator=gen) / DIM**0.5
    feats = F.normalize(feats, dim=-1)
    return {"clip": feats, "pretrained": F.normalize(feats + 0.3 * torch.randn_like(feats) / DIM**0.5, dim=-1)}


def tiny_encode_seconds_per_object() -> float:
    """Measured: project 10 views + encode with the tiny model, per object, on this CPU."""
    from clip2point.eval.encoders import load_encoders
    from clip2point.eval.features import compute_view_features
    from clip2point.eval.settings import EncoderSettings, ViewSettings

    encoders = load_encoders(EncoderSettings("c2p-tiny"), ("clip",))
    points = F.normalize(torch.randn(8, 1024, 3), dim=-1)
    t0 = time.perf_counter()
    compute_view_features(encoders.visual, points, ViewSettings(num_views=VIEWS, batch_size=8))
    return (time.perf_counter() - t0) / len(points)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    train_labels = np.repeat(np.arange(CLASSES), TRAIN_PER_CLASS)
    test_labels = np.arange(TEST) % CLASSES
    settings = FewShotSettings(shots=16, seeds=(0, 1, 2), epochs=args.epochs, val_per_class=4)
    names = tuple(f"class{i}" for i in range(CLASSES))
    needed = needed_train_indices(train_labels, settings, names)
    rows = np.full(len(train_labels), -1)
    rows[needed] = np.arange(len(needed))
    centres = F.normalize(torch.randn(CLASSES, VIEWS, DIM, generator=gen), dim=-1)
    train = synthetic_features(centres, train_labels[needed], gen)
    test = synthetic_features(centres, test_labels, gen)
    texts = F.normalize(torch.randn(CLASSES, DIM, generator=gen), dim=-1)

    t0, c0 = time.perf_counter(), time.process_time()
    result = run_fewshot_on_features(train, train_labels, test, test_labels, texts, names, settings, feature_rows=rows,
                                     device=args.device)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    per_object = tiny_encode_seconds_per_object()
    objects_per_seed = CLASSES * (16 + 4) + TEST
    report = {
        "benchmark": "fewshot", "seeds": 3, "shots": 16, "classes": CLASSES, "views": VIEWS, "dim": DIM,
        "paths": list(settings.paths), "device": args.device, "epochs": args.epochs, "test_objects": TEST,
        "cached_seconds": round(wall, 2), "cached_cpu_seconds": round(cpu, 2),
        "seconds_per_seed": round(wall / 3, 2), "mean_accuracy_synthetic": round(result.mean, 2),
        "encoded_objects_once": int(len(needed) + TEST),
        "estimate_total_seconds_tiny_cpu_cached": round(wall + (len(needed) + TEST) * per_object * 2, 1),
        "baseline_estimate_total_seconds_tiny_cpu_uncached": round(wall + 3 * objects_per_seed * per_object * 2, 1),
        "tiny_cpu_encode_seconds_per_object_10views": round(per_object, 4),
        "torch_threads": torch.get_num_threads(), "load_average": round(os.getloadavg()[0], 2),
    }
    print(f"3 seeds x 16-shot on cached features: {wall:.1f} s ({result.mean:.1f}% on synthetic features)")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
