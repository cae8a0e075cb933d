"""Bad inputs to ``clip2point pretrain``: each is refused early in one sentence, or repaired with a warning."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
import torch

from clip2point.cli import main as cli_main
from clip2point.errors import ConfigError, PathError, ShardError
from clip2point.train import distributed, feature_cache
from clip2point.train.config import TrainConfig
from clip2point.train.distributed import DistEnv, parse_device, pick_device
from clip2point.train.precision import Compute
from clip2point.train.trainer import train

sys.path.insert(0, str(Path(__file__).parent))
from train_support import write_random_shards  # noqa: E402


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 train objects of 96 stored points each."""
    return write_random_shards(tmp_path_factory.mktemp("inputs") / "shards")


def no_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)


@pytest.mark.parametrize("value,message", [
    ("banana", r"--device 'banana' is not a device name; use cpu, cuda or cuda:N \(this machine has: cpu\)"),
    ("cuda", r"--device 'cuda': no CUDA device is available \(this machine has: cpu\)"),
    ("cuda:1", r"--device 'cuda:1': no CUDA device is available"),
    ("meta", r"--device 'meta': clip2point runs on cpu or cuda"),
])
def test_a_device_the_machine_lacks_is_a_config_error(monkeypatch: pytest.MonkeyPatch, value: str, message: str) -> None:
    no_cuda(monkeypatch)
    with pytest.raises(ConfigError, match=message):
        parse_device(value)
    assert parse_device("cpu") == torch.device("cpu")


def test_a_cuda_index_beyond_the_visible_gpus_lists_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(ConfigError, match=r"no CUDA device 7 \(this machine has: cpu, cuda:0, cuda:1\)"):
        parse_device("cuda:7")
    assert pick_device("cuda", DistEnv(rank=1, world_size=2, local_rank=1)) == torch.device("cuda", 1)


def test_cli_device_error_is_one_sentence(monkeypatch: pytest.MonkeyPatch, shards: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    no_cuda(monkeypatch)
    code = cli_main(["pretrain", "--shards", str(shards), "--out", str(tmp_path / "run"), "--model", "c2p-tiny",
                     "--pretrained", "none", "--device", "cuda"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--device 'cuda': no CUDA device" in err
    assert distributed.available_devices() == ["cpu"]


@pytest.mark.parametrize("overrides,message", [
    (dict(batch_size=1), r"--batch-size 1 leaves 1 object per loss batch; the contrastive loss needs at least 2"),
    (dict(batch_size=4, accum_steps=4), r"--batch-size 4 with --accum-steps 4 leaves 1 object per loss batch"),
    (dict(num_workers=-1), r"--num-workers must be >= 0; got -1"),
    (dict(weight_decay=-0.5), r"--weight-decay must be >= 0; got -0.5"),
    (dict(weight_decay=float("nan")), r"--weight-decay must be >= 0; got nan"),
    (dict(eta_min=-1.0), r"--eta-min must be >= 0; got -1.0"),
])
def test_config_refusals_name_the_flag_and_value(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_flat(shards="s", out="o", **overrides)
    TrainConfig.from_flat(shards="s", out="o", batch_size=4, accum_steps=2)  # 2 per micro-batch: enough negatives


def tiny(shards: Path, out: Path, **overrides: object) -> TrainConfig:
    base = dict(shards=str(shards), out=str(out), model="c2p-tiny", pretrained=None, batch_size=8, epochs=1,
                num_workers=0, progress=False, num_points=64)
    return TrainConfig.from_flat(**{**base, **overrides})


def test_more_points_than_the_shards_store_is_refused_before_training(shards: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=rf"--num-points 97 is more than the 96 points per object stored in "
                                          rf"{shards}; pass --num-points 96 or fewer"):
        train(tiny(shards, tmp_path / "run", num_points=97))
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_missing_modelnet40_names_the_pretrain_flag_before_training(shards: Path, tmp_path: Path) -> None:
    with pytest.raises(PathError, match=r"nowhere: ModelNet40 data not found \(--modelnet40 takes") as info:
        train(tiny(shards, tmp_path / "run", modelnet40=str(tmp_path / "nowhere")))
    assert "--data" not in str(info.value) and not (tmp_path / "run").exists()


def test_shards_given_a_file_says_it_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "run.sh"
    path.write_text("#!/bin/sh\n")
    with pytest.raises(ShardError, match=r"run\.sh: is a file, not a shard folder"):
        train(tiny(path, tmp_path / "run"))


def test_a_corrupt_feature_cache_is_named_and_rebuilt(shards: Path, tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    from clip2point.train.models import create_clip, weights_hash

    encoder = create_clip("c2p-tiny", None).model.visual
    spec = feature_cache.CacheSpec(tmp_path, weights_hash(encoder), 224)
    compute = Compute(torch.device("cpu"), "fp32", 8)
    good = feature_cache.ensure_cache(shards, "train", encoder, spec, compute, num_workers=0)
    (path,) = tmp_path.glob("image-features-*.pt")
    path.write_bytes(b"\x00" * 1000)  # the keyed name stays, the content is gone
    with caplog.at_level(logging.WARNING, logger="clip2point.train.feature_cache"):
        rebuilt = feature_cache.ensure_cache(shards, "train", encoder, spec, compute, num_workers=0)
    assert f"{path}: unreadable image-feature cache: not a torch file; rebuilding it" in caplog.text
    torch.testing.assert_close(rebuilt.features, good.features)
    assert feature_cache.load_cache(shards, "train", spec).rows == good.rows  # the file on disk is whole again


def test_nan_points_in_the_shards_name_the_object(tmp_path: Path) -> None:
    """The projector only sees a tensor; the trainer names the stored object that holds NaN."""
    import dataclasses

    from clip2point.datasets.shards import build_index, write_shard
    from shard_fixtures import synthetic_object

    objects = [synthetic_object(f"train-{i:03d}", synset="00000000", label=0, split="train", views=2, size=32,
                                num_points=96, seed=i) for i in range(4)]
    broken = objects[2].points.copy()
    broken[:] = float("nan")  # every point: whichever 64 the step draws
    objects[2] = dataclasses.replace(objects[2], points=broken)
    write_shard(tmp_path / "shards", 0, objects, [], attrs={"config": {"kind": "nan"}, "class_names": ["thing"]})
    build_index(tmp_path / "shards")
    cfg = TrainConfig.from_flat(shards=str(tmp_path / "shards"), out=str(tmp_path / "run"), model="c2p-tiny", pretrained=None,
                                batch_size=4, epochs=1, num_workers=0, num_points=64, progress=False)
    with pytest.raises(ShardError, match=r"shards: object\(s\) train-002: points contain NaN"):
        train(cfg)
