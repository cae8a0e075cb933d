"""``benchmarks/gpu_acceptance.sh`` on a machine without CUDA: the dry run it must survive.

The script's real run needs a lent GPU, which CI never has; what CI can hold it to is the contract
of its dry run: each CUDA step skipped with one line, every step recorded in one JSON (a failing
step too, with the script going on), no goal judged without CUDA, exit status 0 unless a step failed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
STEPS = {"install", "egl", "gpu_tests", "train_step", "depth", "torchrun", "rgb", "generation"}

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(torch.cuda.is_available(), reason="checks the run on a machine without CUDA")]


def run_script(out: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_acceptance.sh")],
                          env={**os.environ, "PYTHON": sys.executable, "OUT": str(out), **env},
                          capture_output=True, text=True, timeout=300)


def test_without_cuda_each_cuda_step_is_skipped_with_one_line_and_recorded(tmp_path: Path) -> None:
    done = run_script(tmp_path / "out")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    lines = done.stdout.splitlines()
    for name in ("egl", "gpu_tests", "torchrun", "train_step", "depth", "rgb", "generation"):
        assert sum(line.startswith(f"SKIP {name}: no CUDA device") for line in lines) == 1, name
    report = json.loads((tmp_path / "out" / "gpu_acceptance.json").read_text())
    assert set(report["steps"]) == STEPS and report["cuda"] is False and report["failed_steps"] == []
    assert report["steps"]["install"]["status"] == "pass"
    assert {s["status"] for name, s in report["steps"].items() if name != "install"} == {"skip"}
    assert report["goals"] and all(goal["pass"] is None for goal in report["goals"].values())
    assert "=== install" in (tmp_path / "out" / "gpu_acceptance.log").read_text()


def test_a_failing_step_is_recorded_with_its_output_and_the_script_goes_on(tmp_path: Path) -> None:
    done = run_script(tmp_path / "out", GPU_ACCEPTANCE_INSTALL="1", GPU_ACCEPTANCE_WHEELS=str(tmp_path / "none"))
    assert done.returncode == 1
    report = json.loads((tmp_path / "out" / "gpu_acceptance.json").read_text())
    install = report["steps"]["install"]
    assert install["status"] == "fail" and install["rc"] == 1 and report["failed_steps"] == ["install"]
    assert any("gpu_acceptance.sh --prepare" in line for line in install["tail"])
    assert set(report["steps"]) == STEPS  # the later steps still ran (here: skipped without CUDA)
