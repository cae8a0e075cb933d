"""The fp16 path (float16 autocast + GradScaler), exercised on CPU.

The CLI refuses fp16 on a CPU (bf16 or fp32 are the right choices there), so these tests lift
that one check. Everything else is the code a CUDA run takes: the scaler scales the loss, skips
an optimiser step whose gradients overflowed and lowers its scale, and its state travels in the
checkpoint so a resumed run continues with the scale it had.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import pytest
import torch

from clip2point.train import trainer
from clip2point.train.checkpoint import read_checkpoint
from clip2point.train.config import TrainConfig
from clip2point.train.trainer import train

sys.path.insert(0, str(Path(__file__).parent))
from train_support import tiny_weights_file, write_random_shards  # noqa: E402

INIT_SCALE = 2.0**16  # GradScaler's default


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("fp16-data")
    return write_random_shards(root / "shards"), tiny_weights_file(root / "tiny.pt")


@pytest.fixture(autouse=True)
def fp16_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trainer, "resolve_precision", lambda precision, device: precision)


def fp16_config(data: tuple[Path, Path], out: Path, **overrides: object) -> TrainConfig:
    shards, weights = data
    base = dict(shards=str(shards), out=str(out), model="c2p-tiny", pretrained=str(weights), batch_size=8,
                epochs=1, num_workers=0, checkpoint_every=1, log_every=1, progress=False, num_points=64,
                precision="fp16", deterministic=True)
    return TrainConfig.from_flat(**{**base, **overrides})


def initial_depth_weights(weights: Path) -> dict[str, torch.Tensor]:
    """The depth tower before training: a copy of the image tower's weights."""
    visual = trainer.create_clip("c2p-tiny", weights).model.visual.state_dict()
    return {f"depth_encoder.{k}": v for k, v in visual.items()}


def test_fp16_trains_and_the_scale_survives_resume(data: tuple[Path, Path], tmp_path: Path) -> None:
    train(fp16_config(data, tmp_path / "a"))  # epoch 0, then continue for epoch 1
    first = read_checkpoint(tmp_path / "a" / "checkpoints" / "last.pt")
    assert first.scaler["scale"] in (INIT_SCALE, INIT_SCALE / 2, INIT_SCALE / 4)  # halved once per overflow
    train(fp16_config(data, tmp_path / "a", epochs=2, resume="auto"))
    train(fp16_config(data, tmp_path / "b", epochs=2))
    resumed = read_checkpoint(tmp_path / "a" / "checkpoints" / "last.pt")
    straight = read_checkpoint(tmp_path / "b" / "checkpoints" / "last.pt")
    assert resumed.scaler == straight.scaler
    for name, tensor in straight.model.items():
        assert torch.isfinite(tensor).all() and torch.equal(resumed.model[name], tensor), name
    assert any(not torch.equal(straight.model[k], v) for k, v in initial_depth_weights(data[1]).items())


def test_overflowing_steps_are_skipped_and_the_scale_backs_off(
    data: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scale of 2^120 makes every float16 gradient inf: no weight may move, and the scale halves
    once per skipped step (a scaler that was off, or not consulted, would write inf or NaN)."""
    huge = 2.0**120
    monkeypatch.setattr(torch.amp, "GradScaler", functools.partial(torch.amp.GradScaler, init_scale=huge))
    train(fp16_config(data, tmp_path / "run", checkpoint_every=10_000))
    before = read_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert before.progress.step == 2 and before.scaler["scale"] == huge / 4
    for name, tensor in initial_depth_weights(data[1]).items():
        assert torch.equal(before.model[name], tensor), name
    assert before.model["balance"].item() == 1.0
