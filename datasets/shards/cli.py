"""``clip2point shards merge OUT [NODE_DIR...]``: one index over the shards of several nodes.

With node folders, their completed shards are copied (hard-linked where possible) into OUT; with
none, OUT itself (a folder several nodes wrote into) is indexed in place."""

from __future__ import annotations

import argparse
from pathlib import Path

from clip2point.datasets.shards.merge import merge_shard_folders


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    merge = sub.add_parser("merge", help="merge node folders into OUT (or index OUT in place) and write index.json")
    merge.add_argument("out", type=Path, metavar="OUT", help="merged folder (created if absent)")
    merge.add_argument("nodes", type=Path, nargs="*", metavar="NODE_DIR", help="folders written by --node-rank runs")


def run(args: argparse.Namespace) -> int:
    index = merge_shard_folders(args.out, args.nodes)
    counts = index["counts"]
    print(f"{args.out}: {counts['shards']} shards, {counts['objects']} objects, {counts['failed']} failed, "
          f"{counts['skipped']} skipped -> {args.out / 'index.json'}")
    return 0
