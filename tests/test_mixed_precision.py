"""Mixed-precision pre-training through the CLI with a ``--pretrained FILE``: bf16 autocast (CPU and
CUDA) and fp16 with GradScaler (CUDA only; ``test_fp16_scaler.py`` covers the scaler's logic on CPU).

On CUDA the tower is ViT-B/32, the paper's size, built from random weights saved to a local file
(no download); on the CPU it is the tiny model. A few steps each: the run must finish, every loss
and weight stay finite, and the depth tower move away from its starting copy of the image tower.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
import torch

from clip2point.cli import main as cli_main
from clip2point.train.checkpoint import read_checkpoint
from clip2point.train.models import create_clip

sys.path.insert(0, str(Path(__file__).parent))
from train_support import tiny_weights_file, write_random_shards  # noqa: E402

MODEL = {"cpu": "c2p-tiny", "cuda": "ViT-B-32"}
STEPS = 3


@pytest.mark.parametrize("device,precision", [
    ("cpu", "bf16"),
    pytest.param("cuda", "bf16", marks=pytest.mark.gpu),
    pytest.param("cuda", "fp16", marks=pytest.mark.gpu),
])
def test_mixed_precision_pretraining_trains_the_depth_tower(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                           device: str, precision: str) -> None:
    model = MODEL[device]
    shards = write_random_shards(tmp_path / "shards")
    weights = tiny_weights_file(tmp_path / f"{model}.pt", model_name=model)
    run = tmp_path / "run"
    with caplog.at_level(logging.INFO, logger="clip2point"):
        code = cli_main(["pretrain", "--shards", str(shards), "--out", str(run), "--model", model,
                         "--pretrained", str(weights), "--precision", precision, "--device", device,
                         "--batch-size", "8", "--epochs", "2", "--max-steps", str(STEPS), "--num-workers", "0",
                         "--num-points", "64", "--checkpoint-every", str(STEPS), "--log-every", "1", "--no-progress"])
    assert code == 0
    assert f"precision {precision}, world size 1" in caplog.text
    losses = [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()
              if json.loads(line)["kind"] == "train"]
    assert len(losses) == STEPS and all(torch.isfinite(torch.tensor(losses)))
    ckpt = read_checkpoint(run / "checkpoints" / "last.pt")
    assert ckpt.progress.step == STEPS
    if precision == "fp16":
        assert 0 < ckpt.scaler["scale"] < float("inf")
    start = create_clip(model, weights).model.visual.state_dict()
    assert all(torch.isfinite(t).all() for t in ckpt.model.values())
    assert any(not torch.equal(ckpt.model[f"depth_encoder.{k}"].cpu(), v) for k, v in start.items())
