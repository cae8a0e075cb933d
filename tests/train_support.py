"""Helpers for the pre-training tests: small random shard folders and tiny weights files."""

from __future__ import annotations

from pathlib import Path

import torch

from clip2point.datasets.shards import build_index, write_shard
from shard_fixtures import synthetic_object

CLASS_NAMES = ["airplane", "chair", "night_stand"]


def write_random_shards(folder: Path, *, train: int = 16, test: int = 6, views: int = 3, per_shard: int = 8,
                        num_points: int = 96, seed: int = 0) -> Path:
    """A shard folder of render-free objects (ellipse RGB views, ellipsoid clouds), both splits."""
    objects = [
        synthetic_object(f"{split}-{i:03d}", synset=f"0{label}000000", label=label, split=split, views=views,
                         size=32, num_points=num_points, seed=seed * 1000 + k)
        for k, (split, i) in enumerate([("train", i) for i in range(train)] + [("test", i) for i in range(test)])
        for label in [k % len(CLASS_NAMES)]
    ]
    for shard_id, start in enumerate(range(0, len(objects), per_shard)):
        write_shard(folder, shard_id, objects[start:start + per_shard], [],
                    attrs={"config": {"kind": "test-random", "seed": seed}, "class_names": CLASS_NAMES})
    build_index(folder)
    return folder


def tiny_weights_file(path: Path, seed: int = 7, model_name: str = "c2p-tiny") -> Path:
    """A model's random weights (c2p-tiny unless told) saved as a local --pretrained file."""
    import open_clip

    from clip2point.train.models import register_model_configs

    register_model_configs()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = open_clip.create_model(model_name)
    torch.save(model.state_dict(), path)
    return path


def fit_tiny_image_tower(shards: Path, path: Path, *, split: str | None = None, steps: int = 60, batch: int = 64,
                         lr: float = 1e-3, seed: int = 7, model_name: str = "c2p-tiny") -> Path:
    """c2p-tiny whose image tower was fitted to RGB views, saved as a --pretrained file.

    Real pre-training starts from CLIP, whose image tower already tells objects apart, held-out
    ones included. A random tiny tower maps every view to nearly one feature (mean cosine ~0.98),
    which leaves the cross-modal term nothing to learn; a few seconds of supervised fitting (a
    linear class head on the L2-normalised features, temperature 0.1) on the RGB views of
    ``split`` (None: all objects, as CLIP has seen such pictures) spreads the features out the
    way CLIP's are. Depth maps and points are never used, so the depth tower's held-out objects
    stay unseen by everything it learns from.
    """
    import open_clip
    import torch.nn.functional as F

    from clip2point.datasets.torch_dataset import ShardDataset
    from clip2point.train.encoding import tower_input_size
    from clip2point.train.models import register_model_configs
    from clip2point.train.step import rgb_to_clip_input

    register_model_configs()
    data = ShardDataset(shards, split=split, view="all", fields=("rgb",))
    rgb = torch.stack([data[i]["rgb"] for i in range(len(data))])  # [N,V,H,W,3]
    labels = torch.from_numpy(data.labels)[:, None].expand(-1, rgb.shape[1]).reshape(-1)
    rgb = rgb.flatten(0, 1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = open_clip.create_model(model_name)
        visual = model.visual.train()
        size = tower_input_size(visual)
        head = torch.nn.Linear(int(visual.output_dim), len(data.class_names))
        optimizer = torch.optim.AdamW([*visual.parameters(), *head.parameters()], lr=lr, weight_decay=1e-4)
        for _ in range(steps):
            pick = torch.randint(len(rgb), (batch,))
            feats = F.normalize(visual(rgb_to_clip_input(rgb[pick], size)), dim=-1)
            loss = F.cross_entropy(head(feats) / 0.1, labels[pick])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    torch.save(model.state_dict(), path)
    return path


def assert_killed_run_resumes_exactly(launcher: list[str], tmp_path: Path, shards: Path, weights: Path,
                                      env: dict[str, str], extra_args: tuple[str, ...] = ()
                                      ) -> "subprocess.CompletedProcess[str]":
    """Pre-train killed right after step 3 (checkpoint at step 2, mid-epoch 0 of 4 steps) into
    ``tmp_path/a``, resume it with ``--resume auto``, run the same uninterrupted into ``tmp_path/b``,
    and assert both end with the same weights, bit for bit. ``launcher`` runs this file (python
    or torchrun) with ``extra_args`` added to every run (e.g. ``--device cuda``); returns the killed
    process for the caller's checks of how it died."""
    import subprocess

    from clip2point.train.checkpoint import read_checkpoint

    args = ["--shards", str(shards), "--model", "c2p-tiny", "--pretrained", str(weights), "--batch-size", "4",
            "--epochs", "2", "--num-workers", "0", "--checkpoint-every", "2", "--num-points", "64",
            "--deterministic", "--no-progress", *extra_args]
    driver = [*launcher, str(Path(__file__))]
    killed = subprocess.run([*driver, "--kill-after-step", "3", "--out", str(tmp_path / "a"), *args],
                            env=env, capture_output=True, text=True, timeout=300)
    assert read_checkpoint(tmp_path / "a" / "checkpoints" / "last.pt").progress.step == 2, killed.stderr[-2000:]
    for out, extra in ((tmp_path / "a", ["--resume", "auto"]), (tmp_path / "b", [])):
        done = subprocess.run([*driver, "--out", str(out), *args, *extra], env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    assert "resume point: epoch 0, batch 2, step 2" in (tmp_path / "a" / "out.log").read_text()
    resumed = read_checkpoint(tmp_path / "a" / "checkpoints" / "last.pt")
    straight = read_checkpoint(tmp_path / "b" / "checkpoints" / "last.pt")
    assert resumed.progress == straight.progress and resumed.progress.step == 8
    for name, tensor in straight.model.items():
        assert torch.equal(resumed.model[name], tensor), name
    return killed


def _main(argv: list[str]) -> int:
    """``python train_support.py [--kill-after-step N] PRETRAIN_FLAGS``: a pretrain run that, when
    asked, SIGKILLs itself right after step N, the way a crash or a preempted node would."""
    import argparse
    import logging
    import os
    import signal

    from clip2point.train.cli import add_arguments, config_from_args
    from clip2point.train.trainer import train

    parser = argparse.ArgumentParser()
    parser.add_argument("--kill-after-step", type=int, default=None)
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)

    def hook(step: int) -> None:
        if step == args.kill_after_step:
            os.kill(os.getpid(), signal.SIGKILL)

    train(config_from_args(args), on_step_end=hook)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
