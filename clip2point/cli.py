"""The ``clip2point`` console command: a thin dispatcher over each stage's own CLI module.

Each subcommand lives in the stage that owns it and exposes ``add_arguments(parser)`` and
``run(args) -> int``. Modules are imported only when their subcommand runs, so
``clip2point --help`` is instant and a rendering node never imports open_clip.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import Sequence

from clip2point.errors import Clip2PointError

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("clip2point.datasets.synthetic.cli", "write the built-in synthetic ShapeNet-style mesh set"),
    "project": ("clip2point.render.project_cli", "project a point cloud to depth maps (clip2point / pointclip / pointclip-v2)"),
    "views": ("clip2point.render.views_cli", "render one mesh to RGB views + depth maps and a PNG sheet"),
    "render": ("clip2point.render.job.cli", "the generation job: meshes to HDF5 shards (resumable, parallel)"),
    "shards": ("clip2point.datasets.shards.cli", "shard folder maintenance (merge node indexes)"),
    "inspect": ("clip2point.inspection.cli", "summary / verify / sheet / export of a shard folder"),
    "standin": ("clip2point.train.standin", "fit a small STAND-IN for CLIP (not CLIP) on rendered shards, for CPU runs"),
    "pretrain": ("clip2point.train.cli", "image-depth contrastive pre-training of a CLIP visual tower"),
    "zeroshot": ("clip2point.eval.zeroshot.cli", "zero-shot classification of point clouds"),
    "export": ("clip2point.train.export", "write a checkpoint's depth tower as an open_clip model folder (hub layout)"),
    "fewshot": ("clip2point.eval.fewshot.cli", "few-shot classification with the Dual-Path Adapter"),
    "report": ("clip2point.eval.results_table", "gather result JSONs into one Markdown/CSV table beside the published numbers"),
    "demo": ("clip2point.demo", "the paper's table in miniature on CPU: synth -> render -> stand-in -> pretrain -> zero/few-shot"),
}


# Flags a user may expect on a command that does not take them -> what to know instead.
MISSING_FLAG_HINTS: dict[tuple[str, str], str] = {
    ("render", "--device"): "render has no --device: the RGB views render through EGL (on the NVIDIA GPU when its "
                            "driver is present, else with Mesa's llvmpipe on the CPU) and the depth maps on the CPU",
}


def _has_default(action: argparse.Action) -> bool:
    """Whether ``--help`` has a default to name (not None, not an on/off switch's)."""
    return not (action.default is None or isinstance(action.default, bool) or action.default is argparse.SUPPRESS)


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` names every flag's default, except where the help already says it or there is
    none to say (``None``, on/off switches)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text.lower() or not _has_default(action) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def _with_defaults_help(parser: argparse.ArgumentParser) -> None:
    """The formatter for ``parser`` and any sub-subcommands a module added (``inspect ACTION``)."""
    parser.formatter_class = DefaultsHelpFormatter
    for action in parser._actions:
        if not action.help and action.option_strings and _has_default(action):
            action.help = "default: %(default)s"  # argparse prints nothing at all for a flag without help
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _with_defaults_help(child)


def build_parser(argv: Sequence[str]) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser | None]:
    """Top-level parser and the chosen subcommand's parser; only that command's module is imported."""
    parser = argparse.ArgumentParser(prog="clip2point", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((a for a in argv if a in COMMANDS), None)
    chosen_parser = None
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            mod = importlib.import_module(module)
            mod.add_arguments(p)
            p.set_defaults(_run=mod.run)
            _with_defaults_help(p)
            chosen_parser = p
    return parser, chosen_parser


def _refuse_unknown(parser: argparse.ArgumentParser, command: str | None, unknown: list[str]) -> None:
    """Unknown flags are the subcommand's error (its usage, not the top-level one), with a hint
    where a flag is expected there but lives elsewhere."""
    hints = [MISSING_FLAG_HINTS[(command or "", a.split("=")[0])] for a in unknown
             if (command or "", a.split("=")[0]) in MISSING_FLAG_HINTS]
    parser.error(f"unrecognized arguments: {' '.join(unknown)}" + "".join(f"; {h}" for h in hints))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, command_parser = build_parser(argv)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        _refuse_unknown(command_parser or parser, getattr(args, "command", None), unknown)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        code = int(args._run(args) or 0)
        sys.stdout.flush()  # inside the try: a reader that left shows up here, not at exit
        return code
    except Clip2PointError as exc:
        print(f"clip2point {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"clip2point {args.command}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader left (`clip2point inspect ... | head`): Python's documented recipe points stdout
        # at devnull so the flush at exit cannot raise again; 141 is the shell's SIGPIPE status.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:  # a path the system refused (a file where a folder goes, read-only, full disk)
        logging.getLogger("clip2point").debug("traceback", exc_info=True)
        print(f"clip2point {args.command}: error: {os_error_message(exc, getattr(args, 'out', None))}",
              file=sys.stderr)
        return 2


def os_error_message(exc: OSError, output: str | os.PathLike | None = None) -> str:
    """``PATH: reason`` (both paths for a rename or a link), the way ``ls`` or ``mv`` say it.

    Two of the OS's answers mislead when quoted bare: "File exists" for a folder to be made
    where a file is, and "Not a directory" below one; both say which it is instead. An error
    without a path (a full disk inside a library's writer) names the command's output.
    """
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    reason = exc.strerror or str(exc)
    if isinstance(exc, FileExistsError) and len(paths) == 1 and os.path.isfile(paths[0]):
        reason = "is a file, but a folder is needed here"
    elif isinstance(exc, NotADirectoryError):
        reason = "part of this path is a file, but a folder is needed there"
    if not paths and output is not None:
        return f"{reason} (while writing under {output})"
    return f"{' -> '.join(paths)}: {reason}" if paths else reason


if __name__ == "__main__":
    sys.exit(main())
