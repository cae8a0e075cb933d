"""``clip2point synth OUT``: write (or reuse) the built-in synthetic ShapeNet-style mesh set."""

from __future__ import annotations

import argparse

from clip2point.datasets.synthetic import ensure_synthetic_set, read_manifest
from clip2point.datasets.synthetic.shapes import SYNTHETIC_SYNSETS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", help="folder to write (absent or empty; an identical existing set is reused)")
    parser.add_argument("--per-class", type=int, default=20, metavar="N", help="models per class (default 20)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="set seed; same seed, same bytes (default 0)")
    parser.add_argument(
        "--classes",
        default=None,
        metavar="LIST",
        help=f"comma-separated class names or synset ids, e.g. chair,table (default: all {len(SYNTHETIC_SYNSETS)} classes)",
    )
    parser.add_argument("--modelnet-out", default=None, metavar="DIR",
                        help="also write the meshes in ModelNet's layout, DIR/CLASS/train|test/*.off (z-up), "
                             "for the ModelNet evaluation path without the download")


def run(args: argparse.Namespace) -> int:
    classes = [c for c in args.classes.split(",") if c.strip()] if args.classes is not None else None
    out = ensure_synthetic_set(args.out, args.per_class, args.seed, classes=classes)
    manifest = read_manifest(out)
    train = sum(c["train"] for c in manifest["classes"])
    test = sum(c["test"] for c in manifest["classes"])
    print(
        f"synthetic set: {manifest['num_models']} models, {len(manifest['classes'])} classes "
        f"(train {train} / test {test}), seed {manifest['seed']} -> {out}"
    )
    if args.modelnet_out is not None:
        from clip2point.datasets.synthetic.modelnet import export_modelnet_layout  # noqa: PLC0415  (loads trimesh)

        print(f"ModelNet layout: {export_modelnet_layout(out, args.modelnet_out)}")
    return 0
