"""Two CPU processes under torchrun/gloo: gathered negatives, a real DDP pre-training run, and its mid-epoch resume;
one GPU under torchrun: the same kill/resume check on CUDA (gpu-marked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from clip2point.train.checkpoint import read_checkpoint

sys.path.insert(0, str(Path(__file__).parent))
from dist_worker import fixed_inputs, loss_and_grads  # noqa: E402
from train_support import assert_killed_run_resumes_exactly, tiny_weights_file, write_random_shards  # noqa: E402

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
TORCHRUN_ONE = [*TORCHRUN[:-1], "1"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.mark.slow  # ~30 s: two torchrun processes
def test_gathered_loss_and_gradients_equal_the_single_process_global_batch(tmp_path: Path) -> None:
    out = tmp_path / "dist.json"
    done = subprocess.run([*TORCHRUN, str(Path(__file__).parent / "dist_worker.py"), str(out)],
                          env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    two_ranks = json.loads(out.read_text())
    single = loss_and_grads(*fixed_inputs())
    assert two_ranks["world_size"] == 2
    assert two_ranks["loss"] == pytest.approx(single["loss"], rel=1e-6)
    for name, grad in single["grads"].items():
        torch.testing.assert_close(torch.tensor(two_ranks["grads"][name]), torch.tensor(grad), rtol=1e-5, atol=1e-7)


@pytest.mark.slow  # ~50 s: two torchrun processes pre-train
def test_torchrun_pretraining_on_two_processes(tmp_path: Path) -> None:
    shards = write_random_shards(tmp_path / "shards")
    weights = tiny_weights_file(tmp_path / "tiny.pt")
    run = tmp_path / "run"
    done = subprocess.run(
        [*TORCHRUN, "-m", "clip2point.train", "--shards", str(shards), "--out", str(run), "--model", "c2p-tiny",
         "--pretrained", str(weights), "--batch-size", "8", "--epochs", "1", "--num-workers", "0",
         "--checkpoint-every", "1", "--num-points", "64", "--no-progress"],
        env=ENV, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    log = (run / "out.log").read_text()
    assert "world size 2" in log and "global batch 8 = 2 ranks x 4 per rank x 1 accumulation" in log
    assert "steps per epoch 2" in log  # 16 objects, 8 per global step
    ckpt = read_checkpoint(run / "checkpoints" / "last.pt")
    assert ckpt.progress.step == 2 and ckpt.progress.epoch == 1
    assert sorted(p.name for p in (run / "checkpoints").glob("step-*.pt")) == ["step-00000001.pt", "step-00000002.pt"]
    assert done.stdout.count("pretrain: ") == 1  # rank 0 alone reports


@pytest.mark.slow  # ~170 s: kill, resume and a reference run
def test_a_killed_two_process_run_resumes_mid_epoch_to_identical_weights(tmp_path: Path) -> None:
    """Both ranks SIGKILLed right after step 3 (checkpoint at step 2, mid-epoch 0 of 4 steps);
    torchrun resumes; the weights equal an uninterrupted two-process run's, bit for bit: the
    sampler position and every rank's RNG state come back, not just rank 0's."""
    shards = write_random_shards(tmp_path / "shards")
    weights = tiny_weights_file(tmp_path / "tiny.pt")
    killed = assert_killed_run_resumes_exactly(TORCHRUN, tmp_path, shards, weights, ENV)
    assert killed.returncode != 0


@pytest.mark.gpu
def test_a_killed_one_gpu_torchrun_run_resumes_mid_epoch_to_identical_weights(tmp_path: Path) -> None:
    """One process on cuda:0 under torchrun, SIGKILLed mid-epoch and resumed, ends with the weights of
    an uninterrupted run, bit for bit: checkpoints carry the CUDA generator state and deterministic
    kernels (cuBLAS needs CUBLAS_WORKSPACE_CONFIG) make the replayed steps equal. With one rank the
    trainer joins no process group (``DistEnv.enabled`` needs two), so NCCL itself is not exercised."""
    shards = write_random_shards(tmp_path / "shards")
    weights = tiny_weights_file(tmp_path / "tiny.pt")
    env = {**ENV, "CUBLAS_WORKSPACE_CONFIG": ":4096:8"}
    killed = assert_killed_run_resumes_exactly(TORCHRUN_ONE, tmp_path, shards, weights, env, ("--device", "cuda"))
    assert killed.returncode != 0
    assert "device cuda:0, precision bf16, world size 1" in (tmp_path / "b" / "out.log").read_text()
