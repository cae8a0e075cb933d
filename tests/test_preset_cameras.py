"""Each depth preset owns its camera sets: the registry, the roll/mirror camera model, and every
place that picks views for a preset (project, zero-shot, few-shot, pre-training validation)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from clip2point.cli import main
from clip2point.datasets.pointsets import PointSet
from clip2point.errors import ConfigError
from clip2point.eval.cli_common import settings_from_args
from clip2point.eval.fewshot import cli as fewshot_cli
from clip2point.eval.fewshot.run import check_adapter_flags
from clip2point.eval.settings import ViewSettings
from clip2point.eval.zeroshot import cli as zeroshot_cli
from clip2point.eval.zeroshot import classify
from clip2point.render.cameras import (CAMERA_SETS, get_view_preset, look_at_view_transform, roll_matrix,
                                       view_counts)
from clip2point.render.depth import available_depth_presets, depth_to_image, project_depth
from clip2point.train.config import TrainConfig
from clip2point.train.encoding import depth_views_to_clip_input


def ball(n: int = 1024, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    points = torch.randn(1, n, 3, generator=gen) * torch.tensor([0.5, 0.3, 0.2])
    points = points - points.mean(dim=1, keepdim=True)  # centred, max norm 1: as evaluation prepares clouds
    return points / points.norm(dim=-1).max()


def own_cameras(num_views: int, preset: str) -> dict[str, torch.Tensor]:
    views = get_view_preset(num_views, preset)
    elev, azim, dist = views.tensors()
    return {"elev": elev, "azim": azim, "dist": dist, **views.orientation()}


def test_every_depth_preset_owns_camera_sets_and_views_choices_come_from_them() -> None:
    assert set(CAMERA_SETS) == set(available_depth_presets())
    assert view_counts() == (6, 10)
    assert [view_counts(p) for p in ("clip2point", "pointclip", "pointclip-fewshot", "pointclip-v2")] == [
        (10, 6), (6,), (10,), (10,)]
    assert get_view_preset(10) is get_view_preset(10, "clip2point")  # CLIP2Point's stay the default
    with pytest.raises(ConfigError, match=r"no view preset with 6 views; choose one of \[10\] "
                                          r"\(the camera sets of depth preset 'pointclip-v2'\)"):
        get_view_preset(6, "pointclip-v2")


def test_roll_and_mirror_compose_onto_the_look_at() -> None:
    elev, azim = torch.tensor([20.0, -30.0]), torch.tensor([45.0, 54.7])
    plain, t_plain = look_at_view_transform(1.0, elev, azim)
    roll, mirror = torch.tensor([180.0, -35.0]), torch.tensor([False, True])
    R, T = look_at_view_transform(1.0, elev, azim, roll=roll, mirror=mirror)
    expected = plain @ roll_matrix(roll) @ torch.diag_embed(torch.tensor([[1.0, 1, 1], [-1.0, 1, 1]]))
    torch.testing.assert_close(R, expected, atol=1e-7, rtol=0)
    torch.testing.assert_close(torch.linalg.det(R), torch.tensor([1.0, -1.0]))
    torch.testing.assert_close(T, t_plain)  # same centre: the camera only turns / mirrors about its axis
    c = math.cos(math.radians(-35.0))
    assert abs(float(roll_matrix(torch.tensor(-35.0))[0, 0]) - c) < 1e-7
    # CLIP2Point's cameras (no roll, no mirror) are bit for bit the plain look-at
    zeros = look_at_view_transform(1.0, elev, azim, roll=torch.zeros(2), mirror=torch.zeros(2, dtype=torch.bool))[0]
    assert torch.equal(zeros, plain)


def test_pointclip_unmirrored_is_the_mirror_image_one_column_over() -> None:
    """Only the mirror flag differs; the asymmetric ceil(v − 0.5) rounding shifts the flipped
    picture by one column (issue: left-right mirror plus a 1-pixel shift)."""
    points = ball()
    mirrored = project_depth(points, **own_cameras(6, "pointclip"), preset="pointclip").depth
    ordinary = project_depth(points, **own_cameras(6, "pointclip-unmirrored"), preset="pointclip-unmirrored").depth
    assert not torch.equal(mirrored, ordinary)
    torch.testing.assert_close(ordinary.flip(-1)[..., :-1], mirrored[..., 1:], atol=1e-6, rtol=1e-6)
    assert get_view_preset(6, "pointclip-unmirrored").elev == get_view_preset(6, "pointclip").elev


def test_project_cli_uses_the_presets_own_cameras(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "ball.npy"
    np.save(src, ball()[0].numpy())
    assert main(["project", str(src), "--out", str(tmp_path / "pc"), "--preset", "pointclip"]) == 0
    with np.load(tmp_path / "pc.npz") as data:
        assert data["image"].shape == (1, 6, 224, 224) and data["mirror"].all()
        np.testing.assert_array_equal(data["azim"], get_view_preset(6, "pointclip").azim)
        maps = project_depth(torch.from_numpy(data["points"]), **own_cameras(6, "pointclip"), preset="pointclip")
        np.testing.assert_array_equal(data["image"], depth_to_image(maps, "pointclip").numpy())
    assert main(["project", str(src), "--out", str(tmp_path / "v2"), "--preset", "pointclip-v2"]) == 0
    with np.load(tmp_path / "v2.npz") as data:
        assert data["roll"].tolist() == [0.0] * 9 + [180.0] and data["elev"][0] == 20.0
    capsys.readouterr()
    assert main(["project", str(src), "--out", str(tmp_path / "bad"), "--preset", "pointclip-v2", "--views", "6"]) == 2
    assert "--views 6 with --preset pointclip-v2: no view preset with 6 views" in capsys.readouterr().err


def parse(module, *extra: str) -> argparse.Namespace:  # type: ignore[no-untyped-def]
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return parser.parse_args(["--dataset", "modelnet40", "--data", "x", "--device", "cpu", *extra])


def test_evaluation_picks_each_presets_own_views() -> None:
    def views(module, *extra: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
        args = parse(module, *extra)
        if module is fewshot_cli:  # as fewshot's run() does: defaults filled in, then its settings
            settings = fewshot_cli._config(fewshot_cli._split_given(args)[0]).views
        else:
            settings = settings_from_args(args)[2]
        return settings.num_views, settings.preset

    assert views(zeroshot_cli) == (6, "clip2point") and views(fewshot_cli) == (10, "clip2point")
    assert views(zeroshot_cli, "--preset", "pointclip") == (6, "pointclip")
    assert views(zeroshot_cli, "--preset", "pointclip-v2") == (10, "pointclip-v2")
    # few-shot with PointCLIP's setting is PointCLIP's few-shot projection (mv_utils_fs)
    assert views(fewshot_cli, "--preset", "pointclip") == (10, "pointclip-fewshot")
    with pytest.raises(ConfigError, match="--views 6 with --preset pointclip-v2"):
        ViewSettings(num_views=6, preset="pointclip-v2")
    with pytest.raises(ConfigError, match="--views 10 with --preset pointclip"):
        settings_from_args(parse(zeroshot_cli, "--preset", "pointclip", "--views", "10"))
    # a saved adapter trained with --preset pointclip recorded what training used
    check_adapter_flags(Path("a.pt"), {"preset": "pointclip-fewshot"}, {"preset": "pointclip"})


class CornerEncoder(nn.Module):
    """Features a mirror changes: the mean of the left and of the right half of the picture."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        w = images.shape[-1] // 2
        return torch.stack([images[:, 0, :, :w].mean((1, 2)), images[:, 0, :, w:].mean((1, 2))], 1) + 1.0


def test_zero_shot_features_come_from_the_presets_own_cameras() -> None:
    points = ball(256, seed=1)
    ps = PointSet("t", "test", points.numpy(), np.array([0]), ("a", "b"), ("o",), frame="y-up")
    texts = F.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), dim=-1)
    logits = classify(CornerEncoder(), "corners", ps, texts, ViewSettings(num_views=6, preset="pointclip"))
    image = depth_views_to_clip_input(points, **own_cameras(6, "pointclip"), preset="pointclip")
    feats = F.normalize(CornerEncoder()(image[0]), dim=-1)
    torch.testing.assert_close(logits[0], (feats @ texts.T).sum(0), atol=1e-5, rtol=1e-5)
    ordinary = classify(CornerEncoder(), "corners", ps, texts, ViewSettings(num_views=6, preset="pointclip-unmirrored"))
    assert not torch.allclose(logits, ordinary, atol=1e-4)


def test_pretraining_validation_checks_the_presets_view_count(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--val-views 6 with depth preset pointclip-v2"):
        TrainConfig.from_flat(shards="s", out="o", depth_preset="pointclip-v2", val_views=6, modelnet40=str(tmp_path))
    TrainConfig.from_flat(shards="s", out="o", depth_preset="pointclip-v2", val_views=10, modelnet40=str(tmp_path))
