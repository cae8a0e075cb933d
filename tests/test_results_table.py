"""``clip2point report``: result JSONs gathered into one table beside SPEC §8's numbers."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from clip2point.cli import main
from clip2point.eval.report import write_result_json
from clip2point.eval.results_table import gather, mean_std, published_beside, run_mode


def zeroshot_doc(top1: float, top5: float, *, seed: int, dataset: str = "modelnet40", variant: str | None = None,
                 **extra: object) -> dict:
    return {"accuracy": top1, "top1": top1, "top5": top5, "count": 10, "scored_by": "pretrained",
            "dataset": dataset, "variant": variant, "split": "test",
            "config": {"data": {"dataset": dataset, "seed": seed, "variant": variant},
                       "encoder": {"model": "ViT-B-32", "ckpt": "best.pt"},
                       "views": {"num_views": 6, "preset": "clip2point"}, "prompt": "image of a {}", "split": "test"},
            **extra}


def test_seeds_pool_and_each_setting_is_its_own_row(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    results = tmp_path / "results"
    for seed, (top1, top5) in enumerate([(40.0, 70.0), (44.0, 74.0)]):
        write_result_json(results / f"zs-{seed}.json", zeroshot_doc(top1, top5, seed=seed, mode="faithful"))
    write_result_json(results / "sub" / "sonn.json", zeroshot_doc(20.0, 50.0, seed=0, dataset="scanobjectnn",
                                                                   variant="pb_t50_rs", fidelity={"faithful": False}))
    fewshot = {"mean": 80.0, "std": 2.0, "seeds": [{"seed": 0, "accuracy": 79.0, "top1": 79.0, "top5": 95.0},
                                                   {"seed": 1, "accuracy": 81.0, "top1": 81.0, "top5": 97.0}],
               "config": {"data": {"dataset": "modelnet40"}, "encoder": {"model": "ViT-B-32"},
                          "views": {"num_views": 10, "preset": "clip2point"}, "prompt": "image of a {}",
                          "fewshot": {"paths": ["pretrained", "clip"], "shots": 16}}}
    write_result_json(results / "fs.json", fewshot)
    (results / "notes.json").write_text(json.dumps({"anything": 1}))  # not a result: skipped
    rows = gather(results)
    assert [(r["kind"], r["dataset"], r["seeds"]) for r in rows] == [
        ("fewshot", "modelnet40", 2), ("zeroshot", "modelnet40", 2), ("zeroshot", "scanobjectnn", 1)]
    few, mn40, sonn = rows
    assert (mn40["top1"], mn40["top5"], mn40["mode"]) == ("42.00 ± 2.83", "72.00 ± 2.83", "faithful")
    assert (few["top1"], few["shots"], few["encoder"], few["mode"]) == ("80.00 ± 1.41", 16, "pretrained+clip", "unknown")
    assert "CLIP2Point DPA 87.46" in few["published"]
    assert (sonn["variant"], sonn["mode"], sonn["top1"]) == ("pb_t50_rs", "improved", "20.00")
    assert sonn["published"] == "PointCLIP 15.38; PointCLIP V2 ViT-B/16 35.36"  # not CLIP2Point's obj_bg number
    assert "CLIP2Point ViT-B/32 49.38" in mn40["published"] and "PointCLIP 20.18" in mn40["published"]

    assert main(["report", str(results)]) == 0
    md = (results / "report.md").read_text()
    assert "| zeroshot | scanobjectnn | pb_t50_rs | test |" in md
    assert "view weights searched on the test set" in md and "## Published numbers (SPEC §8)" in md
    table = list(csv.DictReader((results / "report.csv").open()))
    ours = [r for r in table if r["origin"] == "ours"]
    assert len(ours) == 3 and ours[1]["top1"] == "42.00 ± 2.83" and ours[1]["prompts"] == "image of a {}"
    assert any(r["origin"] == "published" and r["top1"] == "49.38" and "best test accuracy" in r["protocol"]
               for r in table)
    assert "wrote" in capsys.readouterr().out


def test_mode_and_spread_rules() -> None:
    assert run_mode({"recipe": "improved"}) == "improved" and run_mode({}) == "unknown"
    assert run_mode({"fidelity": {"faithful": True}}) == "faithful"
    assert mean_std([50.0]) == "50.00" and mean_std([]) == ""
    row = {"kind": "zeroshot", "dataset": "scanobjectnn", "shots": "", "variant": "obj_only"}
    assert published_beside(row) == "PointCLIP 15.38"  # only the number whose variant is not known


def test_report_names_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["report", str(tmp_path / "none")]) == 2
    assert f"{tmp_path / 'none'}: not a folder" in capsys.readouterr().err
