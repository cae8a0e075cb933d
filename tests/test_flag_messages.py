"""Every stage refuses a bad flag value with the one sentence of ``clip2point.validation``:
``clip2point CMD: error: FLAG must be ...; got VALUE``, naming the flag the user typed (``--shots``,
not the field ``shots``; ``--train-batch-size``, not ``batch_size``), before any data is read or
output written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clip2point.cli import main

# (command line after the command's required arguments, flag named, value shown)
FEWSHOT = [
    (["--shots", "0"], "--shots", "0"),
    (["--epochs", "0"], "--epochs", "0"),
    (["--train-batch-size", "1"], "--train-batch-size", "1"),
    (["--val-per-class", "-1"], "--val-per-class", "-1"),
    (["--seeds", "2,2"], "--seeds", r"\(2, 2\)"),
    (["--lr", "0"], "--lr", "0.0"),
    (["--weight-decay", "-1"], "--weight-decay", "-1.0"),
]
EVALUATION = [  # flags zeroshot and fewshot share (eval.cli_common)
    (["--num-points", "0"], "--num-points", "0"),
    (["--workers", "0"], "--workers", "0"),
    (["--batch-size", "0"], "--batch-size", "0"),
    (["--image-size", "4"], "--image-size", "4"),
]
INSPECT = [
    (["verify", "--min-precision", "1.5"], "--min-precision", "1.5"),
    (["verify", "--min-coverage", "-0.5"], "--min-coverage", "-0.5"),
    (["verify", "--yfov", "180"], "--yfov", "180.0"),
    (["sheet", "--random", "0"], "--random", "0"),
    (["gallery", "--out", "{tmp}/site", "--per-class", "0"], "--per-class", "0"),
    (["gallery", "--out", "{tmp}/site", "--workers", "0"], "--workers", "0"),
    (["gallery", "--out", "{tmp}/site", "--thumb-view", "-1"], "--thumb-view", "-1"),
]
RENDER = [
    (["--size", "8"], "--size", "8"),
    (["--points", "0"], "--points", "0"),
    (["--depth-points", "9000"], "--depth-points", "9000"),
    (["--objects-per-shard", "0"], "--objects-per-shard", "0"),
    (["--timeout", "0"], "--timeout", "0.0"),
    (["--max-faces", "0"], "--max-faces", "0"),
    (["--workers", "0"], "--workers", "0"),
]


def _cases() -> list[tuple[list[str], str, str]]:
    shared = ["--data", "{tmp}/none", "--model", "c2p-tiny", "--device", "cpu", "--out", "{tmp}/r.json"]
    cases = [(["fewshot", "--dataset", "shards", *shared, "--paths", "clip", *flags], flag, shown)
             for flags, flag, shown in FEWSHOT + EVALUATION]
    cases += [(["zeroshot", "--dataset", "shards", *shared, *flags], flag, shown) for flags, flag, shown in EVALUATION]
    cases += [(["inspect", "{tmp}/none", *flags], flag, shown) for flags, flag, shown in INSPECT]
    cases += [(["render", "--out", "{tmp}/out", *flags], flag, shown) for flags, flag, shown in RENDER]
    cases += [(["views", "{tmp}/none.obj", "--out", "{tmp}/v", "--size", "4"], "--size", "4"),
              (["project", "{tmp}/none.npy", "--out", "{tmp}/p", "--size", "5000"], "--size", "5000"),
              (["project", "{tmp}/none.npy", "--out", "{tmp}/p", "--dist", "0"], "--dist", "0.0"),
              (["synth", "{tmp}/syn", "--per-class", "0"], "--per-class", "0")]
    return cases


@pytest.mark.parametrize(("argv", "flag", "shown"), _cases(), ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_a_bad_flag_value_is_the_common_sentence_naming_the_flag(
        tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str], flag: str, shown: str) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert re.fullmatch(rf"clip2point {argv[0]}: error: {re.escape(flag)} must be [^;]+; got {shown}( \(.*\))?", err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # refused before anything was written
