"""``pretrain --out`` takes a run folder: a shard folder or another job's config.json is refused
before anything is written (it used to overwrite the shards' config.json)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from clip2point.cli import main
from clip2point.errors import ConfigError
from clip2point.train.config import TrainConfig
from clip2point.train.inputs import check_run_folder

sys.path.insert(0, str(Path(__file__).parent))
from train_support import write_random_shards  # noqa: E402


def test_a_shard_folder_as_run_folder_is_refused_and_left_alone(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture) -> None:
    shards = write_random_shards(tmp_path / "shards")
    before = {p.name: p.read_bytes() for p in shards.iterdir() if p.is_file()}
    code = main(["pretrain", "--shards", str(shards), "--out", str(shards), "--model", "c2p-tiny",
                 "--pretrained", "none", "--batch-size", "4", "--max-steps", "1", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"--out {shards} is a shard folder" in err and "--out runs/NAME" in err
    assert {p.name: p.read_bytes() for p in shards.iterdir() if p.is_file()} == before


def test_another_jobs_config_json_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"config": {"views": 10}}))
    with pytest.raises(ConfigError, match=r"holds a config.json that is not a pre-training run's"):
        check_run_folder(tmp_path)


def test_a_run_folder_of_pretrain_is_accepted_for_resuming(tmp_path: Path) -> None:
    cfg = TrainConfig.from_flat(shards="s", out=str(tmp_path), model="c2p-tiny")
    (tmp_path / "config.json").write_text(json.dumps({"config": cfg.to_dict()}))
    check_run_folder(tmp_path)
    check_run_folder(tmp_path / "new")
