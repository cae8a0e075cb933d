"""A short CPU pre-training run on rendered synthetic objects (tiny model, under two minutes).

Set: the generation job's synthetic objects, 55 classes x 4 -> 165 train / 55 held-out, 6 views,
64² RGB, 2,048 stored points. Like real use, training starts from an image tower that already
tells views apart (CLIP's premise): ``fit_tiny_image_tower`` fits c2p-tiny's image tower to the
RGB views for a few seconds and the run takes that file through ``--pretrained``, the path real
weights take. (A random tiny tower gives every view nearly one feature, mean cosine ~0.98, and
leaves the cross-modal term nothing to learn.) Run: batch 16, 10 epochs (100 steps), LAMB
lr 1e-2, cached image features.

Measured on the held-out 55 objects, each as one fixed view: the rank of its own RGB view among
the 55 RGB features when its depth map is the query (0 = retrieved; chance: mean rank 27, top-1
1/55 = 1.8 %). Step 0 is the depth tower as initialised, a copy of the image tower.
Two runs (fit seed 7 / train seed 0, and 8 / 1) measured:

- held-out mean rank: 24.5 -> 19.7 and 24.0 -> 20.3. Asserted: it falls by at least 1.5 and ends
  at or below 0.85x chance (22.95). The depth tower learned depth features that sit nearer their
  own object's RGB feature on objects it never saw.
- cross-modal NT-Xent (chance log(31) = 3.43): first step 9.7 / 9.1, last-epoch mean 5.6 / 5.3.
  Asserted: last-epoch mean <= 0.75x the first step. The balance weight w: 1 -> 1.37 / 1.37;
  asserted > 1.1.
- held-out top-1 stays near step 0's (3.6 % -> 5.5 % and 3.6 % -> 1.8 %): a CPU-minute with
  this tiny tower does not lift it clearly, so it is not asserted beyond the check that the
  trainer's validation metric equals the evaluation path (checkpoint -> load_depth_encoder).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from clip2point.train.config import TrainConfig
from clip2point.train.models import create_clip, load_depth_encoder
from clip2point.train.trainer import train
from clip2point.train.validation import VAL_BATCH, retrieval_ranks

sys.path.insert(0, str(Path(__file__).parent))
from train_support import fit_tiny_image_tower  # noqa: E402

BATCH, EPOCHS, LR = 16, 10, 1e-2
CHANCE_MEAN_RANK = (55 - 1) / 2

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
    weights = fit_tiny_image_tower(rendered_shards, tmp_path / "tiny.pt")
    image_tower = create_clip("c2p-tiny", weights).model.visual

    def held_out_ranks(depth_tower: torch.nn.Module) -> torch.Tensor:
        return retrieval_ranks(depth_tower, image_tower, rendered_shards, "test", num_points=1024,
                               device=torch.device("cpu"), precision="fp32", batch_size=VAL_BATCH).float()

    before = held_out_ranks(image_tower)  # step 0: the depth tower is a copy of the image tower
    cfg = TrainConfig(shards=str(rendered_shards), out=str(tmp_path / "run"), model="c2p-tiny",
                      pretrained=str(weights), batch_size=BATCH, epochs=EPOCHS, lr=LR, num_workers=0,
                      cache_image_features=True, val_shards=str(rendered_shards), select_metric="val_retrieval_top1",
                      checkpoint_every=1000, progress=False, seed=0)
    result = train(cfg)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    train_records = [r for r in records if r["kind"] == "train"]
    encoder, _ = load_depth_encoder(tmp_path / "run" / "checkpoints" / "last.pt")
    after = held_out_ranks(encoder)
    first_cross = train_records[0]["cross"]
    last_cross = [r["cross"] for r in train_records if r["epoch"] == EPOCHS - 1]
    assert before.numel() == after.numel() == 55
    assert before.mean() - after.mean() >= 1.5, f"held-out mean rank {before.mean():.1f} -> {after.mean():.1f}"
    assert after.mean() <= 0.85 * CHANCE_MEAN_RANK, f"held-out mean rank {after.mean():.1f}, chance {CHANCE_MEAN_RANK}"
    assert sum(last_cross) / len(last_cross) <= 0.75 * first_cross, f"cross loss {first_cross:.2f} -> {last_cross}"
    assert train_records[-1]["w"] > 1.1
    assert float((after == 0).float().mean()) == pytest.approx(result.metrics["val_retrieval_top1"])  # = eval path
