"""The suite's own settings: a hang fails (pytest-timeout) instead of eating CI's 90 minutes."""

from __future__ import annotations

import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_has_a_timeout_that_ends_a_hang(tmp_path: Path) -> None:
    ini = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert 60 <= int(ini["timeout"]) <= 900 and ini["timeout_method"] == "thread"
    hang = tmp_path / "test_hang.py"
    # the child waits for input that never comes and ends when the timed-out run closes the pipe
    hang.write_text("import subprocess, sys\n\ndef test_hang():\n"
                    "    child = subprocess.Popen([sys.executable, '-c', 'import sys; sys.stdin.read()'],"
                    " stdin=subprocess.PIPE)\n    child.wait()\n")
    start = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(ROOT / "pyproject.toml"),
         "--rootdir", str(tmp_path), "-o", "timeout=2", str(hang)],
        capture_output=True, text=True, timeout=100, cwd=tmp_path,
    )
    assert run.returncode != 0 and "Timeout" in run.stdout + run.stderr
    assert time.monotonic() - start < 90  # the hung subprocess wait did not hold the run
