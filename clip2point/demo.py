"""``clip2point demo``: the paper's claim in miniature, on the CPU in a few minutes.

synth (a few synthetic ShapeNet-style classes, also written in ModelNet's layout) → render
(RGB + depth shards) → inspect (summary, verify, contact sheet) → then, per seed: standin (a
small open_clip model fitted to the training split's RGB renders and class captions: a
STAND-IN for CLIP, not CLIP) → pretrain (CLIP2Point's image-depth pre-training of the depth
tower, initialised from the stand-in) → zeroshot with the plain stand-in tower (the
PointCLIP-style row) and with the pre-trained depth tower (the CLIP2Point row), on the shards'
test split and on the ModelNet-layout test meshes → fewshot with the Dual-Path Adapter and each
single path. The closing table (mean ± std over seeds, with the chance level) is also written
to ``OUT/summary.json`` (``clip2point/demo_summary.py``).

Each stage runs through the same CLI a user would type, in its own process (so a stage's GL
context or thread pools never meet the next stage's libraries), and the command lines are
logged so any stage can be rerun by hand. Rerunning resumes: finished stages are skipped.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import subprocess
import sys
from pathlib import Path

from clip2point.errors import ConfigError
from clip2point.extras import EXTRAS, require_all
from clip2point.validation import check_int

log = logging.getLogger(__name__)

# Ten classes whose names are also ModelNet40 class names, so the ModelNet-layout folders
# read like the real thing.
DEFAULT_CLASSES = "airplane,bathtub,bed,bottle,car,chair,guitar,lamp,sofa,table"
STANDIN_MODEL = "c2p-standin-64"
FEWSHOT_PATHS = ("dual", "clip", "pretrained")
ZEROSHOT_ROWS = ("plain", "clip2point")  # the plain stand-in tower, the pre-trained depth tower


def _seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds takes integers separated by commas, e.g. 0,1,2; got {text!r}")
    if not seeds or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"--seeds needs one or more distinct integers; got {text!r}")
    return seeds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("demo-run"), help="folder for every stage's output")
    parser.add_argument("--classes", default=DEFAULT_CLASSES, help="synthetic classes (comma-separated)")
    parser.add_argument("--per-class", type=int, default=15, help="objects per class (1 in 5 is a test object)")
    parser.add_argument("--seeds", type=_seeds, default=(0, 1),
                        help="one stand-in + pre-training run per seed; the table shows mean ± std over them")
    parser.add_argument("--standin-steps", type=int, default=400, help="optimiser steps fitting the stand-in")
    parser.add_argument("--steps", type=int, default=300, help="pre-training optimiser steps")
    parser.add_argument("--shots", type=int, default=4, help="few-shot training objects per class")
    parser.add_argument("--workers", type=int, default=1, help="render processes")
    parser.add_argument("--device", default="cpu", help="device for pre-training and evaluation")


# Stages whose non-zero exit only reports findings about the data (verify flags suspect views);
# the demo shows them and goes on, because the later stages still work on those shards.
REPORTING_STAGES = ("inspect verify",)


def data_commands(args: argparse.Namespace) -> list[tuple[str, list[str], Path]]:
    """(name, argv, the file whose existence means the stage is done) of the shared data stages."""
    out = args.out
    synthetic, shards = out / "synthetic", out / "shards"
    return [
        ("synth", ["synth", str(synthetic), "--per-class", str(args.per_class), "--classes", args.classes,
                   "--modelnet-out", str(out / "modelnet")], out / "modelnet" / "manifest.json"),
        ("render", ["render", "--out", str(shards), "--shapenet", str(synthetic), "--workers", str(args.workers),
                    "--views", "6", "--size", "64", "--points", "2048", "--no-progress"], shards / "index.json"),
        ("inspect summary", ["inspect", str(shards), "summary"], out / "never"),
        ("inspect verify", ["inspect", str(shards), "verify"], out / "never"),
        ("inspect sheet", ["inspect", str(shards), "sheet", "--random", "4", "--out", str(out / "sheet.png")],
         out / "sheet.png"),
    ]


def seed_commands(args: argparse.Namespace, seed: int) -> list[tuple[str, list[str], Path]]:
    """The stand-in, its pre-training and every evaluation of one seed, under ``OUT/seed-N``."""
    out, shards = args.out, args.out / "shards"
    folder = out / f"seed-{seed}"
    weights, run = folder / "standin.pt", folder / "pretrain"
    ckpt = run / "checkpoints" / "last.pt"
    common = ["--model", STANDIN_MODEL, "--device", args.device, "--views", "10", "--cache-dir", str(folder / "cache")]
    weights_of = {"plain": ["--pretrained", str(weights)], "clip2point": ["--ckpt", str(ckpt)]}
    stages = [
        (f"seed {seed} standin", ["standin", "--shards", str(shards), "--out", str(weights), "--steps",
                                  str(args.standin_steps), "--seed", str(seed)], weights),
        (f"seed {seed} pretrain", ["pretrain", "--shards", str(shards), "--out", str(run), "--model", STANDIN_MODEL,
                                   "--pretrained", str(weights), "--batch-size", str(pretrain_batch(args)), "--max-steps", str(args.steps),
                                   "--epochs", "1000", "--cache-image-features", "--num-workers", "0",
                                   "--checkpoint-every", "100000", "--seed", str(seed), "--device", args.device,
                                   "--no-progress"], ckpt),
    ]
    for data_name, dataset, data in (("shards", "shards", shards), ("modelnet", "modelnet40", out / "modelnet")):
        for row in ZEROSHOT_ROWS:
            result = folder / f"zeroshot-{data_name}-{row}.json"
            stages.append((f"seed {seed} zeroshot {data_name} {row}",
                           ["zeroshot", "--dataset", dataset, "--data", str(data), *common, *weights_of[row],
                            "--out", str(result)], result))
    for paths in FEWSHOT_PATHS:
        result = folder / f"fewshot-{paths}.json"
        stages.append((f"seed {seed} fewshot {paths}",
                       ["fewshot", "--dataset", "shards", "--data", str(shards), *common, *weights_of["clip2point"],
                        "--paths", paths, "--shots", str(args.shots), "--seeds", "0,1,2", "--epochs", "30",
                        "--val-per-class", "1", "--train-batch-size", "8", "--out", str(result)], result))
    return stages


def train_per_class(per_class: int) -> int:
    from clip2point.datasets.synthetic import is_test_object  # noqa: PLC0415

    return sum(not is_test_object(i) for i in range(max(per_class, 0)))


def pretrain_batch(args: argparse.Namespace) -> int:
    """16 (the batch the stand-in was tuned with), or every training object when there are fewer."""
    classes = len([c for c in args.classes.split(",") if c.strip()])
    return min(16, classes * train_per_class(args.per_class))


def stage_commands(args: argparse.Namespace) -> list[tuple[str, list[str], Path]]:
    return [*data_commands(args), *(stage for seed in args.seeds for stage in seed_commands(args, seed))]


def run_stage(argv: list[str]) -> int:
    """``clip2point ARGV`` in a child process with this interpreter; its exit code."""
    return subprocess.run([sys.executable, "-m", "clip2point", *argv], check=False).returncode


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse bad numbers before any stage runs: found by the stage that uses them, they would
    surface only after synth and render had spent their minutes."""
    train = train_per_class(args.per_class)
    check_int(args.shots, "--shots", low=1)
    if train < args.shots + 1 or args.per_class < 2:
        raise ConfigError(f"--per-class {args.per_class} leaves {train} training objects per class; "
                          f"--shots {args.shots} needs {args.shots + 1} (the shots + 1 validation object) "
                          "and one test object")
    for flag, value in (("--steps", args.steps), ("--standin-steps", args.standin_steps),
                        ("--workers", args.workers)):
        check_int(value, flag, low=1)
    from clip2point.train.distributed import parse_device  # noqa: PLC0415  (torch: only once the flags parsed)

    parse_device(args.device)  # a missing GPU is said now, not by pretrain after three stages


def run(args: argparse.Namespace) -> int:
    require_all({"render": EXTRAS["render"], "train": EXTRAS["train"]}, "clip2point demo")
    from clip2point.demo_summary import summarise, summary_table, write_summary  # noqa: PLC0415

    check_arguments(args)
    for name, argv, done in stage_commands(args):
        if done.exists():
            log.info("demo: %s already done (%s exists)", name, done)
            continue
        log.info("demo: %s: clip2point %s", name, shlex.join(argv))
        rc = run_stage(argv)
        if rc != 0 and name in REPORTING_STAGES:
            log.warning("demo: %s reported problems (exit code %d, listed above); continuing", name, rc)
        elif rc != 0:
            log.error("demo: stage %s failed with exit code %d; fix it and rerun the demo to resume", name, rc)
            return rc
    summary = summarise(args.out, args.seeds, shots=args.shots)
    write_summary(args.out / "summary.json", summary)
    print(summary_table(summary))
    return 0
