"""The demo's closing table and ``summary.json``: the paper's rows, measured with the stand-in.

Everything here is read back from the files the stages wrote (result JSONs, the stand-in's
side-car, the pre-training metrics), so the table shows what the commands measured and can be
rebuilt from a finished run folder. Spread is the sample standard deviation (ddof 1) over the
demo's seeds (one stand-in + pre-training run each); a few-shot seed's value is the mean of its
k-shot draws.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any, Sequence

from clip2point.atomic_io import write_json_atomic

KIND = "clip2point demo: the CLIP2Point claim in miniature with a STAND-IN for CLIP (not CLIP)"
ZEROSHOT_LABELS = {"plain": "PointCLIP-style: plain stand-in visual tower",
                   "clip2point": "CLIP2Point: depth tower pre-trained from it"}
FEWSHOT_LABELS = {"dual": "Dual-Path Adapter (both paths)", "clip": "plain stand-in path only",
                  "pretrained": "pre-trained depth path only"}
DATA_LABELS = {"shards": "synthetic shards, test split", "modelnet": "ModelNet-layout meshes, test"}


def spread(values: Sequence[float]) -> dict[str, Any]:
    """``mean``, ``std`` (ddof 1; 0 for one value) and the values themselves."""
    values = [float(v) for v in values]
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "per_seed": values}


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _loss_first_last(metrics: Path) -> tuple[float, float]:
    values = [r["loss"] for r in map(json.loads, metrics.read_text().splitlines()) if r.get("kind") == "train"]
    return values[0], values[-1]


def summarise(out: Path, seeds: Sequence[int], *, shots: int) -> dict[str, Any]:
    """Every row of the closing table, from the stage outputs under ``out``."""
    folders = [out / f"seed-{s}" for s in seeds]
    render = _json(out / "shards" / "report.json")
    standins = [_json(f / "standin.json") for f in folders]
    zeroshot = {}
    for data in DATA_LABELS:
        results = {row: [_json(f / f"zeroshot-{data}-{row}.json") for f in folders] for row in ZEROSHOT_LABELS}
        first = results["plain"][0]
        zeroshot[data] = {"what": DATA_LABELS[data], "objects": first["count"], "prompts": len(first["class_names"]),
                          "chance": 100.0 / len(first["class_names"]),
                          **{row: spread([r["accuracy"] for r in rs]) for row, rs in results.items()}}
    fewshot_results = {p: [_json(f / f"fewshot-{p}.json") for f in folders] for p in FEWSHOT_LABELS}
    first = fewshot_results["dual"][0]
    fewshot = {"shots": shots, "objects": first["count"], "classes": len(first["class_names"]),
               "chance": 100.0 / len(first["class_names"]), "draws_per_seed": len(first["per_seed"]),
               **{p: spread([r["mean"] for r in rs]) for p, rs in fewshot_results.items()}}
    losses = [_loss_first_last(f / "pretrain" / "metrics.jsonl") for f in folders]
    return {
        "kind": KIND, "model": standins[0]["model"], "seeds": list(seeds),
        "standin": {"rgb_zero_shot_held_out": spread([s["rgb_zero_shot_held_out"] for s in standins]),
                    "pictures": standins[0]["pictures"], "weights": [s["weights"] for s in standins]},
        "render": {k: render[k] for k in ("rendered", "failed", "objects_per_s")},
        "pretrain": {"loss_first": spread([a for a, _ in losses]), "loss_last": spread([b for _, b in losses])},
        "zeroshot": zeroshot, "fewshot": fewshot,
        "pictures": {"sheet": str(out / "sheet.png"), "curves": str(folders[0] / "pretrain" / "curves.png"),
                     "zeroshot": str(folders[0] / "zeroshot-shards-clip2point.png"),
                     "fewshot": str(folders[0] / "fewshot-dual.png")},
    }


def write_summary(path: Path, summary: dict[str, Any]) -> Path:
    return write_json_atomic(path, summary)


def _cell(s: dict[str, Any]) -> str:
    return f"{s['mean']:5.1f} ± {s['std']:4.1f}"


def summary_table(summary: dict[str, Any]) -> str:
    """The closing table: the paper's rows (mean ± std over seeds), the chance level, pictures."""
    seeds = ",".join(map(str, summary["seeds"]))
    zs, fs, st = summary["zeroshot"], summary["fewshot"], summary["standin"]
    width = max(map(len, [*ZEROSHOT_LABELS.values(), *FEWSHOT_LABELS.values()]))
    lines = [
        f"demo done: {summary['model']} is a STAND-IN for CLIP fitted here on {st['pictures']} synthetic RGB renders "
        "(not CLIP; it shows the method's mechanics, not CLIP's transfer)",
        f"render {summary['render']['rendered']} objects, {summary['render']['failed']} failed; stand-in RGB "
        f"zero-shot on held-out pictures {_cell(st['rgb_zero_shot_held_out'])}%; pre-training loss "
        f"{summary['pretrain']['loss_first']['mean']:.2f} -> {summary['pretrain']['loss_last']['mean']:.2f}",
        f"zero-shot top-1 % on depth maps (10 views), mean ± std over seeds {seeds}:",
        f"  {'':<{width}}  " + "  ".join(f"{zs[d]['what']} ({zs[d]['objects']})".ljust(34) for d in DATA_LABELS),
        f"  {'chance':<{width}}  " + "  ".join(f"{zs[d]['chance']:5.1f} (1 of {zs[d]['prompts']} prompts)".ljust(34)
                                                for d in DATA_LABELS),
    ]
    lines += [f"  {label:<{width}}  " + "  ".join(_cell(zs[d][row]).ljust(34) for d in DATA_LABELS)
              for row, label in ZEROSHOT_LABELS.items()]
    lines.append(f"few-shot top-1 %, {fs['shots']}-shot, {fs['classes']} classes, {fs['objects']} test objects "
                 f"(each seed: mean of {fs['draws_per_seed']} draws):")
    lines.append(f"  {'chance':<{width}}  {fs['chance']:5.1f}")
    lines += [f"  {label:<{width}}  {_cell(fs[p])}" for p, label in FEWSHOT_LABELS.items()]
    lines.append("pictures: " + "  ".join(summary["pictures"].values()))
    return "\n".join(lines)
