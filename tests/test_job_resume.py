"""Crash safety and resume: SIGKILL or Ctrl-C at the worst moment (a shard half-written), then
the same command again, must give exactly the output of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from job_helpers import SMALL, assert_same_shards, object_hashes, small_config, synthetic_cache

from clip2point.render.job.run import run_render_job, synthetic_source

__all__ = ["synthetic_cache"]

# Runs the real CLI, but the second shard stalls after its HDF5 temporary file is complete and
# before it is renamed into place: the moment a crash can do the most damage. The stall
# announces itself through a file, so the test acts on an event, not on a timer; the file appears
# whole (renamed into place), since a test that saw it created but not yet written read an empty
# path, and ``Path("").exists()`` (the working folder) failed the "partial file removed" check.
STALLING_CLI = """
import os, sys, time
from pathlib import Path
import clip2point.datasets.shards.writer as shards
real, calls = shards.write_file, []
def stalling(path, data, **options):
    real(path, data, **options)
    calls.append(path)
    if len(calls) == 2:
        ready = Path(os.environ["STALL_READY"])
        ready.with_suffix(".tmp").write_text(str(path))
        os.replace(ready.with_suffix(".tmp"), ready)  # whole, or the test could read an empty name
        time.sleep(300)
shards.write_file = stalling
from clip2point.cli import main
sys.exit(main(sys.argv[1:]))
"""

LIMIT = 7  # 3 shards of 3, 3, 1 objects


def _cli_args(out: Path) -> list[str]:
    return ["render", "--out", str(out), "--size", str(SMALL["size"]), "--views", str(SMALL["num_views"]),
            "--synthetic-per-class", str(SMALL["synthetic_per_class"]), "--points", str(SMALL["num_points"]),
            "--depth-points", str(SMALL["depth_points"]), "--objects-per-shard", str(SMALL["objects_per_shard"]),
            "--limit", str(LIMIT), "--workers", "1", "--no-progress"]


def _start_stalling(tmp_path: Path, out: Path) -> tuple[subprocess.Popen, Path]:
    script, ready = tmp_path / "stalling_cli.py", tmp_path / "ready"
    script.write_text(STALLING_CLI)
    env = {**os.environ, "STALL_READY": str(ready)}
    proc = subprocess.Popen([sys.executable, str(script), *_cli_args(out)], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not ready.exists():
        if proc.poll() is not None:
            pytest.fail(f"the job ended before stalling:\n{proc.stderr.read()}")
        time.sleep(0.05)
    return proc, Path(ready.read_text())


def _visible_shards(out: Path) -> tuple[list[str], list[str]]:
    return sorted(p.name for p in out.glob("shard-*.h5")), sorted(p.name for p in out.glob("shard-*.json"))


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    out = tmp_path / "reference"
    run_render_job(small_config(out, limit=LIMIT), progress=False)
    return out


@pytest.mark.slow  # ~85 s: kill a render job, resume, compare
def test_sigkill_mid_shard_then_rerun_completes_identically(tmp_path: Path, reference: Path) -> None:
    synthetic_source(small_config(tmp_path))  # the subprocess finds the cached set
    out = tmp_path / "killed"
    proc, partial = _start_stalling(tmp_path, out)
    assert partial.name.startswith(".shard-00001.h5.tmp-") and partial.exists()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _visible_shards(out) == (["shard-00000.h5"], ["shard-00000.json"])

    done = subprocess.run([sys.executable, "-m", "clip2point", *_cli_args(out)], capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    assert '"shards_already_done": 1' in done.stdout and '"shards_run": 2' in done.stdout
    assert object_hashes(out) == object_hashes(reference) and len(object_hashes(out)) == LIMIT
    assert_same_shards(out, reference)


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path: Path, reference: Path) -> None:
    synthetic_source(small_config(tmp_path))
    out = tmp_path / "interrupted"
    proc, partial = _start_stalling(tmp_path, out)
    os.kill(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)

    assert proc.returncode == 130
    assert "rerun the same command to resume" in stderr
    assert not partial.exists()  # the half-written shard was removed, not left behind
    assert _visible_shards(out) == (["shard-00000.h5"], ["shard-00000.json"])
    report = run_render_job(small_config(out, limit=LIMIT), progress=False)
    assert (report.shards_already_done, report.shards_run) == (1, 2)
    assert object_hashes(out) == object_hashes(reference)


def test_rerun_renders_only_shards_without_a_marker(tmp_path: Path, reference: Path) -> None:
    again = run_render_job(small_config(reference, limit=LIMIT), progress=False)
    assert (again.shards_run, again.shards_already_done) == (0, 3)
    hashes, untouched = object_hashes(reference), (reference / "shard-00000.h5").stat().st_mtime_ns
    (reference / "shard-00001.json").unlink()
    (reference / "shard-00001.h5").unlink()
    resumed = run_render_job(small_config(reference, limit=LIMIT), progress=False)
    assert (resumed.shards_run, resumed.rendered) == (1, 3)
    assert object_hashes(reference) == hashes
    assert (reference / "shard-00000.h5").stat().st_mtime_ns == untouched
