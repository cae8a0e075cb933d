"""``inspect verify`` shows progress on stderr only; ``inspect sheet --out FOLDER/`` writes into the folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_inspect import make_folder, obj, renders  # noqa: F401  (fixtures)

from clip2point.cli import main
from clip2point.render.sheets import sheet_path


def test_verify_json_keeps_stdout_clean_and_shows_progress_on_stderr(tmp_path: Path, obj,  # noqa: F811
                                                                     capsys: pytest.CaptureFixture) -> None:
    root = make_folder(tmp_path / "shards", obj)
    assert main(["inspect", str(root), "verify", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["objects"] == 5
    assert "verify" in err and "5/5" in err
    assert main(["inspect", str(root), "verify", "--json", "--no-progress"]) == 0
    assert "verify" not in capsys.readouterr().err


def test_sheet_into_a_folder(tmp_path: Path, obj, capsys: pytest.CaptureFixture) -> None:  # noqa: F811
    root = make_folder(tmp_path / "shards", obj)
    assert main(["inspect", str(root), "sheet", "--random", "1", "--out", f"{tmp_path / 'sheets'}/"]) == 0
    assert (tmp_path / "sheets" / "sheet.png").is_file()
    (tmp_path / "existing").mkdir()
    assert main(["inspect", str(root), "sheet", "--random", "1", "--out", str(tmp_path / "existing")]) == 0
    assert (tmp_path / "existing" / "sheet.png").is_file()
    assert sheet_path(str(tmp_path / "named.png")) == tmp_path / "named.png"
