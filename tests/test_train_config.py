"""The nested, frozen pre-training config: its groups, the flags that fill them, and the flat
record (config.json, checkpoints) that runs written before the groups existed still resume from."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest
import torch

from clip2point.cli import build_parser
from clip2point.errors import CheckpointError, ConfigError
from clip2point.train.checkpoint import link_atomic, read_checkpoint, write_checkpoint
from clip2point.train.config import GROUPS, TrainConfig, flat_defaults
from clip2point.train.settings import OptimSettings
from clip2point.train.trainer import train

sys.path.insert(0, str(Path(__file__).parent))
from train_support import tiny_weights_file, write_random_shards  # noqa: E402

# The "config" and "fidelity" blocks of a run folder's config.json exactly as the code before the
# groups (flat TrainConfig, commit 87d1228) wrote them for a 1-step run; paths are filled in per test.
FLAT_BEFORE_GROUPS = {
    "accum_steps": 1, "batch_size": 4, "cache_image_features": False, "checkpoint_every": 1,
    "depth_preset": "clip2point", "deterministic": True, "device": None, "dist_jitter": 0.1, "epochs": 2,
    "eta_min": 1e-05, "feature_cache_dir": None, "keep_last": 1, "log_every": 1, "lr": 0.006, "max_steps": 1,
    "model": "c2p-tiny", "modelnet40": None, "negatives": "per-device", "num_points": 64, "num_workers": 0,
    "optimizer": "lamb", "out": "RUN", "precision": "fp32", "pretrained": "WEIGHTS", "progress": False,
    "recipe": "faithful", "require_textures": False, "restart_epochs": 2.0, "resume": None, "seed": 0,
    "select_metric": "auto", "shards": "SHARDS", "temperature": 0.07, "val_points": 1024,
    "val_prompts": "reference", "val_shards": None, "val_split": "test", "val_views": 10, "weight_decay": 0.0001,
}
FIDELITY_BEFORE_GROUPS = {
    "choices": {"eta_min": 1e-05, "negatives": "per-device", "optimizer": "lamb", "precision": "fp32",
                "val_prompts": "reference", "val_views": 10},
    "departures": [], "faithful": True, "recipe": "faithful",
}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("config-data")
    shards = write_random_shards(root / "shards", train=8, test=2, views=2, per_shard=8, num_points=64)
    return shards, tiny_weights_file(root / "tiny.pt")


def flat_record(shards: Path, weights: Path, out: Path) -> dict[str, object]:
    return {**FLAT_BEFORE_GROUPS, "shards": str(shards), "pretrained": str(weights), "out": str(out)}


def test_a_flat_record_of_before_the_groups_reads_back_to_the_same_record() -> None:
    cfg = TrainConfig.from_dict(FLAT_BEFORE_GROUPS)
    assert cfg.to_dict() == FLAT_BEFORE_GROUPS and cfg.fidelity() == FIDELITY_BEFORE_GROUPS
    assert (cfg.data.num_points, cfg.optim.optimizer, cfg.runtime.precision, cfg.checkpoint.out) == (
        64, "lamb", "fp32", "RUN")
    with pytest.raises(ConfigError, match=r"unknown training settings \['warmup'\]"):
        TrainConfig.from_dict({**FLAT_BEFORE_GROUPS, "warmup": 5})


def test_groups_are_frozen_and_each_setting_has_one_name_from_flag_to_record() -> None:
    """Field names are unique over the groups (the flat record is their union) and each one is its
    flag's destination, so ``pretrain --val-views 6`` lands in ``validation.val_views``."""
    names = [f.name for cls in GROUPS.values() for f in dataclasses.fields(cls)]
    assert len(names) == len(set(names))
    argv = ["pretrain", "--shards", "s", "--out", "o"]
    parser, _ = build_parser(argv)
    dests = set(vars(parser.parse_args(argv)))
    assert set(names) - dests == {"depth_preset"}  # no pretrain flag: set from Python (tests, the benchmark)
    assert "recipe" in dests
    assert set(flat_defaults()) | {"shards", "out"} == set(names) | {"recipe"}
    cfg = TrainConfig.from_flat(shards="s", out="o")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.optim.lr = 1.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.optim = OptimSettings()  # type: ignore[misc]


def test_a_group_refuses_bad_values_with_the_flag_when_built_on_its_own() -> None:
    with pytest.raises(ConfigError, match=r"^--eta-min \(0\.1\) must be below --lr \(0\.01\)$"):
        OptimSettings(lr=0.01, eta_min=0.1)
    with pytest.raises(ConfigError, match=r"^--shards is required$"):
        TrainConfig.from_flat(out="o")


def test_the_recipe_fills_only_what_no_flag_set() -> None:
    cfg = TrainConfig.from_flat(shards="s", out="o", recipe="improved", precision="fp32")
    assert (cfg.optim.optimizer, cfg.optim.negatives, cfg.runtime.precision) == ("lamb-timm", "gathered", "fp32")
    assert cfg.override(lr=1e-3).optim == dataclasses.replace(cfg.optim, lr=1e-3)


def _run(data: tuple[Path, Path], out: Path, **overrides: object) -> TrainConfig:
    shards, weights = data
    return TrainConfig.from_dict({**flat_record(shards, weights, out), **overrides})


def test_a_checkpoint_with_the_flat_record_of_before_the_groups_resumes_bit_for_bit(
        data: tuple[Path, Path], tmp_path: Path) -> None:
    """A run stopped after step 1 whose checkpoint and config.json hold the record the code before
    the groups wrote resumes to the weights of an uninterrupted run; a changed setting is refused."""
    shards, weights = data
    first = tmp_path / "a"
    train(_run(data, first))
    ckpt_dir = first / "checkpoints"
    step_file = ckpt_dir / "step-00000001.pt"
    old = flat_record(shards, weights, first)
    write_checkpoint(step_file, dataclasses.replace(read_checkpoint(step_file), config=old))
    link_atomic(step_file, ckpt_dir / "last.pt")
    (ckpt_dir / "best.pt").unlink(missing_ok=True)
    (first / "config.json").write_text(json.dumps({"config": old, "fidelity": FIDELITY_BEFORE_GROUPS}))
    with pytest.raises(CheckpointError, match=r"comes from another configuration \(lr: checkpoint 0\.006, now 0\.001\)"):
        train(_run(data, first, max_steps=3, resume="auto", lr=1e-3))
    resumed = train(_run(data, first, max_steps=3, resume="auto"))
    straight = train(_run(data, tmp_path / "b", max_steps=3))
    assert resumed.step == straight.step == 3
    a, b = read_checkpoint(resumed.last_checkpoint), read_checkpoint(straight.last_checkpoint)
    assert a.model.keys() == b.model.keys()
    for name, tensor in b.model.items():
        assert torch.equal(a.model[name], tensor), name
    assert json.loads((first / "config.json").read_text())["config"] == {**old, "max_steps": 3, "resume": "auto"}
