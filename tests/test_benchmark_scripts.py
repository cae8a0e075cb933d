"""Benchmark scripts run as the README says (``python benchmarks/NAME.py``) and end with one JSON line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_fewshot_benchmark_runs_and_prints_json() -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "benchmarks/fewshot.py", "--epochs", "1", "--threads", "1", "--device",
                           "cpu"], cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-2000:]  # was: TypeError: object of type 'int' has no len()
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["benchmark"] == "fewshot" and result["classes"] == 40


def test_zeroshot_benchmark_times_views_and_the_text_bank() -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, "benchmarks/zeroshot.py", "--objects", "5", "--repeats", "1",
                           "--batch-sizes", "8", "--classes", "20"], cwd=REPO, capture_output=True, text=True,
                          timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    tiny = result["c2p-tiny_cpu"]
    assert set(tiny) == {"views6", "views10", "text_bank"} and tiny["views10"]["batch8"]["objects"] == 5
    assert set(tiny["text_bank"]) == {"reference", "openshape-lvis"}
    assert tiny["text_bank"]["reference"]["classes"] == 20
