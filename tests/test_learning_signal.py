"""A short CPU pre-training run on rendered synthetic objects (tiny model, about a minute).

Set: the generation job's synthetic objects, 55 classes x 4 -> 165 train / 55 held-out, 6 views,
64² RGB, 2,048 stored points. Run: c2p-tiny with random weights, batch 16, 6 epochs (60 steps),
LAMB lr 1e-3, cached image features. Numbers asserted:

- held-out depth->image retrieval top-1 >= 3x chance (chance 1/55 = 1.8 %; this run ends at
  4/55). Most of it is present at step 0, because the depth tower starts as a copy of the image
  tower (the paper's premise): a frozen *random* image tower gives nearly the same feature to
  every RGB view (mean cosine ~0.98), so the cross-modal term cannot improve much on that in a
  CPU-minute. With real CLIP weights it is the term that carries the signal.
- what the run does learn: the intra-modality NT-Xent of the two jittered depth copies starts at
  its chance value log(2N-1) = log(31) = 3.43 and must end below 0.75x chance (the depth tower
  learns features that tell objects apart and ignore the distance jitter); the balance weight w
  must move away from 1.
- the validation inside training equals the evaluation path (checkpoint -> load_depth_encoder).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clip2point.train.config import TrainConfig
from clip2point.train.models import load_depth_encoder
from clip2point.train.trainer import train
from clip2point.train.validation import VAL_BATCH, retrieval_top1

sys.path.insert(0, str(Path(__file__).parent))
from train_support import tiny_weights_file  # noqa: E402

BATCH, EPOCHS = 16, 6


RENDER = """
import sys
from clip2point.render.job import run_render_job
from clip2point.render.job_config import RenderJobConfig
config = RenderJobConfig(out=sys.argv[1], synthetic_per_class=4, num_views=6, size=64, num_points=2048,
                         depth_points=1024, objects_per_shard=64)
report = run_render_job(config, workers=1, progress=False)
sys.exit(0 if report.failed == 0 else 1)
"""


@pytest.fixture(scope="module")
def rendered_shards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """165 train + 55 test synthetic objects rendered by the generation job (RGB + points), in
    a subprocess so the GL context never shares a process with the training stack."""
    base = tmp_path_factory.mktemp("signal")
    env = {**os.environ, "CLIP2POINT_CACHE": str(base / "cache"), "LP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", RENDER, str(base / "shards")], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    counts = json.loads((base / "shards" / "index.json").read_text())["counts"]
    assert counts["splits"] == {"test": 55, "train": 165} and counts["failed"] == 0
    return base / "shards"


@pytest.mark.slow
def test_short_run_learns_on_rendered_objects(rendered_shards: Path, tmp_path: Path) -> None:
    import torch

    weights = tiny_weights_file(tmp_path / "tiny.pt")
    cfg = TrainConfig(shards=str(rendered_shards), out=str(tmp_path / "run"), model="c2p-tiny",
                      pretrained=str(weights), batch_size=BATCH, epochs=EPOCHS, lr=1e-3, num_workers=0,
                      cache_image_features=True, val_shards=str(rendered_shards), select_metric="val_retrieval_top1",
                      checkpoint_every=1000, progress=False, seed=0)
    result = train(cfg)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    train_records = [r for r in records if r["kind"] == "train"]
    chance_intra = math.log(2 * BATCH - 1)
    last_epoch = [r["intra"] for r in train_records if r["epoch"] == EPOCHS - 1]
    assert sum(last_epoch) / len(last_epoch) < 0.75 * chance_intra
    assert abs(train_records[-1]["w"] - 1.0) > 0.01

    encoder, _ = load_depth_encoder(tmp_path / "run" / "checkpoints" / "last.pt")
    from clip2point.train.models import create_clip

    image_tower = create_clip("c2p-tiny", weights).model.visual
    top1, n = retrieval_top1(encoder, image_tower, rendered_shards, "test", num_points=1024,
                             device=torch.device("cpu"), precision="fp32", batch_size=VAL_BATCH)
    chance = 1 / n
    assert n == 55
    assert top1 >= 3 * chance, f"held-out depth->image top-1 {top1:.3f} vs chance {chance:.3f}"
    assert top1 == pytest.approx(result.metrics["val_retrieval_top1"])  # training's validation = eval path
