"""``clip2point demo`` chains every stage on the CPU and resumes by skipping finished stages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clip2point.cli import main


@pytest.mark.slow
def test_demo_runs_every_stage_then_resumes(tmp_path: Path, capsys: pytest.CaptureFixture,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LP_NUM_THREADS", "1")
    out = tmp_path / "demo"
    argv = ["demo", "--out", str(out), "--classes", "airplane,chair", "--per-class", "6", "--steps", "2"]
    assert main(argv) == 0
    for name in ("synthetic/test.txt", "shards/index.json", "sheet.png", "pretrain/checkpoints/best.pt",
                 "zeroshot.json", "zeroshot.png", "fewshot.json", "fewshot.png"):
        assert (out / name).is_file(), name
    zs, fs = json.loads((out / "zeroshot.json").read_text()), json.loads((out / "fewshot.json").read_text())
    assert zs["count"] == 2 and zs["scored_by"] == "pretrained"  # one test object per class
    assert fs["config"]["fewshot"]["paths"] == ["pretrained", "clip"] and len(fs["per_seed"]) == 3
    assert fs["class_names"] == ["airplane", "chair"]  # the 53 classes without training objects are dropped
    printed = capsys.readouterr().out
    assert "demo done" in printed
    for picture in ("sheet.png", "pretrain/curves.png", "zeroshot.png", "fewshot.png"):  # the closing table
        assert str(out / picture) in printed and (out / picture).is_file(), picture
    assert "render    12 objects, 0 failed" in printed

    stamp = (out / "fewshot.json").stat().st_mtime_ns
    assert main(argv) == 0  # every stage done: nothing reruns
    assert (out / "fewshot.json").stat().st_mtime_ns == stamp


def test_demo_refuses_too_few_objects(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["demo", "--out", str(tmp_path), "--per-class", "2"]) == 2
    assert "--per-class must be at least 3" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "value"), [("--steps", "0"), ("--workers", "0")])
def test_demo_checks_its_numbers_before_any_stage(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                  flag: str, value: str) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), flag, value]) == 2
    assert f"{flag} must be at least 1; got {value}" in capsys.readouterr().err
    assert not out.exists()  # synth and render never ran
