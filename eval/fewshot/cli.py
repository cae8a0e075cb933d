"""``clip2point fewshot``: K-shot classification with the Dual-Path Adapter (SPEC §7), mean ± std
over seeds, adapters saved; ``--eval-only ADAPTER`` scores a saved one."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from clip2point.errors import ConfigError
from clip2point.eval.cli_common import (add_common_arguments, check_output_files, default_output,
                                        removed_if_left_empty, require_evaluation_extras, settings_from_args,
                                        templates_from_args)
from clip2point.eval.evalsets import data_record
from clip2point.eval.fewshot import FewShotResult, FewShotSettings
from clip2point.eval.fewshot.run import (ADAPTER_FIXED_FLAGS, FewShotConfig, evaluate_saved_adapter, run_fewshot,
                                         save_adapters)
from clip2point.eval.report import format_report, report_from_confusion, save_confusion_png, write_result_json

log = logging.getLogger(__name__)

PATH_CHOICES = {"dual": ("pretrained", "clip"), "clip": ("clip",), "pretrained": ("pretrained",)}
# argparse dest of each flag a saved adapter fixes -> the adapter meta key it must match
ADAPTER_FIXED_DESTS = {flag[2:].replace("-", "_"): key for key, flag in ADAPTER_FIXED_FLAGS.items()}


def _seeds(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds takes integers separated by commas, e.g. 0,1,2; got {text!r}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, default_views=10)
    parser.add_argument("--shots", type=int, default=16, help="training objects per class")
    parser.add_argument("--seeds", type=_seeds, default=(0, 1, 2), help="k-shot draws, e.g. 0,1,2")
    parser.add_argument("--paths", choices=list(PATH_CHOICES), default="dual",
                        help="dual (needs --ckpt), clip (plain CLIP features), pretrained (needs --ckpt)")
    parser.add_argument("--epochs", type=int, default=100, help="adapter training epochs (fixed in advance)")
    parser.add_argument("--val-per-class", type=int, default=4,
                        help="validation objects per class from the training split, disjoint from the shots, "
                             "to pick the epoch; 0 = keep the last epoch")
    parser.add_argument("--train-batch-size", type=int, default=32, help="adapter batch (SPEC: 32)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--out", type=Path, default=None,
                        help="result JSON (default results/fewshot-DATASET-MODEL-{clip|ckpt}.json); "
                             "adapters go to a folder beside it")
    parser.add_argument("--eval-only", type=Path, default=None, metavar="ADAPTER",
                        help="score this saved adapter on the test split instead of training (with the adapter's "
                             "views, preset, prompt and templates; giving other values is an error)")
    # None marks a flag as not given, which --eval-only must tell from its default value.
    parser.set_defaults(fixed_defaults={d: parser.get_default(d) for d in ADAPTER_FIXED_DESTS},
                        **{d: None for d in ADAPTER_FIXED_DESTS})


def _split_given(args: argparse.Namespace) -> tuple[argparse.Namespace, dict[str, object]]:
    """``args`` with defaults filled in for the adapter-fixed flags left out, and the values
    typed for the others (adapter meta key -> value)."""
    given = {ADAPTER_FIXED_DESTS[d]: getattr(args, d) for d in ADAPTER_FIXED_DESTS if getattr(args, d) is not None}
    filled = {d: args.fixed_defaults[d] if getattr(args, d) is None else getattr(args, d) for d in ADAPTER_FIXED_DESTS}
    return argparse.Namespace(**{**vars(args), **filled}), given


def _config(args: argparse.Namespace) -> FewShotConfig:
    data, encoder, views = settings_from_args(args, fewshot=True)
    fewshot = FewShotSettings(shots=args.shots, seeds=args.seeds, paths=PATH_CHOICES[args.paths], epochs=args.epochs,
                              val_per_class=args.val_per_class, batch_size=args.train_batch_size, lr=args.lr,
                              weight_decay=args.weight_decay, topk=args.topk)
    return FewShotConfig(data, encoder, views, args.prompt, fewshot, templates_from_args(args))


def run(args: argparse.Namespace) -> int:
    require_evaluation_extras(args, "fewshot")
    args, given = _split_given(args)
    config = _config(args)
    out = default_output(args, "fewshot")
    check_output_files(out, out.with_suffix(".png"))
    if args.eval_only is not None:
        return _eval_only(args.eval_only, config, out, given)
    folder = out.with_name(out.stem + "-adapters")
    with removed_if_left_empty(folder):
        check_output_files(folder / f"adapter-seed{config.fewshot.seeds[0]}.pt")
        result, encoders, test = run_fewshot(config)
        adapters = save_adapters(result, folder, config, encoders, test.class_names)
    title = f"{config.fewshot.shots}-shot {args.dataset}, {args.model}, paths {args.paths}"
    for seed in result.seeds:
        print(format_report(seed.report, f"{title}, seed {seed.seed} (epoch {seed.selected_epoch})").splitlines()[0])
    print(f"{title}: {result.mean:.2f} ± {result.std:.2f}% over seeds {list(config.fewshot.seeds)}")
    summed = report_from_confusion(sum(s.report.confusion for s in result.seeds), test.class_names)
    png = save_confusion_png(summed, out.with_suffix(".png"),
                             title=f"{title}: {result.mean:.2f} ± {result.std:.2f}% (confusion summed over seeds)")
    write_result_json(out, {
        "mean": result.mean, "std": result.std, "std_ddof": 1,
        "per_seed": {str(s.seed): s.report.accuracy for s in result.seeds}, **seed_topk(result),
        "seeds": [{"seed": s.seed, "accuracy": s.report.accuracy, **s.report.topk,
                   "mean_class_accuracy": s.report.mean_class_accuracy,
                   "per_class": s.report.per_class, "selected_epoch": s.selected_epoch, "val_accuracy": s.val_accuracy,
                   "history": [list(h) for h in s.history]} for s in result.seeds],
        "count": test.labels.size, "class_names": list(test.class_names),
        "adapters": [str(p) for p in adapters], "confusion_png": str(png), **data_record(config.data, "test", test),
    }, config=config)
    print(f"wrote {out}, {png} and {len(adapters)} adapters")
    return 0


def seed_topk(result: FewShotResult) -> dict[str, float]:
    """``top1``, ``top5``… as the mean over seeds and ``top5_std``… (ddof 1, as ``std``)."""
    out: dict[str, float] = {}
    for key in result.seeds[0].report.topk:
        values = [s.report.topk[key] for s in result.seeds]
        out[key] = float(np.mean(values))
        out[f"{key}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return out


def _eval_only(adapter: Path, config: FewShotConfig, out: Path, given: dict[str, object]) -> int:
    """Score a saved adapter; the result's config records the settings used (the adapter's
    views and prompt), never training flags that played no part."""
    if not adapter.is_file():
        raise ConfigError(f"--eval-only {adapter} does not exist; pass an adapter-seedN.pt written by fewshot")
    report, meta, used = evaluate_saved_adapter(adapter, config, given=given)
    print(format_report(report, f"adapter {adapter} (seed {meta['seed']}, {meta['shots']}-shot)"))
    png = save_confusion_png(report, out.with_suffix(".png"))
    write_result_json(out, {**report.to_json(), **data_record(config.data, "test"), "adapter": str(adapter),
                            "adapter_meta": meta,
                            "class_names": list(report.class_names), "confusion_png": str(png)}, config=used)
    print(f"wrote {out} and {png}")
    return 0
