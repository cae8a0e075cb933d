"""The pre-training loop on CPU with the tiny model: outputs, resume (incl. SIGKILL), failures, cache."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from clip2point.cli import main as cli_main
from clip2point.errors import CheckpointError, ConfigError, ShardError
from clip2point.train import feature_cache, step, trainer
from clip2point.train.checkpoint import read_checkpoint
from clip2point.train.config import TrainConfig
from clip2point.train.models import create_clip, load_depth_encoder, weights_hash
from clip2point.train.precision import Compute, resolve_precision
from clip2point.train.trainer import train

sys.path.insert(0, str(Path(__file__).parent))
from train_support import assert_killed_run_resumes_exactly, tiny_weights_file, write_random_shards  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("train-data")
    return write_random_shards(root / "shards"), tiny_weights_file(root / "tiny.pt")


def tiny_config(data: tuple[Path, Path], out: Path, **overrides: object) -> TrainConfig:
    shards, weights = data
    base = dict(shards=str(shards), out=str(out), model="c2p-tiny", pretrained=str(weights), batch_size=8,
                epochs=2, num_workers=0, checkpoint_every=1, log_every=1, progress=False, num_points=64)
    return TrainConfig.from_flat(**{**base, **overrides})


def test_run_writes_its_outputs_and_trains_only_the_depth_tower(
    data: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = tiny_config(data, tmp_path / "run", val_shards=str(data[0]), keep_last=2)
    with caplog.at_level(logging.INFO, logger="clip2point"):
        result = train(cfg)
    assert (result.step, result.epoch) == (4, 2)  # 16 train objects / batch 8 = 2 steps per epoch
    header = caplog.text
    for expected in ("device cpu, precision fp32, world size 1", "global batch 8 = 1 ranks x 8 per rank",
                     "steps per epoch 2", "resume point: start"):
        assert expected in header
    run = tmp_path / "run"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["kind"] == "train"] == [1, 2, 3, 4]
    val = [r for r in records if r["kind"] == "val"]
    assert [r["step"] for r in val] == [2, 4]
    assert all(0 <= r["val_top1"] <= 1 and 0 <= r["val_retrieval_top1"] <= 1 for r in val)
    written = json.loads((run / "config.json").read_text())
    assert written["config"]["model"] == "c2p-tiny"
    assert written["config"]["recipe"] == "faithful" and written["fidelity"] == cfg.fidelity()
    assert written["fidelity"]["faithful"] and written["fidelity"]["choices"]["optimizer"] == "lamb"
    assert (run / "curves.png").stat().st_size > 10_000 and (run / "out.log").is_file()
    assert sorted(p.name for p in (run / "checkpoints").glob("step-*.pt")) == ["step-00000003.pt", "step-00000004.pt"]
    last = read_checkpoint(run / "checkpoints" / "last.pt")
    best = read_checkpoint(run / "checkpoints" / "best.pt")
    assert last.progress.step == 4 and best.best["metric"] == "val_top1" and best.progress.step in (2, 4)
    base = create_clip("c2p-tiny", data[1])
    assert last.base_weights == weights_hash(base.model.visual)
    trained = {k[len("depth_encoder."):]: v for k, v in last.model.items() if k.startswith("depth_encoder.")}
    start = base.model.visual.state_dict()
    assert set(trained) == set(start) and not any(k.startswith("image_encoder.") for k in last.model)
    assert any(not torch.equal(trained[k], start[k]) for k in start)
    assert last.model["balance"].item() != 1.0


def test_resume_rules(data: tuple[Path, Path], tmp_path: Path) -> None:
    cfg = tiny_config(data, tmp_path / "run", epochs=1)
    train(cfg)
    with pytest.raises(ConfigError, match=r"already holds checkpoints; pass --resume auto"):
        train(cfg)
    with pytest.raises(CheckpointError, match=r"last\.pt: comes from another configuration \(lr: checkpoint 0\.006, now 0\.001\)"):
        train(cfg.override(lr=1e-3, resume=str(tmp_path / "run" / "checkpoints" / "last.pt")))
    extended = train(cfg.override(epochs=2, resume="auto"))  # more epochs: same trajectory, continued
    assert (extended.step, extended.epoch) == (4, 2)


@pytest.mark.slow  # ~30 s: kill a training run, resume, compare
def test_killed_run_resumes_to_identical_weights(data: tuple[Path, Path], tmp_path: Path) -> None:
    """SIGKILL right after step 3 (checkpoint at step 2, mid-epoch 0 of 4 steps); resume; the
    final weights equal an uninterrupted run's, bit for bit (CPU, deterministic, one thread)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    killed = assert_killed_run_resumes_exactly([sys.executable], tmp_path, *data, env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    steps = [json.loads(line)["step"] for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()
             if json.loads(line)["kind"] == "train"]
    assert steps == sorted(set(steps))  # the killed run's step-3 record was dropped, then redone


def test_nan_loss_stops_at_its_step_and_keeps_the_last_good_checkpoint(
    data: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = trainer.compute_loss
    calls = {"n": 0}

    def poisoned(*args: object, **kwargs: object) -> object:
        parts = real(*args, **kwargs)
        calls["n"] += 1
        return parts._replace(total=parts.total * float("nan")) if calls["n"] == 3 else parts

    monkeypatch.setattr(trainer, "compute_loss", poisoned)
    with pytest.raises(step.NonFiniteLossError, match=r"loss became nan at step 3 \(epoch 1\).*step-00000002\.pt"):
        train(tiny_config(data, tmp_path / "run"))
    assert read_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt").progress.step == 2


def test_out_of_memory_names_the_batch_and_suggests_accumulation(
    data: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def oom(*args: object, **kwargs: object) -> object:
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(trainer, "compute_loss", oom)
    with pytest.raises(ConfigError, match=r"out of memory with 4 objects per device \(global batch 8\).*--accum-steps 4"):
        train(tiny_config(data, tmp_path / "run", accum_steps=2))


def test_gradient_accumulation_runs_whole_global_batches(data: tuple[Path, Path], tmp_path: Path) -> None:
    result = train(tiny_config(data, tmp_path / "run", accum_steps=2, epochs=1))
    assert result.step == 2  # still 2 optimiser steps per epoch: batch 8 = 2 x 4


def test_cached_image_features_equal_the_frozen_tower(data: tuple[Path, Path], tmp_path: Path) -> None:
    shards, weights = data
    bundle = create_clip("c2p-tiny", weights)
    encoder, key = bundle.model.visual, weights_hash(bundle.model.visual)
    spec = feature_cache.CacheSpec(tmp_path, key, 224)
    feature_cache.build_cache(shards, "train", encoder, spec, Compute(torch.device("cpu"), "fp32", 4), num_workers=0)
    cache = feature_cache.load_cache(shards, "train", spec)
    from clip2point.datasets.torch_dataset import ShardDataset

    item = ShardDataset(shards, split="train", view=2)[5]
    with torch.no_grad():
        expected = encoder(step.rgb_to_clip_input(item["rgb"][None], 224))[0]
    got = cache.lookup([item["object_id"]], item["view"][None])[0]
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    other = feature_cache.cache_key("0" * 64, feature_cache.shard_checksums(shards), "train", 224)
    assert other != cache.key
    changed = dict(feature_cache.shard_checksums(shards), **{"shard-00000.h5": "e" * 64})
    assert feature_cache.cache_key(key, changed, "train", 224) != cache.key
    with pytest.raises(CheckpointError, match="no image-feature cache for these weights and shards"):
        feature_cache.load_cache(shards, "train", replace(spec, weights_hash="0" * 64))


def test_depth_pair_is_the_same_view_at_two_jittered_distances() -> None:
    cfg = TrainConfig.from_flat(shards="s", out="o", num_points=32, dist_jitter=0.1)
    points = torch.rand(3, 50, 3) - 0.5
    batch = step.Batch(points=points, elev=torch.tensor([0.0, 90.0, 225.0]), azim=torch.tensor([0.0, 0.0, 45.0]),
                       dist=torch.ones(3), rgb=torch.zeros(3, 8, 8, 3, dtype=torch.uint8))
    pair = step.depth_pair_input(batch, cfg.data, step.step_generator(0, 5, 0, 0, torch.device("cpu")), 224)
    assert pair.shape == (3, 2, 3, 224, 224)
    replay = step.step_generator(0, 5, 0, 0, torch.device("cpu"))
    sub = step.subsample_points(points, 32, replay)
    dists = step.jittered_distances(batch.dist, 0.1, replay)
    assert sub.shape == (3, 32, 3) and all(len({tuple(p.tolist()) for p in cloud}) == 32 for cloud in sub)
    assert bool(((dists >= 0.9) & (dists <= 1.1)).all()) and not torch.equal(dists[:, 0], dists[:, 1])
    from clip2point.datasets.sampling import normalize_unit_sphere
    from clip2point.train.encoding import depth_views_to_clip_input

    # the subset is centred on its mean with max norm 1 before it is projected (the reference's pc_norm)
    expected = depth_views_to_clip_input(normalize_unit_sphere(sub), batch.elev[:, None].expand(-1, 2), batch.azim[:, None].expand(-1, 2), dists)
    torch.testing.assert_close(pair, expected, rtol=0, atol=0)


@pytest.mark.parametrize("overrides,message", [
    (dict(batch_size=10, accum_steps=4), "--batch-size 10 is not divisible by --accum-steps 4"),
    (dict(select_metric="val_top1"), "--select-metric val_top1 needs --val-shards"),
    (dict(dist_jitter=1.5), r"^--dist-jitter must be a number in \[0, 1\); got 1.5 \(a fraction"),
    (dict(max_steps=0), r"^--max-steps must be an integer >= 1; got 0"),
    (dict(optimizer="sgd"), "^--optimizer must be one of lamb, lamb-timm, adamw; got 'sgd'"),
    (dict(recipe="fast"), "^--recipe must be one of faithful, improved; got 'fast'"),
    (dict(negatives="all"), "^--negatives must be one of per-device, gathered; got 'all'"),
    (dict(val_views=7), "--val-views must be one of 6, 10; got 7"),
])
def test_config_validation_messages(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_flat(shards="s", out="o", **overrides)


def test_default_weights_are_openai_except_for_the_packaged_tiny_configs() -> None:
    assert TrainConfig.from_flat(shards="s", out="o").model.pretrained == "openai"
    assert TrainConfig.from_flat(shards="s", out="o", model="c2p-tiny-64").model.pretrained is None
    assert TrainConfig.from_flat(shards="s", out="o", model="c2p-tiny", pretrained="w.pt").model.pretrained == "w.pt"


def test_fp16_needs_cuda() -> None:
    with pytest.raises(ConfigError, match="fp16 needs a CUDA device"):
        resolve_precision("fp16", torch.device("cpu"))
    assert resolve_precision("auto", torch.device("cpu")) == "fp32"


def test_cli_reports_missing_shards_in_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = cli_main(["pretrain", "--shards", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run"),
                     "--model", "c2p-tiny", "--pretrained", "none", "--num-workers", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "clip2point pretrain: error:" in err and "nowhere" in err
    with pytest.raises(ShardError, match="nowhere"):
        train(TrainConfig.from_flat(shards=str(tmp_path / "nowhere"), out=str(tmp_path / "run"), model="c2p-tiny"))


@pytest.mark.parametrize("preset", ["clip2point", "pointclip"])
def test_a_tower_with_another_input_size_trains_and_validates(data: tuple[Path, Path], tmp_path: Path, preset: str) -> None:
    """Training, validation and evaluation all give the tower depth pictures of its own input size
    (they were 224² whatever the model: a 64-pixel tower failed at its position embeddings)."""
    from clip2point.eval.features import compute_view_features
    from clip2point.eval.settings import ViewSettings

    config = json.loads((REPO / "train" / "model_configs" / "c2p-tiny-64.json").read_text())
    assert config["vision_cfg"]["image_size"] == 64
    cfg = tiny_config(data, tmp_path / "run", model="c2p-tiny-64", pretrained=None, epochs=1,
                      val_shards=str(data[0]), depth_preset=preset)
    result = train(cfg)
    assert 0 <= result.metrics["val_top1"] <= 1 and 0 <= result.metrics["val_retrieval_top1"] <= 1
    encoder, _ = load_depth_encoder(tmp_path / "run" / "checkpoints" / "last.pt")  # and so does evaluation
    feats = compute_view_features({"depth": encoder}, torch.rand(3, 64, 3) - 0.5, ViewSettings(6, preset))
    assert feats["depth"].shape == (3, 6, config["embed_dim"]) and torch.isfinite(feats["depth"]).all()
