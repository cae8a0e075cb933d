"""Zero-shot classification (SPEC §6): prompts, ModelNet rotation, view-summed cosine logits,
determinism with the tiny model, the CLI's outputs and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from clip2point.cli import main
from clip2point.datasets.pointsets import PointSet
from clip2point.errors import PathError
from clip2point.eval.encoders import Encoders, text_features
from clip2point.eval.features import FeatureStore, prepare_points
from clip2point.eval.settings import DataSettings, EncoderSettings, ViewSettings
from clip2point.datasets.prompts import prompt_class_names
from clip2point.eval.zeroshot import ZeroShotConfig, classify, run_zeroshot
from clip2point.render.cameras import get_view_preset
from clip2point.render.depth import project_depth
from clip2point.train.encoding import depth_views_to_clip_input, view_summed_logits
from clip2point.train.models import ClipBundle
from pointset_fixtures import make_off_folder, shape_clouds

# ModelNet -> ShapeNet for row vectors, worked by hand from R_x(π/2)·R_y(−π/2):
# x -> -z, y -> -x, z -> +y (z-up becomes y-up).
HAND_ALIGN = np.array([[0, 0, -1], [-1, 0, 0], [0, 1, 0]], dtype=np.float32)


def pointset(points: np.ndarray, labels: list[int], frame: str, names: tuple[str, ...] = ("a", "b")) -> PointSet:
    return PointSet("test", "test", points, np.array(labels), names,
                    tuple(f"obj{i}" for i in range(len(points))), frame=frame)


def test_view_summed_logits_hand_case() -> None:
    views = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[0.6, 0.8], [0.6, 0.8]]])  # [B=2,V=2,D=2]
    texts = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, -1.0]])
    expected = torch.tensor([[1.0 + 0.0, 0.6 + 0.8, 0.0 - 1.0], [1.2, 2.0, -1.6]])
    torch.testing.assert_close(view_summed_logits(views, texts), expected)


class RecordingTokenizer:
    def __init__(self) -> None:
        self.prompts: list[str] = []

    def __call__(self, prompts: list[str]) -> torch.Tensor:
        self.prompts.extend(prompts)
        return torch.arange(len(prompts))[:, None]


class TableText(nn.Module):
    """encode_text returns row ``token`` of a fixed table (unnormalised)."""

    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.tensor([[3.0, 4.0], [0.0, 2.0]]))

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.table[tokens[:, 0]]


def test_prompts_use_spaces_and_features_are_normalised() -> None:
    """The "project" prompt set spaces every underscore; the reference's (the default) spells names
    as CLIP2Point does: ModelNet40 "flower pot" but ModelNet10 "night_stand"."""
    tokenizer = RecordingTokenizer()
    bundle = ClipBundle(TableText(), tokenizer, 2, "fake", None)
    encoders = Encoders(bundle, {}, {}, "fake")
    names = prompt_class_names("modelnet40", ["night_stand", "flower_pot"], "project")
    feats = text_features(encoders, names, "image of a {}")
    assert tokenizer.prompts == ["image of a night stand", "image of a flower pot"]
    assert prompt_class_names("modelnet10", ["night_stand"]) == ("night_stand",)
    assert prompt_class_names("modelnet40", ["night_stand", "flower_pot"]) == ("night stand", "flower pot")
    torch.testing.assert_close(feats, torch.tensor([[0.6, 0.8], [0.0, 1.0]]))


def test_modelnet_points_are_rotated_into_shapenet_frame() -> None:
    cloud = np.array([[[0, 0, 2], [0, 0, -2], [2, 0, 0], [-2, 0, 0], [0, 1, 0], [0, -1, 0]]], np.float32)
    aligned = prepare_points(pointset(cloud, [0], "z-up")).numpy()
    np.testing.assert_allclose(aligned[0], (cloud[0] / 2) @ HAND_ALIGN, atol=1e-6)
    np.testing.assert_allclose(aligned[0, 0], [0, 1, 0], atol=1e-6)  # ModelNet's top is ShapeNet's top
    # y-up sources (ScanObjectNN, h5 ModelNet, shards) are only normalised
    np.testing.assert_allclose(prepare_points(pointset(cloud, [0], "y-up")).numpy()[0], cloud[0] / 2, atol=1e-6)
    forced = prepare_points(pointset(cloud, [0], "y-up"), align="yes").numpy()
    np.testing.assert_allclose(forced, aligned, atol=1e-6)


def test_an_upright_modelnet_rod_stands_up_in_the_side_views() -> None:
    rng = np.random.default_rng(0)
    rod = np.stack([0.05 * rng.standard_normal(1024), 0.05 * rng.standard_normal(1024), rng.uniform(-1, 1, 1024)], 1)
    points = prepare_points(pointset(rod[None].astype(np.float32), [0], "z-up"))
    elev, azim, dist = get_view_preset(6).tensors()
    mask = project_depth(points, elev, azim, dist).mask[0].numpy()  # [6,H,W]
    extent = [(np.ptp(np.flatnonzero(m.any(1))), np.ptp(np.flatnonzero(m.any(0)))) for m in mask]  # (rows, cols)
    for v in range(4):  # the four side views around the up axis
        assert extent[v][0] > 5 * extent[v][1], f"view {v}: the rod is not vertical ({extent[v]})"
    for v in (4, 5):  # looking down / up the rod: a blob much smaller than the rod's length
        assert max(extent[v]) < 0.3 * extent[0][0], f"view {v}: {extent[v]}"



class QuadrantEncoder(nn.Module):
    """A fake visual tower whose features we can compute by hand: mean of each image quadrant."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        h, w = images.shape[-2] // 2, images.shape[-1] // 2
        x = images[:, 0]
        return torch.stack([x[:, :h, :w].mean((1, 2)), x[:, :h, w:].mean((1, 2)),
                            x[:, h:, :w].mean((1, 2)), x[:, h:, w:].mean((1, 2))], 1) + 3.0


def test_classify_matches_a_view_by_view_reference() -> None:
    clouds, _ = shape_clouds(1, n=256, seed=3, shapes=("rod", "disc", "box"))
    ps = pointset(clouds * 5.0 + 1.0, [0, 1, 1], "z-up")  # off-centre, oversized: must be normalised
    texts = F.normalize(torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]]), dim=-1)
    encoder = QuadrantEncoder()
    views = ViewSettings(num_views=6, batch_size=2)
    logits = classify(encoder, "quadrants", ps, texts, views)
    assert logits.shape == (3, 2)

    expected = torch.zeros(3, 2)
    elev, azim, dist = get_view_preset(6).tensors()
    for i, cloud in enumerate(clouds * 5.0 + 1.0):
        centred = cloud - cloud.mean(0)
        hand = torch.from_numpy((centred / np.linalg.norm(centred, axis=1).max()) @ HAND_ALIGN)[None]
        for v in range(6):
            image = depth_views_to_clip_input(hand, elev[v:v + 1], azim[v:v + 1], dist[v:v + 1])[0]
            feat = F.normalize(encoder(image), dim=-1)[0]
            expected[i] += texts @ feat
    torch.testing.assert_close(logits, expected, atol=1e-4, rtol=1e-4)


def test_feature_store_computes_once_per_content() -> None:
    clouds, _ = shape_clouds(1, n=128, seed=4, shapes=("sphere", "rod"))
    ps = pointset(clouds, [0, 1], "y-up")
    texts = torch.eye(4)[:2]
    store = FeatureStore()
    first = classify(QuadrantEncoder(), "q", ps, texts, ViewSettings(), store=store)
    second = classify(QuadrantEncoder(), "q", ps, texts, ViewSettings(), store=store)
    assert (store.misses, store.hits) == (1, 1)
    torch.testing.assert_close(first, second)
    classify(QuadrantEncoder(), "q", ps.subset([1]), texts, ViewSettings(), store=store)
    assert store.misses == 2  # other clouds, other key


@pytest.fixture(scope="module")
def tiny_modelnet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_off_folder(tmp_path_factory.mktemp("zs") / "ModelNet40", ("bed", "night_stand"), per_split=2)


def test_tiny_model_zero_shot_is_deterministic(tiny_modelnet: Path, tmp_path: Path) -> None:
    config = ZeroShotConfig(DataSettings("modelnet40", tiny_modelnet, num_points=256, cache_dir=tmp_path),
                            EncoderSettings("c2p-tiny"), ViewSettings(num_views=6))
    first = run_zeroshot(config)
    second = run_zeroshot(config)
    assert first.logits.shape == (4, 40) and first.report.count == 4  # ModelNet40's 40 classes, 2 with objects
    np.testing.assert_array_equal(first.logits, second.logits)
    assert first.path == "clip"
    assert np.abs(first.logits).max() <= 6.0 + 1e-5  # a sum of 6 cosines
    totals = dict(zip(first.report.class_names, first.report.confusion.sum(1)))
    assert totals["bed"] == totals["night_stand"] == 2 and sum(totals.values()) == 4


def test_cli_writes_json_and_confusion_png(tiny_modelnet: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "r" / "zs.json"
    rc = main(["zeroshot", "--dataset", "modelnet40", "--data", str(tiny_modelnet), "--model", "c2p-tiny",
               "--num-points", "256", "--device", "cpu", "--out", str(out)])
    assert rc == 0
    result = json.loads(out.read_text())
    assert set(result) >= {"accuracy", "per_class", "count", "config", "code_version", "confusion"}
    assert result["count"] == 4 and len(result["per_class"]) == 40
    assert set(result["per_class"]) - set(result["classes_without_objects"]) == {"bed", "night_stand"}
    assert result["config"]["views"]["num_views"] == 6 and result["config"]["prompt"] == "image of a {}"
    assert result["fidelity"] == {"faithful": True, "departures": [], "choices": {
        "prompts": "reference", "template": "image of a {}", "precision": "fp32"}}
    assert np.trace(result["confusion"]) / 4 * 100 == pytest.approx(result["accuracy"])
    assert out.with_suffix(".png").stat().st_size > 1000
    assert "accuracy" in capsys.readouterr().out


def test_cli_errors_name_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = main(["zeroshot", "--dataset", "modelnet40", "--data", str(tmp_path / "missing"), "--model", "c2p-tiny",
               "--out", str(tmp_path / "x.json")])
    assert rc == 2
    assert f"{tmp_path / 'missing'}: modelnet40 data not found" in capsys.readouterr().err
    rc = main(["zeroshot", "--dataset", "modelnet40", "--data", str(tmp_path), "--ckpt", str(tmp_path / "no.pt")])
    assert rc == 2
    assert "no.pt does not exist; pass RUN/checkpoints/best.pt" in capsys.readouterr().err
    rc = main(["zeroshot", "--dataset", "modelnet40", "--data", str(tmp_path), "--ckpt", str(tmp_path)])
    assert rc == 2 and "is a folder, not a checkpoint file; pass RUN/checkpoints/best.pt" in capsys.readouterr().err
    rc = main(["zeroshot", "--dataset", "modelnet40", "--data", str(tmp_path), "--preset", "nope"])
    assert rc == 2
    assert "unknown depth preset 'nope'" in capsys.readouterr().err


def test_shard_test_split_is_a_dataset(tmp_path: Path) -> None:
    from train_support import CLASS_NAMES, write_random_shards

    from clip2point.datasets.pointsets import PointSetOptions, load_pointset

    root = write_random_shards(tmp_path / "shards", train=4, test=5, num_points=96)
    ps = load_pointset("shards", root, "test", PointSetOptions(num_points=64, seed=1))
    assert ps.points.shape == (5, 64, 3) and ps.class_names == tuple(CLASS_NAMES) and ps.frame == "y-up"
    np.testing.assert_array_equal(ps.labels, [k % 3 for k in range(4, 9)])
    again = load_pointset("shards", root, "test", PointSetOptions(num_points=64, seed=1))
    np.testing.assert_array_equal(ps.points, again.points)
    from clip2point.datasets.torch_dataset import ShardDataset

    stored = ShardDataset(root, split="test", view=0, fields=("points",))[0]["points"].numpy()
    assert {tuple(p) for p in ps.points[0]} <= {tuple(p) for p in stored}  # a subset of the stored cloud
    with pytest.raises(PathError, match="fewer than num_points=1024"):
        load_pointset("shards", root, "test", PointSetOptions(num_points=1024))


# ---------------------------------------------------------------------------- bad input


def test_out_folder_fails_before_the_evaluation_and_leaves_nothing(tiny_modelnet: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the evaluation ran before --out was checked")

    monkeypatch.setattr("clip2point.eval.zeroshot.cli.run_zeroshot", never)
    (tmp_path / "zs").mkdir()
    rc = main(["zeroshot", "--dataset", "modelnet40", "--data", str(tiny_modelnet), "--model", "c2p-tiny",
               "--device", "cpu", "--out", str(tmp_path / "zs")])
    assert rc == 2
    assert f"{tmp_path / 'zs'}: is a folder; --out takes the result file name" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["zs"]  # no stray temporary file or PNG


def test_a_failed_result_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    from clip2point.eval.report import write_result_json

    (tmp_path / "taken").mkdir()
    with pytest.raises(OSError):
        write_result_json(tmp_path / "taken", {"accuracy": 1.0})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


@pytest.mark.parametrize(("flags", "message"), [
    (["--image-size", "100000"], "--image-size must be an integer in [8, 4096]; got 100000 (pixels per side)"),
    (["--prompt", "{}{}"], "prompt template '{}{}' must hold exactly one '{}'"),
    (["--device", "banana"], "--device 'banana' is not a device name; use cpu, cuda or cuda:N"),
    (["--prompt", "a {name}"], "prompt template 'a {name}' must hold exactly one '{}'"),
    (["--prompt", "a {"], "prompt template 'a {' is malformed"),
    (["--pretrained", "openai", "--ckpt", "CKPT"], "cannot be used with --ckpt CKPT: a checkpoint records its own "
                                                   "base CLIP weights and uses those; leave --pretrained out"),
])
def test_bad_flags_are_one_clear_error(tiny_modelnet: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                       flags: list[str], message: str) -> None:
    ckpt = tmp_path / "ckpt.pt"
    ckpt.write_bytes(b"any file")
    flags = [str(ckpt) if f == "CKPT" else f for f in flags]
    rc = main(["zeroshot", "--dataset", "modelnet40", "--data", str(tiny_modelnet), "--model", "c2p-tiny",
               "--num-points", "256", "--device", "cpu", "--out", str(tmp_path / "zs.json"), *flags])
    assert rc == 2
    assert message.replace("CKPT", str(ckpt)) in capsys.readouterr().err
    assert not (tmp_path / "zs.json").exists()


def test_corrupt_feature_cache_is_named_and_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    clouds, _ = shape_clouds(1, n=128, seed=4, shapes=("sphere", "rod"))
    ps, texts = pointset(clouds, [0, 1], "y-up"), torch.eye(4)[:2]
    first = classify(QuadrantEncoder(), "q", ps, texts, ViewSettings(), store=FeatureStore(tmp_path))
    (entry,) = tmp_path.glob("features-*.npz")
    entry.write_bytes(b"PK\x03\x04 garbage")
    with caplog.at_level(logging.WARNING):
        again = classify(QuadrantEncoder(), "q", ps, texts, ViewSettings(), store=FeatureStore(tmp_path))
    torch.testing.assert_close(again, first)
    assert f"{entry}: unreadable cache entry" in caplog.text
    store = FeatureStore(tmp_path)
    classify(QuadrantEncoder(), "q", ps, texts, ViewSettings(), store=store)
    assert (store.hits, store.misses) == (1, 0)  # the rebuilt entry is read back
