"""``clip2point demo``: the whole pipeline on the CPU in a few minutes, with the tiny model.

synth (a few synthetic ShapeNet-style classes) → render (RGB + depth shards) → inspect
(summary, verify, contact sheet) → pretrain (c2p-tiny, a few steps) → zeroshot and fewshot on
the shards' test split with the trained checkpoint. Each stage runs through the same CLI a
user would type, in its own process (so a stage's GL context or thread pools never meet the
next stage's libraries), and the command lines are logged so any stage can be rerun by hand.
Rerunning resumes: finished stages are skipped.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import subprocess
import sys
from pathlib import Path

from clip2point.errors import ConfigError
from clip2point.extras import EXTRAS, require_all

log = logging.getLogger(__name__)

DEFAULT_CLASSES = "airplane,chair,table,car,lamp"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("demo-run"), help="folder for every stage's output")
    parser.add_argument("--classes", default=DEFAULT_CLASSES, help="synthetic classes (comma-separated)")
    parser.add_argument("--per-class", type=int, default=6, help="objects per class (1 in 5 is a test object)")
    parser.add_argument("--steps", type=int, default=20, help="pre-training optimiser steps")
    parser.add_argument("--workers", type=int, default=1, help="render processes")
    parser.add_argument("--device", default="cpu", help="device for pre-training and evaluation")


# Stages whose non-zero exit only reports findings about the data (verify flags suspect views);
# the demo shows them and goes on, because the later stages still work on those shards.
REPORTING_STAGES = ("inspect verify",)


def stage_commands(args: argparse.Namespace) -> list[tuple[str, list[str], Path]]:
    """(name, argv, the file whose existence means the stage is done)."""
    out = args.out
    synthetic, shards, run = out / "synthetic", out / "shards", out / "pretrain"
    ckpt = run / "checkpoints" / "best.pt"
    data = ["--dataset", "shards", "--data", str(shards), "--model", "c2p-tiny", "--ckpt", str(ckpt),
            "--device", args.device]
    return [
        ("synth", ["synth", str(synthetic), "--per-class", str(args.per_class), "--classes", args.classes],
         synthetic / "test.txt"),
        ("render", ["render", "--out", str(shards), "--shapenet", str(synthetic), "--workers", str(args.workers),
                    "--no-progress"], shards / "index.json"),
        ("inspect summary", ["inspect", str(shards), "summary"], out / "never"),
        ("inspect verify", ["inspect", str(shards), "verify"], out / "never"),
        ("inspect sheet", ["inspect", str(shards), "sheet", "--random", "4", "--out", str(out / "sheet.png")],
         out / "sheet.png"),
        ("pretrain", ["pretrain", "--shards", str(shards), "--out", str(run), "--model", "c2p-tiny",
                      "--pretrained", "none", "--batch-size", "8", "--max-steps", str(args.steps),
                      "--val-shards", str(shards), "--val-split", "test", "--device", args.device,
                      "--no-progress"], ckpt),
        ("zeroshot", ["zeroshot", *data, "--views", "10", "--out", str(out / "zeroshot.json")], out / "zeroshot.json"),
        ("fewshot", ["fewshot", *data, "--shots", "2", "--seeds", "0,1,2", "--epochs", "30", "--val-per-class", "1",
                     "--train-batch-size", "4", "--out", str(out / "fewshot.json")], out / "fewshot.json"),
    ]


def run_stage(argv: list[str]) -> int:
    """``clip2point ARGV`` in a child process with this interpreter; its exit code."""
    return subprocess.run([sys.executable, "-m", "clip2point", *argv], check=False).returncode


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse bad numbers before any stage runs: found by the stage that uses them, they would
    surface only after synth and render had spent their minutes."""
    if args.per_class < 3:
        raise ConfigError(f"--per-class must be at least 3 (2 shots + 1 validation object); got {args.per_class}")
    for flag, value in (("--steps", args.steps), ("--workers", args.workers)):
        if value < 1:
            raise ConfigError(f"{flag} must be at least 1; got {value}")
    from clip2point.train.distributed import parse_device  # noqa: PLC0415  (torch: only once the flags parsed)

    parse_device(args.device)  # a missing GPU is said now, not by pretrain after three stages


def run(args: argparse.Namespace) -> int:
    require_all({"render": EXTRAS["render"], "train": EXTRAS["train"]}, "clip2point demo")
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
    print(summary_table(args.out))
    return 0


def _first_and_last(metrics: Path, key: str) -> tuple[float, float]:
    """The first and last logged value of ``key`` among the training records."""
    values = [r[key] for r in map(json.loads, metrics.read_text().splitlines()) if r.get("kind") == "train"]
    return values[0], values[-1]


def summary_table(out: Path) -> str:
    """What the demo measured and where the pictures are, one row per stage."""
    render = json.loads((out / "shards" / "report.json").read_text())
    loss0, loss1 = _first_and_last(out / "pretrain" / "metrics.jsonl", "loss")
    zs = json.loads((out / "zeroshot.json").read_text())
    fs = json.loads((out / "fewshot.json").read_text())
    shots = fs["config"]["fewshot"]["shots"]
    per_seed = ", ".join(f"{acc:.0f}%" for acc in fs["per_seed"].values())
    rows = [
        ("render", f"{render['rendered']} objects, {render['failed']} failed, {render['objects_per_s']:.1f} objects/s",
         out / "sheet.png"),
        ("pretrain", f"loss {loss0:.3f} -> {loss1:.3f}", out / "pretrain" / "curves.png"),
        ("zeroshot", f"{zs['accuracy']:.1f}% on {zs['count']} test objects", out / "zeroshot.png"),
        ("fewshot", f"{shots}-shot {fs['mean']:.1f} +- {fs['std']:.1f}% (per seed: {per_seed})",
         out / "fewshot.png"),
    ]
    width = max(len(r[1]) for r in rows)
    lines = [f"demo done in {out} (random-weight tiny model: the numbers prove the plumbing, not the method)",
             f"{'stage':<9} {'measured':<{width}}  picture"]
    lines += [f"{name:<9} {value:<{width}}  {picture}" for name, value, picture in rows]
    return "\n".join(lines)
