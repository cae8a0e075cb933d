"""Texture status as data (issue 14): written per object, read back from new and older shards,
counted by inspect, and used by pre-training to leave out objects whose texture was lost."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import h5py
import pytest

from clip2point.datasets.shards.file_format import open_shard, read_object, read_strings
from clip2point.datasets.shards import build_index, write_shard
from clip2point.inspection.summary import format_summary, open_target, summarize
from shard_fixtures import synthetic_object
from clip2point.datasets.torch_dataset import ShardDataset
from clip2point.errors import ConfigError
from clip2point.train.cli import add_arguments, config_from_args
from clip2point.train.config import TrainConfig, resume_differences

STATUSES = {"a": "textured", "b": "missing", "c": "untextured_by_source", "d": "over_budget"}


def _folder(root: Path) -> Path:
    objects = [dataclasses.replace(synthetic_object(oid, seed=i), texture_status=status,
                                   texture_detail="" if status.startswith(("t", "u")) else f"{status}: {oid}.png")
               for i, (oid, status) in enumerate(STATUSES.items())]
    write_shard(root, 0, objects, [], attrs={"config": {"v": 1}})
    build_index(root)
    return root


def test_status_is_written_per_object_and_read_back(tmp_path: Path) -> None:
    root = _folder(tmp_path / "shards")
    with open_shard(root / "shard-00000.h5") as h5:
        assert dict(zip(read_strings(h5, "object_id"), read_strings(h5, "texture_status"))) == STATUSES
        row = read_object(h5, 1, root / "shard-00000.h5")
        assert (row["texture_status"], row["texture_detail"]) == ("missing", "missing: b.png")
    summary = summarize(open_target(root), per_object=True)
    assert summary["texture_status"] == {"textured": 1, "untextured_by_source": 1, "missing": 1,
                                         "refused_outside": 0, "undecodable": 0, "over_budget": 1}
    text = format_summary(summary)
    assert "textures: textured 1, untextured_by_source 1, missing 1" in text
    assert "b  ok  " in text and "texture missing (missing: b.png)" in text
    single = summarize(open_target(root / "shard-00000.h5"))  # a shard file found on its own
    assert single["texture_status"] == summary["texture_status"]


def test_unknown_status_is_refused_at_write() -> None:
    with pytest.raises(ValueError, match="texture_status must be one of textured, untextured_by_source"):
        dataclasses.replace(synthetic_object("a"), texture_status="lost")


def test_older_shards_without_the_fields_read_as_unrecorded(tmp_path: Path) -> None:
    root = _folder(tmp_path / "shards")
    with h5py.File(root / "shard-00000.h5", "a") as h5:  # what a shard of the first schema holds
        for name in ("texture_status", "texture_detail", "metadata"):
            del h5[name]
    marker = json.loads((root / "shard-00000.json").read_text())
    for record in marker["objects"]:
        del record["texture_status"], record["texture_detail"]
    (root / "shard-00000.json").write_text(json.dumps(marker))
    (root / "index.json").unlink()
    with open_shard(root / "shard-00000.h5") as h5:
        assert read_strings(h5, "texture_status") == ["unrecorded"] * 4
        assert read_object(h5, 0, root / "shard-00000.h5")["texture_status"] == "unrecorded"
    assert summarize(open_target(root))["texture_status"]["unrecorded"] == 4
    assert len(ShardDataset(root)) == 4
    with pytest.raises(ConfigError, match="no object has texture status textured.*'unrecorded': render it again"):
        ShardDataset(root, texture_status=("textured",))


def test_dataset_filter_keeps_only_the_statuses_asked_for(tmp_path: Path) -> None:
    root = _folder(tmp_path / "shards")
    kept = ShardDataset(root, texture_status=("textured", "untextured_by_source"))
    assert sorted(map(str, kept.object_ids)) == ["a", "c"]
    with pytest.raises(ConfigError, match=r"texture_status \['lost'\] not known"):
        ShardDataset(root, texture_status=("lost",))


def test_pretrain_require_textures_flag_and_old_checkpoints(tmp_path: Path) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    cfg = config_from_args(parser.parse_args(["--shards", "s", "--out", "o", "--require-textures"]))
    assert cfg.data.require_textures
    stored = TrainConfig.from_flat(shards="s", out="o").to_dict()
    del stored["require_textures"]  # a checkpoint written before the setting existed trained without it
    assert resume_differences(stored, TrainConfig.from_flat(shards="s", out="o")) == []
    assert resume_differences(stored, cfg) == ["require_textures: checkpoint False, now True"]


def test_pretrain_require_textures_reaches_the_training_set(tmp_path: Path) -> None:
    """The trainer builds its training set with the filter: shards that do not record texture
    status leave nothing to train on, and the run says why instead of training on them."""
    from train_support import tiny_weights_file, write_random_shards

    from clip2point.train.trainer import train

    shards = write_random_shards(tmp_path / "shards")
    cfg = TrainConfig.from_flat(shards=str(shards), out=str(tmp_path / "run"), model="c2p-tiny", batch_size=8, epochs=1,
                                pretrained=str(tiny_weights_file(tmp_path / "tiny.pt")), num_workers=0, progress=False,
                                num_points=64, require_textures=True)
    with pytest.raises(ConfigError, match="no object has texture status textured, untextured_by_source"):
        train(cfg)
