"""The CPU stand-in for CLIP (train/standin.py): its loss, determinism, the real-weights load path,
and that it is named a stand-in wherever it shows up."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from clip2point.cli import main
from clip2point.train.models import create_clip
from clip2point.train.standin import (STANDIN_MODEL, StandinSettings, fit_standin, label_aware_clip_loss,
                                      standin_meta_path)

sys.path.insert(0, str(Path(__file__).parent))
from train_support import CLASS_NAMES, write_random_shards  # noqa: E402


def test_same_class_pictures_are_not_negatives() -> None:
    """Two pictures of one class, each equal to its caption: plain InfoNCE would still charge
    caption -> picture log 2 for the 'other' same-class picture; the label-aware loss is ~0."""
    captions = F.normalize(torch.eye(3, 8), dim=-1)
    labels = torch.tensor([0, 0, 1, 2])
    pictures = captions[labels]
    scale = torch.tensor(math.log(100.0))
    assert float(label_aware_clip_loss(pictures, captions, labels, scale)) < 1e-3
    wrong = captions[torch.tensor([1, 0, 2, 0])]
    assert float(label_aware_clip_loss(wrong, captions, labels, scale)) > 10


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_random_shards(tmp_path_factory.mktemp("standin") / "shards", train=12, test=6, views=2)


def _fit(shards: Path, out: Path, seed: int) -> dict[str, torch.Tensor]:
    fit_standin(StandinSettings(shards, out, steps=3, batch_size=8, seed=seed))
    return torch.load(out, weights_only=True)


def test_fit_is_deterministic_and_loads_as_real_weights(shards: Path, tmp_path: Path) -> None:
    a, b, c = (_fit(shards, tmp_path / f"{name}.pt", seed) for name, seed in (("a", 3), ("b", 3), ("c", 4)))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)
    # the same path real weights take: --pretrained FILE
    bundle = create_clip(STANDIN_MODEL, tmp_path / "a.pt")
    assert all(torch.equal(v, a[k]) for k, v in bundle.model.state_dict().items())
    meta = json.loads(standin_meta_path(tmp_path / "a.pt").read_text())
    assert "NOT CLIP" in meta["kind"] and meta["model"] == STANDIN_MODEL
    assert meta["class_names"] == CLASS_NAMES and meta["pictures"] == 24  # 12 train objects x 2 views
    assert 0 <= meta["rgb_zero_shot_held_out"] <= 100


def test_standin_command_names_itself(shards: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "standin.pt"
    assert main(["standin", "--shards", str(shards), "--out", str(out), "--steps", "2", "--batch-size", "4"]) == 0
    printed = capsys.readouterr().out
    assert "a stand-in for CLIP, not CLIP" in printed and f"--model {STANDIN_MODEL} --pretrained {out}" in printed
    assert out.is_file() and standin_meta_path(out).is_file()


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--steps", "0", "--steps must be an integer >= 1; got 0"),
    ("--batch-size", "0", "--batch-size must be an integer >= 1; got 0"),
    ("--lr", "0", "--lr must be > 0; got 0.0"),
])
def test_standin_refuses_bad_numbers(shards: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                     flag: str, value: str, message: str) -> None:
    assert main(["standin", "--shards", str(shards), "--out", str(tmp_path / "s.pt"), flag, value]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "s.pt").exists()


def test_standin_refuses_a_split_without_objects(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    shards = write_random_shards(tmp_path / "shards", train=0, test=3)
    assert main(["standin", "--shards", str(shards), "--out", str(tmp_path / "s.pt"), "--steps", "1"]) == 2
    assert f"{shards}: no object in split 'train'" in capsys.readouterr().err
