"""``clip2point report RESULTS_DIR``: every result JSON of a folder as one table, beside the
published numbers of SPEC §8, each labelled with its protocol.

A number without its protocol misleads: ScanObjectNN has three variants and two split
conventions, PointCLIP V2 tunes view weights on the test set, the reference keeps the epoch with
the best test accuracy. So each row carries what it was measured on (dataset, variant, split,
prompts, views, preset, faithful/improved mode) and runs that differ only in their seed are
pooled into mean ± std. The files are read as written by ``zeroshot`` and ``fewshot``
(``eval.report.write_result_json``); the numbers are not recomputed here.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from clip2point.atomic_io import atomic_path
from clip2point.errors import PathError

log = logging.getLogger(__name__)

KEY_COLUMNS = ("kind", "dataset", "variant", "split", "shots", "model", "encoder", "prompts", "views", "preset", "mode")
COLUMNS = (*KEY_COLUMNS, "top1", "top5", "seeds", "published", "files")


@dataclass(frozen=True)
class Published:
    """One number of SPEC §8 and the protocol it was measured under."""

    method: str
    kind: str  # zeroshot / fewshot
    dataset: str
    value: str  # as printed (a range for the OpenShape anchor)
    protocol: str
    variant: str | None = None  # ScanObjectNN only; None where the source does not say
    shots: int | None = None


_BEST_ON_TEST = "checkpoint kept by best test accuracy (the reference's selection)"
PUBLISHED: tuple[Published, ...] = (
    Published("CLIP2Point ViT-B/32", "zeroshot", "modelnet10", "66.63", f"paper; test split; {_BEST_ON_TEST}"),
    Published("CLIP2Point ViT-B/32", "zeroshot", "modelnet40", "49.38",
              f"paper, confirmed by the authors; test split; {_BEST_ON_TEST}"),
    Published("CLIP2Point ViT-B/32", "zeroshot", "scanobjectnn", "23.32",
              "paper; test split; variant not printed — the reference code reads main_split/test_objectdataset.h5",
              variant="obj_bg"),
    Published("PointCLIP", "zeroshot", "modelnet10", "30.23", "paper; test split; 6 views"),
    Published("PointCLIP", "zeroshot", "modelnet40", "20.18", "paper; test split; 6 views"),
    Published("PointCLIP", "zeroshot", "scanobjectnn", "15.38", "paper; test split; variant not stated in SPEC §8"),
    Published("PointCLIP V2 ViT-B/16", "zeroshot", "modelnet10", "73.13",
              "paper; GPT-3 prompts; view weights searched on the test set"),
    Published("PointCLIP V2 ViT-B/16", "zeroshot", "modelnet40", "64.22",
              "paper; GPT-3 prompts; view weights searched on the test set"),
    Published("PointCLIP V2 ViT-B/16", "zeroshot", "scanobjectnn", "35.36",
              "paper; GPT-3 prompts; view weights searched on the test set", variant="pb_t50_rs"),
    Published("PointCLIP V2 ViT-B/32", "zeroshot", "modelnet40", "55.14", "its repository; GPT-3 prompts"),
    Published("OpenShape (PointBERT/SparseConv), ShapeNet-only", "zeroshot", "modelnet40", "70.3–74.1",
              "upper anchor: a 3D backbone pre-trained on ShapeNet only"),
    Published("CLIP2Point DPA", "fewshot", "modelnet40", "87.46", f"paper; 16-shot; {_BEST_ON_TEST}", shots=16),
    Published("PointCLIP", "fewshot", "modelnet40", "87.20", "paper; 16-shot; with post-search on the test set",
              shots=16),
    Published("PointCLIP (released checkpoint)", "fewshot", "modelnet40", "86.71", "16-shot", shots=16),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", type=Path, help="folder searched (recursively) for result JSONs")
    parser.add_argument("--out", type=Path, default=None,
                        help="Markdown file to write (default RESULTS/report.md); the CSV goes beside it")


def run(args: argparse.Namespace) -> int:
    md, csv_path = write_report(args.results, args.out)
    print(md.read_text())
    print(f"wrote {md} and {csv_path}")
    return 0


# ---------------------------------------------------------------------------- reading


def _get(doc: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)  # type: ignore[assignment]
    return doc


def run_mode(doc: dict[str, Any]) -> str:
    """faithful / improved: a ``mode`` or ``recipe`` key, else the ``fidelity`` record, else unknown."""
    for key in ("mode", "recipe"):
        value = doc.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            return value["name"]
    faithful = _get(doc, "fidelity", "faithful")
    return "unknown" if faithful is None else ("faithful" if faithful else "improved")


def prompts_label(doc: dict[str, Any]) -> str:
    """The prompt set or template a result was scored with."""
    for value in (doc.get("prompt_set"), doc.get("prompts"), doc.get("templates"), _get(doc, "config", "prompts")):
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict) and value.get("name"):
            return str(value["name"])
        if isinstance(value, list) and value:
            return f"{len(value)} templates"
    template = _get(doc, "config", "prompt")
    names = _get(doc, "config", "data", "prompts")
    return ": ".join(str(p) for p in (names, template) if p) or "unknown"


def result_row(doc: dict[str, Any], path: Path) -> dict[str, Any] | None:
    """The key columns and per-seed values of one result JSON; None for other JSON files."""
    config = doc.get("config")
    if not isinstance(config, dict) or "code_version" not in doc or not ("accuracy" in doc or "mean" in doc):
        return None
    fewshot = isinstance(config.get("fewshot"), dict) and isinstance(doc.get("seeds"), list)
    dataset = doc.get("dataset") or _get(config, "data", "dataset") or "unknown"
    variant = doc.get("variant") or _get(config, "data", "variant")
    if fewshot:
        top1 = [float(s.get("top1", s["accuracy"])) for s in doc["seeds"]]
        top5 = [float(s["top5"]) for s in doc["seeds"] if "top5" in s]
        encoder, shots = "+".join(config["fewshot"].get("paths", [])), config["fewshot"].get("shots")
    else:
        top1 = [float(doc.get("top1", doc["accuracy"]))]
        top5 = [float(doc["top5"])] if "top5" in doc else []
        encoder, shots = doc.get("scored_by") or ("pretrained" if _get(config, "encoder", "ckpt") else "clip"), None
    return {"kind": "fewshot" if fewshot else "zeroshot", "dataset": dataset,
            "variant": variant or ("unknown" if dataset == "scanobjectnn" else ""),
            "split": doc.get("split") or config.get("split") or "test", "shots": shots or "",
            "model": _get(config, "encoder", "model") or "unknown", "encoder": encoder, "prompts": prompts_label(doc),
            "views": _get(config, "views", "num_views") or "", "preset": _get(config, "views", "preset") or "",
            "mode": run_mode(doc), "_top1": top1, "_top5": top5 if len(top5) == len(top1) else [], "_file": str(path)}


def gather(folder: Path) -> list[dict[str, Any]]:
    """Result rows of every JSON under ``folder``, runs that differ only in seed pooled."""
    if not folder.is_dir():
        raise PathError(folder, "not a folder; pass the folder holding zeroshot/fewshot result JSONs")
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for path in sorted(folder.rglob("*.json")):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            log.warning("%s: skipped, not readable JSON (%s)", path, exc)
            continue
        row = result_row(doc, path) if isinstance(doc, dict) else None
        if row is None:
            log.info("%s: not a result file, skipped", path)
            continue
        groups.setdefault(tuple(row[c] for c in KEY_COLUMNS), []).append(row)
    return [_pool(rows) for _, rows in sorted(groups.items(), key=lambda kv: tuple(map(str, kv[0])))]


def mean_std(values: Sequence[float]) -> str:
    """``m ± s`` over seeds (sample std, ddof 1) or the value alone for a single run."""
    if not values:
        return ""
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{np.mean(values):.2f} ± {np.std(values, ddof=1):.2f}"


def _pool(rows: list[dict[str, Any]]) -> dict[str, Any]:
    top1 = [v for r in rows for v in r["_top1"]]
    top5 = [v for r in rows for v in r["_top5"]] if all(r["_top5"] for r in rows) else []
    first = rows[0]
    return {**{c: first[c] for c in KEY_COLUMNS}, "top1": mean_std(top1), "top5": mean_std(top5),
            "seeds": len(top1), "published": published_beside(first), "files": " ".join(r["_file"] for r in rows)}


def published_beside(row: dict[str, Any]) -> str:
    """The SPEC §8 numbers measured on what ``row`` measures (same kind, dataset, shots; a
    ScanObjectNN variant that agrees or is not known on either side)."""
    hits = [p for p in PUBLISHED if p.kind == row["kind"] and p.dataset == row["dataset"]
            and (p.shots is None or p.shots == row["shots"])
            and (p.variant is None or row["variant"] in ("", "unknown", p.variant))]
    return "; ".join(f"{p.method} {p.value}" for p in hits)


# ---------------------------------------------------------------------------- writing


def markdown(rows: list[dict[str, Any]]) -> str:
    """Our results, then the published numbers with their protocols."""
    def table(header: Sequence[str], body: Iterable[Sequence[Any]]) -> list[str]:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return lines + ["| " + " | ".join(str(v).replace("|", "\\|") for v in r) + " |" for r in body]

    ours = [c for c in COLUMNS if c != "files"]
    lines = ["# Results", "", "Top-1/top-5 accuracy (%), mean ± std over seeds (sample std) where several.", ""]
    lines += table(ours, ([r[c] for c in ours] for r in rows)) if rows else ["(no result files found)"]
    lines += ["", "## Published numbers (SPEC §8)", ""]
    lines += table(("method", "kind", "dataset", "variant", "shots", "top1", "protocol"),
                   ((p.method, p.kind, p.dataset, p.variant or "", p.shots or "", p.value, p.protocol)
                    for p in PUBLISHED))
    lines += ["", "This project selects on validation data only; the reference's best-on-test figures are "
                  "labelled as such above."]
    return "\n".join(lines) + "\n"


def csv_text(rows: list[dict[str, Any]]) -> str:
    """One CSV for both: ``origin`` is ``ours`` or ``published`` (with its ``protocol``)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=("origin", *COLUMNS, "method", "protocol"), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({"origin": "ours", **row})
    for p in PUBLISHED:
        writer.writerow({"origin": "published", "kind": p.kind, "dataset": p.dataset, "variant": p.variant or "",
                         "shots": p.shots or "", "top1": p.value, "method": p.method, "protocol": p.protocol,
                         "files": "SPEC §8"})
    return out.getvalue()


def write_report(folder: Path, out: Path | None = None) -> tuple[Path, Path]:
    """``report.md`` and ``report.csv`` (or ``out`` and its .csv sibling) for ``folder``."""
    rows = gather(Path(folder))
    md = Path(out) if out is not None else Path(folder) / "report.md"
    paths = (md, md.with_suffix(".csv"))
    for path, text in zip(paths, (markdown(rows), csv_text(rows))):
        with atomic_path(path) as tmp:
            tmp.write_text(text)
    return paths
