"""``python -m clip2point.train [pretrain flags]``: the entry point for ``torchrun``.

``torchrun --nproc-per-node N -m clip2point.train --shards S --out RUN ...`` starts one process
per device; each runs the same ``clip2point pretrain`` command line.
"""

from __future__ import annotations

import sys

from clip2point.cli import main

if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args if args[:1] == ["pretrain"] else ["pretrain", *args]))
