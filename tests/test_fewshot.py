"""Few-shot Dual-Path Adapter (SPEC §7): the module against a written-out reference, checkpoint
round trips, learning on synthetic shapes with tiny-CLIP features, selection that never looks
at test labels, features computed once, and the CLI with ``--eval-only``."""

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
from clip2point.errors import CheckpointError, ConfigError
from clip2point.eval.adapter import AdapterConfig, DualPathAdapter, load_adapter, save_adapter
from clip2point.eval.encoders import Encoders, text_features
from clip2point.eval.features import FeatureStore, prepare_points
from clip2point.eval.fewshot import FewShotSettings, run_fewshot_on_features
from clip2point.eval.fewshot.run import FewShotConfig, run_fewshot
from clip2point.eval.settings import DataSettings, EncoderSettings, ViewSettings
from fewshot_fixtures import one_thread, perturbed, tiny  # noqa: F401  (fixtures shared with other few-shot tests)
from pointset_fixtures import SHAPES, make_shape_h5_folder, shape_clouds


def test_adapter_matches_the_written_out_spec() -> None:
    torch.manual_seed(0)
    adapter = DualPathAdapter(AdapterConfig(paths=("pretrained", "clip"), num_views=3, dim=8)).eval()
    for p in adapter.parameters():  # move away from the init so every term matters
        p.data.add_(0.1 * torch.randn_like(p))
    feats = {"pretrained": torch.randn(4, 3, 8), "clip": torch.randn(4, 3, 8)}

    def reference(path: str, x: torch.Tensor) -> torch.Tensor:
        a = adapter.adapters[path]
        x = x * a.fusion_ratio[None, :, None]
        bn1, lin1, bn2, lin2 = a.view_norm, a.head[2], a.head[3], a.head[6]
        x = (x - bn1.running_mean) / torch.sqrt(bn1.running_var + bn1.eps) * bn1.weight + bn1.bias
        x = x.reshape(4, 24) @ lin1.weight.t() + lin1.bias
        x = torch.relu((x - bn2.running_mean) / torch.sqrt(bn2.running_var + bn2.eps) * bn2.weight + bn2.bias)
        return x @ lin2.weight.t() + lin2.bias

    expected = F.normalize((reference("pretrained", feats["pretrained"]) + reference("clip", feats["clip"])) / 2, dim=-1)
    torch.testing.assert_close(adapter(feats), expected)
    texts = F.normalize(torch.randn(5, 8), dim=-1)
    torch.testing.assert_close(adapter.logits(feats, texts), expected @ texts.t())


def test_adapter_shape_and_init() -> None:
    adapter = DualPathAdapter(AdapterConfig(paths=("clip",), num_views=10, dim=512))
    a = adapter.adapters["clip"]
    torch.testing.assert_close(a.fusion_ratio.data, torch.full((10,), 0.5))
    assert (a.head[2].in_features, a.head[2].out_features) == (5120, 512)
    assert (a.head[6].in_features, a.head[6].out_features) == (512, 512)
    assert [m.p for m in a.head if isinstance(m, nn.Dropout)] == [0.075, 0.075]
    out = adapter({"clip": torch.randn(3, 10, 512)})
    torch.testing.assert_close(out.norm(dim=-1), torch.ones(3))
    with pytest.raises(ValueError, match="expected view features \\[B,10,512\\]; got \\(3, 6, 512\\)"):
        adapter({"clip": torch.randn(3, 6, 512)})
    with pytest.raises(ValueError, match="adapter paths \\['clip'\\] have no features"):
        adapter({"pretrained": torch.randn(3, 10, 512)})
    with pytest.raises(ConfigError, match="--paths must be one or more distinct values of pretrained, clip; got \\('clip', 'clip'\\)"):
        AdapterConfig(paths=("clip", "clip"))


def test_adapter_checkpoint_round_trip_and_errors(tmp_path: Path) -> None:
    adapter = DualPathAdapter(AdapterConfig(paths=("clip",), num_views=2, dim=4)).eval()
    path = save_adapter(tmp_path / "a.pt", adapter, {"seed": 3, "class_names": ["x", "y"]})
    loaded, meta = load_adapter(path)
    assert meta == {"seed": 3, "class_names": ["x", "y"]} and loaded.config == adapter.config
    x = {"clip": torch.randn(5, 2, 4)}
    torch.testing.assert_close(loaded(x), adapter(x))
    (tmp_path / "junk.pt").write_bytes(b"junk")  # 4 bytes: torch fails in struct, not pickle
    with pytest.raises(CheckpointError, match="junk.pt: unreadable adapter checkpoint: not a torch file"):
        load_adapter(tmp_path / "junk.pt")
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="other.pt: not a few-shot adapter checkpoint"):
        load_adapter(tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="none.pt: adapter checkpoint does not exist"):
        load_adapter(tmp_path / "none.pt")


# ---------------------------------------------------------------------------- learning


@pytest.fixture(scope="module")
def shape_features(tiny: Encoders) -> dict[str, object]:
    """Tiny-CLIP (random weights) 6-view features of 12 train / 6 test clouds per synthetic shape."""
    store = FeatureStore()
    out: dict[str, object] = {"texts": text_features(tiny, SHAPES, "image of a {}")}
    towers = {p: (tiny.visual[p], tiny.ids[p]) for p in ("clip", "pretrained")}
    for split, per_class, seed in (("train", 12, 1), ("test", 6, 2)):
        clouds, labels = shape_clouds(per_class, seed=seed)
        ps = PointSet("shapes", split, clouds, labels, SHAPES, tuple(map(str, range(len(labels)))))
        out[split] = (store.features(towers, prepare_points(ps), ViewSettings(num_views=6)), labels)
    return out


SETTINGS = dict(shots=8, seeds=(0, 1, 2), epochs=30, val_per_class=2, batch_size=4)


@pytest.mark.parametrize("paths", [("clip",), ("pretrained", "clip")])
def test_dpa_learns_synthetic_shapes_far_above_chance(shape_features: dict, paths: tuple[str, ...]) -> None:
    """5 classes (chance 20%), 8 shots, random-weight tiny CLIP features and prompts: every seed
    must reach 70% and the mean 80% (observed for the CLIP path: 93, 90, 90%)."""
    (train, train_labels), (test, test_labels) = shape_features["train"], shape_features["test"]
    result = run_fewshot_on_features(train, train_labels, test, test_labels, shape_features["texts"], SHAPES,
                                     FewShotSettings(paths=paths, **SETTINGS))
    assert [s.seed for s in result.seeds] == [0, 1, 2]
    assert min(result.accuracies) >= 70.0, result.accuracies
    assert result.mean >= 80.0, result.accuracies
    assert result.std == pytest.approx(np.std(result.accuracies, ddof=1))
    for seed in result.seeds:  # the kept epoch is the earliest best on validation
        vals = [h[2] for h in seed.history]
        assert seed.selected_epoch == int(np.argmax(vals)) + 1 and seed.val_accuracy == max(vals)


def test_selection_never_sees_test_labels(shape_features: dict) -> None:
    (train, train_labels), (test, test_labels) = shape_features["train"], shape_features["test"]
    settings = FewShotSettings(paths=("clip",), **{**SETTINGS, "seeds": (0,), "epochs": 8})
    a = run_fewshot_on_features(train, train_labels, test, test_labels, shape_features["texts"], SHAPES, settings)
    shuffled = np.random.default_rng(0).permutation(test_labels)
    b = run_fewshot_on_features(train, train_labels, test, shuffled, shape_features["texts"], SHAPES, settings)
    assert a.seeds[0].selected_epoch == b.seeds[0].selected_epoch
    for (k, va), vb in zip(a.seeds[0].adapter.state_dict().items(), b.seeds[0].adapter.state_dict().values()):
        torch.testing.assert_close(va, vb, msg=k)


def test_seeds_are_reproducible(shape_features: dict) -> None:
    (train, train_labels), (test, test_labels) = shape_features["train"], shape_features["test"]
    settings = FewShotSettings(paths=("clip",), **{**SETTINGS, "seeds": (5,), "epochs": 3})
    runs = [run_fewshot_on_features(train, train_labels, test, test_labels, shape_features["texts"], SHAPES, settings)
            for _ in range(2)]
    assert runs[0].seeds[0].history == runs[1].seeds[0].history
    np.testing.assert_array_equal(runs[0].seeds[0].report.confusion, runs[1].seeds[0].report.confusion)


class CountingTower(nn.Module):
    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner, self.images = inner, 0

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.images += len(images)
        return self.inner(images)


def test_features_are_computed_once_for_all_seeds_and_epochs(tiny: Encoders, tmp_path: Path) -> None:
    root = make_shape_h5_folder(tmp_path / "h5", train_per_class=5, test_per_class=2, points=256)
    counting = CountingTower(tiny.visual["clip"])
    encoders = Encoders(tiny.bundle, {"clip": counting}, {"clip": "counting"}, "c2p-tiny")
    config = FewShotConfig(DataSettings("modelnet40", root, num_points=256), EncoderSettings("c2p-tiny"),
                           ViewSettings(num_views=6), fewshot=FewShotSettings(
                               shots=2, seeds=(0, 1, 2), paths=("clip",), epochs=4, val_per_class=1, batch_size=4))
    result, _, test = run_fewshot(config, encoders=encoders)
    assert len(result.seeds) == 3 and len(test) == 10
    drawn = len({i for s in (0, 1, 2) for i in _drawn(np.repeat(np.arange(5), 5), s)})
    assert counting.images == (drawn + len(test)) * 6  # each needed object's 6 views encoded exactly once


def _drawn(labels: np.ndarray, seed: int) -> list[int]:
    from clip2point.eval.kshot import sample_kshot

    split = sample_kshot(labels, 2, seed=seed, val_per_class=1)
    return [*split.train, *split.val]


# ---------------------------------------------------------------------------- CLI


def test_cli_trains_saves_and_eval_only_reproduces(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = make_shape_h5_folder(tmp_path / "h5", train_per_class=6, test_per_class=3, points=256)
    out = tmp_path / "res" / "fs.json"
    common = ["--dataset", "modelnet40", "--data", str(root), "--model", "c2p-tiny", "--num-points", "256",
              "--views", "6", "--device", "cpu"]
    rc = main(["fewshot", *common, "--paths", "clip", "--shots", "3", "--seeds", "0,1", "--epochs", "6",
               "--val-per-class", "2", "--train-batch-size", "5", "--topk", "1,3", "--out", str(out)])
    assert rc == 0
    result = json.loads(out.read_text())
    for seed in result["seeds"]:  # top-1 is the accuracy; top-3 of 5 classes at least as high
        assert seed["top1"] == seed["accuracy"] and seed["accuracy"] <= seed["top3"] <= 100.0
    assert result["top3"] == pytest.approx(np.mean([s["top3"] for s in result["seeds"]])) and "top3_std" in result
    assert result["top1"] == pytest.approx(result["mean"]) and "top5" not in result
    assert set(result) >= {"mean", "std", "per_seed", "seeds", "config", "code_version", "adapters"}
    assert sorted(result["per_seed"]) == ["0", "1"]
    assert result["mean"] == pytest.approx(np.mean(list(result["per_seed"].values())))
    assert result["config"]["fewshot"]["paths"] == ["clip"] and result["count"] == 15
    adapter = out.parent / "fs-adapters" / "adapter-seed1.pt"
    assert [Path(p) for p in result["adapters"]] == [out.parent / "fs-adapters" / "adapter-seed0.pt", adapter]
    assert "± " in capsys.readouterr().out

    again = tmp_path / "res" / "eval.json"
    assert main(["fewshot", *common, "--eval-only", str(adapter), "--out", str(again)]) == 0
    evaluated = json.loads(again.read_text())
    assert evaluated["accuracy"] == pytest.approx(result["per_seed"]["1"]) == pytest.approx(evaluated["top1"])
    assert evaluated["top5"] == 100.0  # the default top-k: 5 classes

    model, meta = load_adapter(adapter)
    save_adapter(tmp_path / "foreign.pt", model, {**meta, "encoders": {"clip": "0" * 64}})
    assert main(["fewshot", *common, "--eval-only", str(tmp_path / "foreign.pt"), "--out", str(again)]) == 2
    assert "foreign.pt: was trained on features of other 'clip' encoder weights" in capsys.readouterr().err


def test_cli_refuses_the_pretrained_path_without_a_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = main(["fewshot", "--dataset", "modelnet40", "--data", str(tmp_path), "--model", "c2p-tiny"])
    assert rc == 2
    assert "paths pretrained+clip need the pre-trained depth encoder: pass --ckpt" in capsys.readouterr().err
    rc = main(["fewshot", "--dataset", "modelnet40", "--data", str(tmp_path), "--paths", "clip", "--seeds", "1,1"])
    assert rc == 2
    assert "--seeds must be one or more distinct integers; got (1, 1)" in capsys.readouterr().err


# ---------------------------------------------------------------------------- with a checkpoint


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pre-training checkpoint of c2p-tiny whose depth tower differs from CLIP's visual tower."""
    from clip2point.train.checkpoint import Checkpoint, Progress, write_checkpoint
    from clip2point.train.models import build_pretrain_model, create_clip, weights_hash
    from train_support import tiny_weights_file

    folder = tmp_path_factory.mktemp("ckpt")
    weights = tiny_weights_file(folder / "tiny.pt")
    bundle = create_clip("c2p-tiny", str(weights))
    model = build_pretrain_model(bundle)
    perturbed(model.depth_encoder, seed=2)
    ckpt = Checkpoint(config={"model": "c2p-tiny", "pretrained": str(weights)},
                      base_weights=weights_hash(bundle.model.visual), model=model.trainable_state_dict(),
                      progress=Progress())
    return write_checkpoint(folder / "best.pt", ckpt)


def test_checkpoint_drives_zero_shot_and_the_dual_path(tiny_checkpoint: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    root = make_shape_h5_folder(tmp_path / "h5", train_per_class=4, test_per_class=2, points=128)
    common = ["--dataset", "modelnet40", "--data", str(root), "--model", "c2p-tiny", "--num-points", "128",
              "--views", "6", "--device", "cpu", "--ckpt", str(tiny_checkpoint)]
    assert main(["zeroshot", *common, "--out", str(tmp_path / "zs.json")]) == 0
    zs = json.loads((tmp_path / "zs.json").read_text())
    assert zs["scored_by"] == "pretrained" and zs["count"] == 10
    assert main(["fewshot", *common, "--shots", "2", "--seeds", "0", "--epochs", "2", "--val-per-class", "1",
                 "--train-batch-size", "4", "--out", str(tmp_path / "fs.json")]) == 0
    fs = json.loads((tmp_path / "fs.json").read_text())
    assert fs["config"]["fewshot"]["paths"] == ["pretrained", "clip"]
    adapter, meta = load_adapter(fs["adapters"][0])
    assert set(meta["encoders"]) == {"pretrained", "clip"} and meta["encoders"]["pretrained"] != meta["encoders"]["clip"]
    capsys.readouterr()
    bad = [a if a != "c2p-tiny" else "ViT-B-32" for a in common]
    assert main(["zeroshot", *bad]) == 2
    assert "--model ViT-B-32 but" in capsys.readouterr().err


# ---------------------------------------------------------------------------- bad input to --eval-only and settings


@pytest.fixture
def adapter_on_partial_classes(tmp_path: Path) -> tuple[list[str], Path, Path]:
    """An adapter trained (6 views, default prompt) on a folder whose shape_names.txt also
    lists two classes without any objects, as our shards list all 55 ShapeNet names."""
    root = make_shape_h5_folder(tmp_path / "h5", train_per_class=3, test_per_class=2, points=128)
    with open(root / "shape_names.txt", "a") as fh:
        fh.write("lamp\nsofa\n")
    common = ["--dataset", "modelnet40", "--data", str(root), "--model", "c2p-tiny", "--num-points", "128",
              "--device", "cpu"]
    out = tmp_path / "fs.json"
    assert main(["fewshot", *common, "--views", "6", "--paths", "clip", "--shots", "2", "--seeds", "0",
                 "--epochs", "2", "--val-per-class", "0", "--train-batch-size", "4", "--out", str(out)]) == 0
    return common, tmp_path / "fs-adapters" / "adapter-seed0.pt", out


def test_eval_only_accepts_the_data_it_was_trained_on(adapter_on_partial_classes: tuple[list[str], Path, Path],
                                                      tmp_path: Path) -> None:
    common, adapter, trained = adapter_on_partial_classes
    out = tmp_path / "eval.json"
    assert main(["fewshot", *common, "--eval-only", str(adapter), "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["accuracy"] == pytest.approx(json.loads(trained.read_text())["per_seed"]["0"])
    assert result["class_names"] == list(SHAPES)
    # The result records what was used: the adapter's 6 views (not the CLI's default 10), its prompt, its paths.
    assert result["config"]["views"]["num_views"] == 6 and result["config"]["prompt"] == "image of a {}"
    assert result["config"]["paths"] == ["clip"] and "fewshot" not in result["config"]


def test_eval_only_refuses_another_class_set(adapter_on_partial_classes: tuple[list[str], Path, Path],
                                             tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    common, adapter, _ = adapter_on_partial_classes
    names = Path(common[common.index("--data") + 1]) / "shape_names.txt"
    names.write_text(names.read_text().replace("box", "crate"))
    assert main(["fewshot", *common, "--eval-only", str(adapter), "--out", str(tmp_path / "e.json")]) == 2
    assert "adapter-seed0.pt: was trained on 5 other classes than the 5 of" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "value", "trained"), [
    ("--views", "10", "6"), ("--preset", "pointclip", "clip2point"), ("--prompt", "a {}", "image of a {}"),
    ("--image-size", "64", "(the preset default)"), ("--templates", "clip-imagenet-7", "(none: its --prompt 'image of a {}')"),
])
def test_eval_only_refuses_view_and_prompt_flags_other_than_the_adapters(
        adapter_on_partial_classes: tuple[list[str], Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture,
        flag: str, value: str, trained: str) -> None:
    common, adapter, _ = adapter_on_partial_classes
    out = tmp_path / "e.json"
    assert main(["fewshot", *common, "--eval-only", str(adapter), flag, value, "--out", str(out)]) == 2
    assert (f"--eval-only {adapter}: {flag} {value} differs from the adapter's {flag} {trained}, which its weights "
            f"need; leave {flag} out") in capsys.readouterr().err
    assert not out.exists()


def test_eval_only_accepts_flags_equal_to_the_adapters(adapter_on_partial_classes: tuple[list[str], Path, Path],
                                                       tmp_path: Path) -> None:
    common, adapter, _ = adapter_on_partial_classes
    assert main(["fewshot", *common, "--eval-only", str(adapter), "--views", "6", "--preset", "clip2point",
                 "--prompt", "image of a {}", "--out", str(tmp_path / "e.json")]) == 0
    assert main(["fewshot", *common, "--eval-only", str(adapter), "--templates", "reference",
                 "--out", str(tmp_path / "r.json")]) == 0  # the reference set is the adapter's one prompt


def test_fewshot_trains_with_a_template_ensemble_and_eval_only_reuses_it(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    """``--templates`` reaches the text path; the adapter records the templates, ``--eval-only``
    scores with them (the same accuracy), and the result marks the ensemble a departure."""
    root = make_shape_h5_folder(tmp_path / "h5", train_per_class=3, test_per_class=2, points=128)
    (tmp_path / "mine.json").write_text(json.dumps(["a point cloud of a {}.", "a 3D model of {}."]))
    common = ["--dataset", "modelnet40", "--data", str(root), "--model", "c2p-tiny", "--num-points", "128",
              "--device", "cpu", "--views", "6"]
    out = tmp_path / "fs.json"
    assert main(["fewshot", *common, "--templates", str(tmp_path / "mine.json"), "--paths", "clip", "--shots", "2",
                 "--seeds", "0", "--epochs", "2", "--val-per-class", "0", "--train-batch-size", "4",
                 "--out", str(out)]) == 0
    trained = json.loads(out.read_text())
    assert trained["config"]["templates"]["templates"] == ["a point cloud of a {}.", "a 3D model of {}."]
    assert trained["fidelity"]["departures"] == ["template"]
    adapter = tmp_path / "fs-adapters" / "adapter-seed0.pt"
    again = tmp_path / "eval.json"
    assert main(["fewshot", *common, "--eval-only", str(adapter), "--out", str(again)]) == 0
    evaluated = json.loads(again.read_text())
    assert evaluated["accuracy"] == pytest.approx(trained["per_seed"]["0"])
    assert evaluated["config"]["templates"]["templates"] == trained["config"]["templates"]["templates"]
    assert evaluated["fidelity"]["departures"] == ["template"]
    assert main(["fewshot", *common, "--eval-only", str(adapter), "--templates", "reference",
                 "--out", str(tmp_path / "x.json")]) == 2
    assert f"--templates reference differs from the adapter's --templates {tmp_path / 'mine.json'}" in capsys.readouterr().err


@pytest.mark.parametrize(("field", "value", "message"), [
    ("lr", float("nan"), "--lr must be a finite number > 0; got nan"),
    ("lr", float("inf"), "--lr must be a finite number > 0; got inf"),
    ("lr", 0.0, "--lr must be a finite number > 0; got 0.0"),
    ("weight_decay", float("nan"), "--weight-decay must be a finite number >= 0; got nan"),
    ("val_per_class", -1, "--val-per-class must be an integer >= 0; got -1"),
])
def test_settings_refuse_non_finite_and_out_of_range_values(field: str, value: float, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        FewShotSettings(**{field: value})


def test_cli_refuses_lr_nan_before_reading_data(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = main(["fewshot", "--dataset", "modelnet40", "--data", str(tmp_path / "missing"), "--model", "c2p-tiny",
               "--paths", "clip", "--lr", "nan"])
    assert rc == 2
    assert "--lr must be a finite number > 0; got nan" in capsys.readouterr().err


@pytest.mark.parametrize("in_the_way", ["out_is_a_folder", "adapters_is_a_file"])
def test_outputs_are_checked_before_training(tmp_path: Path, capsys: pytest.CaptureFixture,
                                             monkeypatch: pytest.MonkeyPatch, in_the_way: str) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("training ran before the outputs were checked")

    monkeypatch.setattr("clip2point.eval.fewshot.cli.run_fewshot", never)
    out = tmp_path / "fs.json"
    blocked = out if in_the_way == "out_is_a_folder" else tmp_path / "fs-adapters"
    blocked.mkdir() if in_the_way == "out_is_a_folder" else blocked.write_text("in the way")
    rc = main(["fewshot", "--dataset", "modelnet40", "--data", str(tmp_path), "--model", "c2p-tiny", "--paths", "clip",
               "--out", str(out)])
    assert rc == 2
    err = capsys.readouterr().err
    expected = f"{blocked}: is a folder" if in_the_way == "out_is_a_folder" else f"{blocked} is a file, not a folder"
    assert expected in err
