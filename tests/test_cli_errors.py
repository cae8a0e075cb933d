"""Errors the operating system raises reach the user as one line naming the path, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from clip2point.cli import main, os_error_message


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
