"""``clip2point zeroshot``: zero-shot accuracy of plain CLIP or a pre-trained depth encoder on
ModelNet40/10, ScanObjectNN or our shards' test split (SPEC §6)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from clip2point.eval.cli_common import (add_common_arguments, check_output_files, default_output,
                                        require_evaluation_extras, settings_from_args, templates_from_args)
from clip2point.eval.evalsets import EVAL_SPLITS
from clip2point.eval.report import format_report, save_confusion_png, write_result_json
from clip2point.eval.zeroshot import ZeroShotConfig, run_zeroshot

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, default_views=6)
    parser.add_argument("--split", choices=EVAL_SPLITS, default="test",
                        help="which split to score; all = train + test (as some ScanObjectNN papers report)")
    parser.add_argument("--out", type=Path, default=None,
                        help="result JSON (default results/zeroshot-DATASET-MODEL-{clip|ckpt}.json); "
                             "the confusion matrix goes beside it as .png")


def run(args: argparse.Namespace) -> int:
    require_evaluation_extras(args, "zeroshot")
    data, encoder, views = settings_from_args(args)
    config = ZeroShotConfig(data, encoder, views, args.prompt, args.split, args.topk, templates_from_args(args))
    out = default_output(args, "zeroshot")
    check_output_files(out, out.with_suffix(".png"))
    result = run_zeroshot(config)
    variant = f" {result.data['variant']}" if result.data.get("variant") else ""
    title = f"zero-shot {args.dataset}{variant} {args.split}, {args.model} ({result.path}), {views.num_views} views"
    print(format_report(result.report, title))
    png = save_confusion_png(result.report, out.with_suffix(".png"), title=f"{title}: {result.report.accuracy:.2f}%")
    write_result_json(out, {**result.report.to_json(), "class_names": list(result.report.class_names),
                            "scored_by": result.path, "confusion_png": str(png), **result.data}, config=config)
    print(f"wrote {out} and {png}")
    return 0
