"""Pre-training validation on ModelNet40 (SPEC §5 model selection): the ``--modelnet40`` path
loads a ModelNet folder, rotates it into ShapeNet's frame, scores it each epoch and can pick
the best checkpoint by it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from clip2point.train.checkpoint import read_checkpoint
from clip2point.train.config import TrainConfig
from clip2point.train.trainer import train

sys.path.insert(0, str(Path(__file__).parent))
from pointset_fixtures import make_off_folder  # noqa: E402
from train_support import tiny_weights_file, write_random_shards  # noqa: E402


def test_modelnet40_validation_scores_each_epoch_and_selects_best(tmp_path: Path) -> None:
    shards = write_random_shards(tmp_path / "shards")
    modelnet = make_off_folder(tmp_path / "ModelNet40", ("chair", "table", "airplane"), per_split=2)
    cfg = TrainConfig.from_flat(
        shards=str(shards), out=str(tmp_path / "run"), model="c2p-tiny",
        pretrained=str(tiny_weights_file(tmp_path / "tiny.pt")), batch_size=8, epochs=2, num_workers=0,
        checkpoint_every=1, log_every=1, progress=False, num_points=64, modelnet40=str(modelnet),
        val_points=256, select_metric="modelnet40_top1",
    )
    result = train(cfg)

    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    val = [r for r in records if r["kind"] == "val"]
    assert [r["step"] for r in val] == [2, 4]  # once per epoch
    # 6 test clouds of 3 classes (scored among all 40): accuracy is a multiple of 1/6 in [0, 1]
    for r in val:
        assert 0.0 <= r["modelnet40_top1"] <= 1.0
        assert abs(r["modelnet40_top1"] * 6 - round(r["modelnet40_top1"] * 6)) < 1e-6
    best = read_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")
    best_value = max(r["modelnet40_top1"] for r in val)
    first_best_step = next(r["step"] for r in val if r["modelnet40_top1"] == best_value)
    assert best.best == {"metric": "modelnet40_top1", "value": best_value, "step": first_best_step}
    assert result.step == 4


def test_select_metric_modelnet40_needs_the_folder(tmp_path: Path) -> None:
    from clip2point.errors import ConfigError

    with pytest.raises(ConfigError, match="--select-metric modelnet40_top1 needs --modelnet40 PATH"):
        TrainConfig.from_flat(shards=str(tmp_path), out=str(tmp_path / "run"), select_metric="modelnet40_top1")
