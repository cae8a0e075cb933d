"""Command-line options shared by ``clip2point zeroshot`` and ``clip2point fewshot``: one place
defines the data/encoder/view flags and turns them into the validated settings objects."""

from __future__ import annotations

import argparse
import contextlib
import logging
import tempfile
from pathlib import Path
from typing import Iterator

from clip2point.datasets.pointsets import DATASETS, SAMPLERS
from clip2point.datasets.prompt_templates import TemplateSet, resolve_templates, shipped_set_names
from clip2point.datasets.prompts import PROMPT_SETS, reference_template
from clip2point.datasets.scanobjectnn import VARIANTS
from clip2point.errors import ConfigError, PathError
from clip2point.eval.report import DEFAULT_TOPK, parse_topk
from clip2point.extras import require
from clip2point.eval.settings import ALIGN_MODES, DataSettings, EncoderSettings, ViewSettings
from clip2point.render.cameras import default_view_count, view_counts
from clip2point.render.depth import available_depth_presets, fewshot_preset, get_depth_preset
from clip2point.train.precision import PRECISIONS

log = logging.getLogger(__name__)


def default_device() -> str:
    import torch  # noqa: PLC0415

    return "cuda" if torch.cuda.is_available() else "cpu"


def pretrained_flag(value: str) -> str | None:
    """``--pretrained``: 'none' / 'random' mean seeded random weights (None), anything else as given."""
    return None if value.lower() in ("", "none", "random") else value


def resolve_pretrained(pretrained: str | None, model: str, ckpt: Path | None) -> str | None:
    """'auto' resolves by pretrain's own rule (``train.config.default_pretrained``), so zero-shot and
    few-shot start from the same weights pre-training does; a checkpoint brings its own."""
    if pretrained != "auto":
        return pretrained
    from clip2point.train.config import default_pretrained  # noqa: PLC0415

    return None if ckpt is not None else default_pretrained(model)


def add_common_arguments(parser: argparse.ArgumentParser, *, default_views: int) -> None:
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", required=True, choices=list(DATASETS), help="which dataset --data holds")
    data.add_argument("--data", required=True, type=Path, help="dataset folder (or, for ScanObjectNN, one .h5 file)")
    data.add_argument("--num-points", type=int, default=1024, help="points per cloud (SPEC: 1024)")
    data.add_argument("--sample-seed", type=int, default=0, help="seed of mesh surface sampling / subsampling")
    data.add_argument("--sampler", choices=SAMPLERS, default="open3d", help="surface sampler for .off meshes")
    data.add_argument("--align", choices=ALIGN_MODES, default="auto",
                      help="rotate into ShapeNet's frame: auto = only z-up sources (ModelNet meshes)")
    data.add_argument("--cache-dir", type=Path, default=None,
                      help="keep sampled clouds and view features here for later runs")
    data.add_argument("--workers", type=int, default=1, help="processes sampling meshes")
    data.add_argument("--variant", choices=VARIANTS, default=None,
                      help="ScanObjectNN variant: " + ", ".join(f"{v} = {d}/*_objectdataset{x}.h5"
                                                                for v, (d, x) in VARIANTS.items())
                           + "; --data is the h5_files folder, the variant's folder or one of its files")
    data.add_argument("--force-variant", action="store_true",
                      help="score a file whose name says another variant as --variant anyway")
    model = parser.add_argument_group("encoders")
    model.add_argument("--model", default="ViT-B-32", help="open_clip model name, or c2p-tiny / c2p-tiny-64")
    model.add_argument("--pretrained", default="auto", type=pretrained_flag,
                       help="CLIP weights: an open_clip tag (openai), a local file, or none (seeded random); "
                            "auto: openai as in pretrain, none for c2p-tiny / c2p-tiny-64 and with --ckpt (the "
                            "checkpoint records its own)")
    model.add_argument("--ckpt", type=Path, default=None,
                       help="pre-training checkpoint (RUN/checkpoints/best.pt); omitted = plain CLIP")
    model.add_argument("--device", default=None, help="cuda / cpu (default: cuda when available)")
    views = parser.add_argument_group("views")
    own = ", ".join(f"{name} {'/'.join(map(str, view_counts(name)))}" for name in available_depth_presets())
    views.add_argument("--views", type=int, choices=view_counts(), default=None,
                       help=f"views per object: one of --preset's own camera sets ({own}); default {default_views} "
                            "where the preset has it, else the preset's own count")
    views.add_argument("--preset", default="clip2point",
                       help=f"depth preset ({', '.join(available_depth_presets())}); each draws from its own cameras, "
                            "and fewshot uses pointclip's few-shot setting (pointclip-fewshot)")
    views.add_argument("--image-size", type=int, default=None, help="depth raster size (default: the preset's)")
    views.add_argument("--batch-size", type=int, default=32, help="objects encoded per batch")
    parser.add_argument("--prompt", default=reference_template(), help="prompt template; {} is the class name")
    parser.add_argument("--templates", default=None, metavar="NAME|FILE|FILE.json:KEY",
                        help=f"prompt ensemble replacing --prompt: a shipped set ({', '.join(shipped_set_names())}), "
                             "a JSON list / text file of templates, each with one {}, or one named list of a JSON "
                             "file of several (ULIP's data/templates.json:modelnet40_64); the class text features "
                             "are the renormalised mean over the templates")
    parser.add_argument("--prompts", choices=PROMPT_SETS, default="reference",
                        help="class names in the prompts: the reference's lists (ShapeNet 'ashcan', ModelNet10 "
                             "'night_stand'...) or 'project': each label's own name, underscores as spaces")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32",
                        help="encoder autocast: fp32 (the reference's), bf16/fp16 (faster on GPUs), auto")
    parser.add_argument("--topk", type=_topk_flag, default=DEFAULT_TOPK, metavar="K[,K...]",
                        help="top-k accuracies to report beside top-1, e.g. 1,3,5 (default 1,5)")
    parser.set_defaults(default_views=default_views)  # settings_from_args resolves --views against --preset


def templates_from_args(args: argparse.Namespace) -> TemplateSet | None:
    """``--templates`` resolved, refused beside a ``--prompt`` of one's own (which would be ignored)."""
    if args.templates is None:
        return None
    if args.prompt not in (None, reference_template()):
        raise ConfigError(f"--prompt {args.prompt!r} and --templates {args.templates} both set the prompt "
                          "text; give one (a set of one template is a --prompt)")
    return resolve_templates(args.templates)


def require_evaluation_extras(args: argparse.Namespace, command: str) -> None:
    """The 'eval' extra's modules this run will import (open3d only where it samples .off
    meshes), checked before any data is read or output written."""
    modules = ["open_clip", "timm", "matplotlib"]
    meshes = args.dataset == "objaverse-lvis" or (args.dataset.startswith("modelnet")
                                                  and not any(Path(args.data).glob("*.h5")))
    if meshes and args.sampler == "open3d":
        modules.append("open3d")
    require("eval", f"clip2point {command}", modules)


def _topk_flag(text: str) -> tuple[int, ...]:
    """``parse_topk`` for argparse, which then prints our sentence instead of "invalid value"."""
    try:
        return parse_topk(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def settings_from_args(args: argparse.Namespace, *, fewshot: bool = False
                       ) -> tuple[DataSettings, EncoderSettings, ViewSettings]:
    """``fewshot``: a preset with a few-shot setting of its own (``pointclip``) is replaced by
    it, as the reference's few-shot runs project with other constants and cameras."""
    from clip2point.train.distributed import parse_device
    from clip2point.train.models import packaged_model_names

    data = DataSettings(args.dataset, args.data, num_points=args.num_points, seed=args.sample_seed,
                        sampler=args.sampler, align=args.align, cache_dir=args.cache_dir, workers=args.workers,
                        prompts=args.prompts, variant=args.variant, force_variant=args.force_variant)
    device = str(parse_device(args.device)) if args.device else default_device()
    pretrained = resolve_pretrained(args.pretrained, args.model, args.ckpt)
    encoder = EncoderSettings(args.model, pretrained, args.ckpt, device, args.precision)
    if pretrained is None and args.ckpt is None and args.model not in packaged_model_names():
        log.warning("no --pretrained weights: %s has random weights (pass --pretrained openai or a file "
                    "for the paper's CLIP baseline)", args.model)
    preset = fewshot_preset(args.preset) if fewshot else get_depth_preset(args.preset).name
    if preset != args.preset:
        log.info("few-shot with --preset %s uses its few-shot setting %s", args.preset, preset)
    num_views = args.views if args.views is not None else default_view_count(preset, args.default_views)
    views = ViewSettings(num_views, preset, args.image_size, args.batch_size)
    return data, encoder, views


def default_output(args: argparse.Namespace, command: str) -> Path:
    """``--out`` or ``results/COMMAND-DATASET-MODEL[-ckpt].json``."""
    if args.out is not None:
        return Path(args.out)
    tag = "ckpt" if args.ckpt is not None else "clip"
    return Path("results") / f"{command}-{args.dataset}-{args.model}-{tag}.json"


@contextlib.contextmanager
def removed_if_left_empty(folder: Path) -> Iterator[None]:
    """Remove ``folder`` after the block if the block (or a probe before it) made it and nothing
    was written there: a run that fails must not leave an empty output folder behind."""
    existed = folder.exists()
    try:
        yield
    finally:
        if not existed and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def check_output_files(*paths: Path) -> None:
    """Refuse output files that cannot be written, before the evaluation starts: found only at
    the end, an existing folder, a file where a folder must go or a read-only folder would throw
    away an hour of encoding. The parent folder is created (it would be anyway) and probed
    with a temporary file, which is removed again."""
    for path in paths:
        if path.is_dir():
            raise PathError(path, "is a folder; --out takes the result file name, e.g. results/run.json")
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise PathError(path, f"cannot be written: {blocker} is a file, not a folder")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".probe"):
                pass
        except OSError as exc:
            raise PathError(path, f"cannot write this output file ({exc.strerror or exc})") from None
