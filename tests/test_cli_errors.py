"""Errors the operating system raises reach the user as one line naming the path, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from clip2point.cli import main, os_error_message
from clip2point.train.checkpoint import torch_save_atomic


def test_an_output_under_a_regular_file_is_one_line_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("not a folder")
    code = main(["synth", str(blocker / "set"), "--per-class", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("clip2point synth: error: ") and str(blocker) in err


def test_os_error_message_names_both_paths_of_a_rename() -> None:
    assert os_error_message(FileNotFoundError(2, "No such file or directory", "a.tmp", None, "b")) == (
        "a.tmp -> b: No such file or directory")
    assert os_error_message(PermissionError(13, "Permission denied", "/ro/x")) == "/ro/x: Permission denied"
    assert os_error_message(OSError("disk on fire")) == "disk on fire"


def test_the_os_answers_that_mislead_say_what_is_meant(tmp_path: Path) -> None:
    blocker = tmp_path / "run.sh"
    blocker.write_text("#!/bin/sh")
    assert os_error_message(FileExistsError(17, "File exists", str(blocker))) == (
        f"{blocker}: is a file, but a folder is needed here")
    assert os_error_message(NotADirectoryError(20, "Not a directory", str(blocker / "x"))) == (
        f"{blocker / 'x'}: part of this path is a file, but a folder is needed there")
    assert os_error_message(OSError(28, "No space left on device"), "out/shards") == (
        "No space left on device (while writing under out/shards)")


def test_a_torch_save_that_fails_midway_is_an_os_error_naming_the_file(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """torch reports a full disk as a RuntimeError with C++ context; the user gets the file, the
    free space, one line, and no temporary file left behind."""
    import torch

    def full_disk(obj: object, path: Path) -> None:
        Path(path).write_bytes(b"PK partial")
        raise RuntimeError("[enforce fail at inline_container.cc:672] unexpected pos 64 vs 0\nframe #0: c10::...")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(OSError) as info:
        torch_save_atomic({"x": 1}, tmp_path / "ckpt" / "last.pt")
    message = os_error_message(info.value)
    assert message.startswith(f"{tmp_path / 'ckpt' / 'last.pt'}: could not be written ([enforce fail")
    assert "MB free in" in message and "\n" not in message
    assert list((tmp_path / "ckpt").iterdir()) == []
