"""Checkpoint schema round trip, atomic writes, corrupt-file handling, resume lookup, pruning, RNG."""

from __future__ import annotations

import logging
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from clip2point.errors import CheckpointError
from clip2point.train.checkpoint import (
    Checkpoint,
    Progress,
    capture_rng,
    find_resume,
    link_atomic,
    load_torch_file,
    prune_checkpoints,
    read_checkpoint,
    restore_rng,
    write_checkpoint,
)


def make_checkpoint(step: int) -> Checkpoint:
    model = torch.nn.Linear(4, 3)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.ones(2, 4)).sum().backward()
    opt.step()
    sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=4, eta_min=1e-6)
    sched.step()
    return Checkpoint(
        config={"model": "c2p-tiny", "lr": 6e-3, "pretrained": None}, base_weights="ab" * 32,
        model=model.state_dict(), progress=Progress(epoch=1, step=step, batch_in_epoch=2),
        optimizer=opt.state_dict(), scheduler=sched.state_dict(), scaler=torch.amp.GradScaler("cpu").state_dict(),
        rng=capture_rng(), best={"metric": "val_top1", "value": 0.5, "step": step},
        metrics={"val_top1": 0.5}, code_version={"package": "0.1.0"}, shards={"shard-00000.h5": "f" * 64},
    )


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    ckpt = make_checkpoint(7)
    path = write_checkpoint(tmp_path / "step-7.pt", ckpt)
    back = read_checkpoint(path)
    assert (back.config, back.base_weights, back.progress) == (ckpt.config, ckpt.base_weights, ckpt.progress)
    assert (back.best, back.metrics, back.code_version, back.shards) == (ckpt.best, ckpt.metrics, ckpt.code_version, ckpt.shards)
    for name, tensor in ckpt.model.items():
        assert torch.equal(back.model[name], tensor)
    state = back.optimizer["state"][0]
    assert torch.equal(state["exp_avg"], ckpt.optimizer["state"][0]["exp_avg"])
    assert back.scheduler == ckpt.scheduler
    assert back.scaler == ckpt.scaler
    # loadable with the safe loader alone
    assert isinstance(torch.load(path, weights_only=True), dict)
    assert [p.name for p in tmp_path.iterdir()] == ["step-7.pt"]  # no temporary left behind


def test_rng_states_restore_every_generator() -> None:
    state = capture_rng()
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    restore_rng(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_truncated_and_foreign_files_are_checkpoint_errors(tmp_path: Path) -> None:
    path = write_checkpoint(tmp_path / "step-1.pt", make_checkpoint(1))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"step-1\.pt: unreadable checkpoint: truncated torch file"):
        read_checkpoint(path)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CheckpointError, match=r"foreign\.pt: not a clip2point pre-training checkpoint \(schema None"):
        read_checkpoint(foreign)
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        read_checkpoint(tmp_path / "absent.pt")


def test_find_resume_skips_a_corrupt_newest_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for step in (2, 4):
        write_checkpoint(tmp_path / f"step-{step:08d}.pt", make_checkpoint(step))
    link_atomic(tmp_path / "step-00000004.pt", tmp_path / "last.pt")
    newest = tmp_path / "step-00000006.pt"
    write_checkpoint(newest, make_checkpoint(6))
    newest.write_bytes(newest.read_bytes()[:100])  # killed while the disk lied about fsync
    with caplog.at_level(logging.WARNING, logger="clip2point.train.checkpoint"):
        path, ckpt = find_resume(tmp_path)
    assert path.name == "step-00000004.pt" and ckpt.progress.step == 4
    assert "skipping checkpoint" in caplog.text and "step-00000006.pt" in caplog.text


class _Unsafe:
    """A class outside torch's weights_only allow-list."""


@pytest.mark.parametrize("content,reason", [
    (b"", r"empty file \(0 bytes\)"),
    (b'{"not": "torch"}', "not a torch file"),
    (b"junk", "not a torch file"),  # under 8 bytes: torch fails in struct.unpack, not in pickle
    (None, r"truncated torch file \(\d+ bytes"),
    ("pickled", r"contains objects outside the safe allow-list \(.*_Unsafe\)"),
    ("damaged", r"damaged torch file \(Unsupported operand \d+\)$"),
])
def test_unreadable_files_get_one_short_line_without_unsafe_advice(tmp_path: Path, content: object, reason: str) -> None:
    """torch's messages span lines and advise weights_only=False (runs the file's code): never shown."""
    path = tmp_path / "bad.pt"
    if content is None:
        write_checkpoint(path, make_checkpoint(1))
        path.write_bytes(path.read_bytes()[:5000])
    elif content == "pickled":
        torch.save({"obj": _Unsafe()}, path)
    elif content == "damaged":  # a whole archive whose pickle stream is garbage
        torch.save({"a": torch.zeros(2)}, tmp_path / "whole.pt")
        with zipfile.ZipFile(tmp_path / "whole.pt") as src, zipfile.ZipFile(path, "w") as dst:
            for item in src.infolist():
                dst.writestr(item, b"\xe2garbage" if item.filename.endswith("data.pkl") else src.read(item.filename))
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=rf"bad\.pt: unreadable checkpoint: {reason}") as info:
        load_torch_file(path, what="checkpoint")
    message = str(info.value)
    assert "\n" not in message and "weights_only" not in message and "()" not in message


def test_find_resume_warns_about_a_corrupt_last_that_is_no_step_link(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """last.pt overwritten (not a link to a step file): README promises the skip is named."""
    for step in (2, 4):
        write_checkpoint(tmp_path / f"step-{step:08d}.pt", make_checkpoint(step))
    (tmp_path / "last.pt").write_bytes(b"\x00garbage" * 100)
    with caplog.at_level(logging.WARNING, logger="clip2point.train.checkpoint"):
        path, ckpt = find_resume(tmp_path)
    assert path.name == "step-00000004.pt" and ckpt.progress.step == 4
    assert "skipping checkpoint" in caplog.text and "last.pt: unreadable checkpoint: not a torch file" in caplog.text


def test_find_resume_uses_a_last_copy_newer_than_the_step_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """On a filesystem without hard links last.pt is a copy; when it is the newest state it wins."""
    write_checkpoint(tmp_path / "step-00000002.pt", make_checkpoint(2))
    write_checkpoint(tmp_path / "last.pt", make_checkpoint(5))
    with caplog.at_level(logging.WARNING, logger="clip2point.train.checkpoint"):
        path, ckpt = find_resume(tmp_path)
    assert path.name == "last.pt" and ckpt.progress.step == 5 and "skipping" not in caplog.text


def test_find_resume_prefers_a_step_file_newer_than_last(tmp_path: Path) -> None:
    write_checkpoint(tmp_path / "step-00000002.pt", make_checkpoint(2))
    link_atomic(tmp_path / "step-00000002.pt", tmp_path / "last.pt")
    write_checkpoint(tmp_path / "step-00000003.pt", make_checkpoint(3))  # crash before last.pt moved
    path, ckpt = find_resume(tmp_path)
    assert ckpt.progress.step == 3 and path.name == "step-00000003.pt"
    (tmp_path / "empty").mkdir()
    assert find_resume(tmp_path / "empty") is None


def test_prune_keeps_the_newest_and_links_survive(tmp_path: Path) -> None:
    for step in (1, 2, 3, 4):
        write_checkpoint(tmp_path / f"step-{step:08d}.pt", make_checkpoint(step))
    link_atomic(tmp_path / "step-00000001.pt", tmp_path / "best.pt")
    removed = prune_checkpoints(tmp_path, keep_last=2)
    assert sorted(p.name for p in removed) == ["step-00000001.pt", "step-00000002.pt"]
    assert sorted(p.name for p in tmp_path.glob("step-*.pt")) == ["step-00000003.pt", "step-00000004.pt"]
    assert read_checkpoint(tmp_path / "best.pt").progress.step == 1


def test_a_checkpoint_that_recorded_bare_sha256_shards_resumes_on_the_same_files(tmp_path: Path) -> None:
    """Checkpoints from before shard schema 2 kept each shard's sha256 as bare hex; the index now
    gives ``"sha256:HEX"`` for those same files, which is the same data, and any other checksum is not."""
    import dataclasses  # noqa: PLC0415

    from clip2point.train.config import TrainConfig  # noqa: PLC0415
    from clip2point.train.resume import check_compatible  # noqa: PLC0415

    cfg = TrainConfig.from_flat(shards="s", out=str(tmp_path), model="c2p-tiny")
    ckpt = dataclasses.replace(make_checkpoint(3), config=cfg.to_dict())
    check_compatible(tmp_path, ckpt, cfg, base_weights=ckpt.base_weights, shards={"shard-00000.h5": "sha256:" + "f" * 64})
    with pytest.raises(CheckpointError, match="was trained on other shards"):
        check_compatible(tmp_path, ckpt, cfg, base_weights=ckpt.base_weights,
                         shards={"shard-00000.h5": "xxh3-128:" + "f" * 32})
