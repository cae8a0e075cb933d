"""``clip2point demo``: the paper's claim in miniature, through the real commands, with the stand-in.

The demo fits the CPU stand-in for CLIP (``c2p-standin-64``) on the RGB renders of 10 synthetic
classes x 15 objects (120 train, 30 held-out test objects), pre-trains the depth tower from it,
and scores held-out objects: zero-shot with the plain stand-in tower (PointCLIP-style row) and
with the pre-trained depth tower (CLIP2Point row) on the shards' test split (55 prompts) and on
the same test objects written as ModelNet-layout .off meshes (ModelNet40's 40 prompts, open3d sampling, the
z-up rotation); few-shot (4-shot, 3 draws) with the Dual-Path Adapter and each single path.

Measured with the demo's defaults (the faithful pre-training recipe: torch_optimizer LAMB,
normalised training clouds, 10 validation views) and OMP_NUM_THREADS=1 over 5 seeds
(``--seeds 0,1,2,3,4``), top-1 % per seed 0..4 (30 held-out objects: one object is 3.3 points):

- zero-shot, shards (55 prompts, chance 1.8): plain 53.3 46.7 43.3 40.0 40.0 (44.7 ± 5.6),
  CLIP2Point 80.0 93.3 90.0 90.0 90.0 (88.7 ± 5.1); gain +26.7 +46.7 +46.7 +50.0 +50.0.
- zero-shot, ModelNet layout (ModelNet40's 40 prompts: the full class list, chance 2.5): plain
  43.3 46.7 43.3 43.3 40.0 (43.3 ± 2.4), CLIP2Point 80.0 93.3 93.3 93.3 90.0 (90.0 ± 5.8); gain
  +36.7 +46.7 +50.0 +50.0 +50.0.
- few-shot 4-shot (chance 10; each seed the mean of 3 draws): DPA 93.3 93.3 94.4 94.4 97.8
  (94.7 ± 1.8), plain path 77.8 77.8 78.9 81.1 75.6 (78.2 ± 2.0), pre-trained path 93.3 96.7
  93.3 95.6 92.2 (94.2 ± 1.8); DPA − plain +15.6 +15.6 +15.6 +13.3 +22.2, DPA − pre-trained
  0.0 −3.3 +1.1 −1.1 +5.6.

So pre-training lifts zero-shot in every seed and the adapter beats the plain path in every seed;
the adapter does NOT reliably beat the pre-trained path here (that path is already near the
ceiling of 30 test objects), so the test only bounds it from below. The test runs the demo's
default seeds 0 and 1 (fixed before measuring) and asserts on their means, with about half the
measured gaps as margins: zero-shot gain ≥ 18 (shards; measured +36.7) and ≥ 20 (ModelNet layout;
+41.7); DPA − plain path ≥ 7 (+15.6); DPA − pre-trained path ≥ −5 (measured −1.7: a floor, not
a claim). (Before the faithful recipe, with timm's LAMB, the gains were +18.3 / +11.7 and DPA −
pre-trained +4.4: the reference's optimiser and normalised clouds help this miniature.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clip2point.cli import main

SEEDS = (0, 1)
# Margins on the means over SEEDS, about half the measured gaps (see above).
ZS_MARGIN = {"shards": 18.0, "modelnet": 20.0}
CLIP2POINT_FLOOR = 60.0
FS_CLIP_MARGIN, FS_DEPTH_MARGIN = 7.0, -5.0  # the second is a floor: DPA ~ the pre-trained path here


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "run"
    capture = pytest.MonkeyPatch()
    capture.setenv("LP_NUM_THREADS", "1")
    try:
        assert main(["demo", "--out", str(out)]) == 0  # the defaults: the test is the demo a user runs
    finally:
        capture.undo()
    return out, (out / "summary.json").read_text()


@pytest.mark.slow
def test_claim_in_miniature(demo: tuple[Path, str]) -> None:
    out, text = demo
    summary = json.loads(text)
    assert summary["seeds"] == list(SEEDS) and "STAND-IN" in summary["kind"] and summary["model"] == "c2p-standin-64"
    for data, prompts in (("shards", 55), ("modelnet", 40)):
        zs = summary["zeroshot"][data]
        assert zs["objects"] == 30 and zs["prompts"] == prompts
        plain, pretrained = zs["plain"]["per_seed"], zs["clip2point"]["per_seed"]
        numbers = f"{data}: plain {plain}, CLIP2Point {pretrained}"
        assert zs["clip2point"]["mean"] - zs["plain"]["mean"] >= ZS_MARGIN[data], numbers
        assert min(plain) >= 2 * zs["chance"] and zs["clip2point"]["mean"] >= CLIP2POINT_FLOOR, numbers
    fs = summary["fewshot"]
    dual, clip, depth = (fs[p]["mean"] for p in ("dual", "clip", "pretrained"))
    numbers = f"few-shot per seed: " + ", ".join(f"{p} {fs[p]['per_seed']}" for p in ("dual", "clip", "pretrained"))
    assert dual - clip >= FS_CLIP_MARGIN and dual - depth >= FS_DEPTH_MARGIN, numbers
    assert min(fs["clip"]["per_seed"]) >= 5 * fs["chance"], numbers


@pytest.mark.slow
def test_demo_table_files_and_resume(demo: tuple[Path, str], capsys: pytest.CaptureFixture) -> None:
    out, _ = demo
    for name in ("synthetic/test.txt", "modelnet/manifest.json", "shards/index.json", "sheet.png",
                 "seed-0/standin.pt", "seed-0/standin.json", "seed-1/pretrain/checkpoints/last.pt",
                 "seed-0/zeroshot-modelnet-clip2point.json", "seed-1/fewshot-dual.json"):
        assert (out / name).is_file(), name
    zs = json.loads((out / "seed-0" / "zeroshot-shards-plain.json").read_text())
    assert zs["config"]["encoder"]["model"] == "c2p-standin-64" and zs["scored_by"] == "clip"
    fs = json.loads((out / "seed-0" / "fewshot-dual.json").read_text())
    assert fs["config"]["fewshot"]["paths"] == ["pretrained", "clip"] and len(fs["class_names"]) == 10

    stamp = (out / "summary.json").stat().st_mtime_ns
    fewshot_stamp = (out / "seed-1" / "fewshot-dual.json").stat().st_mtime_ns
    assert main(["demo", "--out", str(out)]) == 0  # the default seeds: nothing reruns
    assert (out / "seed-1" / "fewshot-dual.json").stat().st_mtime_ns == fewshot_stamp
    assert (out / "summary.json").stat().st_mtime_ns != stamp
    printed = capsys.readouterr().out
    for row in ("STAND-IN for CLIP", "chance", "PointCLIP-style: plain stand-in visual tower",
                "CLIP2Point: depth tower pre-trained from it", "Dual-Path Adapter (both paths)",
                "plain stand-in path only", "pre-trained depth path only", "mean ± std over seeds 0,1"):
        assert row in printed, row
    assert str(out / "sheet.png") in printed


def test_demo_refuses_too_few_objects(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["demo", "--out", str(tmp_path), "--per-class", "4"]) == 2
    assert "--per-class 4 leaves 3 training objects per class; --shots 4 needs 5" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "value"), [("--steps", "0"), ("--standin-steps", "0"), ("--workers", "0"),
                                             ("--shots", "0")])
def test_demo_checks_its_numbers_before_any_stage(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                  flag: str, value: str) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), flag, value]) == 2
    assert f"{flag} must be at least 1; got {value}" in capsys.readouterr().err
    assert not out.exists()  # synth and render never ran


def test_demo_refuses_bad_seeds(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--out", str(tmp_path / "demo"), "--seeds", "1,1"])
    assert "--seeds needs one or more distinct integers" in capsys.readouterr().err
