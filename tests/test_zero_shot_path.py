"""The one zero-shot scoring path (issue 12, users get 2): pre-training's validation and evaluation
prepare, project, encode and sum the same way, under one precision helper, so scores do not move
when meshes are scaled and moved; the prompts are the reference's own class lists."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from clip2point.datasets.pointsets import PointSet
from clip2point.datasets.prompts import REFERENCE_FILE, prompt_class_names, reference_template
from clip2point.datasets.scanobjectnn import SCANOBJECTNN_CLASSES
from clip2point.datasets.modelnet import MODELNET10_CLASSES
from clip2point.datasets.taxonomy import CLASS_NAMES as SHAPENET_NAMES
from clip2point.eval.settings import ViewSettings
from clip2point.eval.zeroshot import classify
from clip2point.train import encoding, validation
from clip2point.train.config import TrainConfig
from clip2point.train.models import create_clip
from clip2point.train.precision import Compute

sys.path.insert(0, str(Path(__file__).parent))
from pointset_fixtures import shape_clouds  # noqa: E402
from train_support import write_random_shards  # noqa: E402

CPU = torch.device("cpu")
NAMES = ("a", "b", "c", "d", "e")  # the five shapes of shape_clouds


@pytest.fixture(scope="module")
def tiny() -> torch.nn.Module:
    return create_clip("c2p-tiny-64", None).model.visual.eval()


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    clouds, labels = shape_clouds(2, n=256)
    texts = F.normalize(torch.randn(len(NAMES), 64, generator=torch.Generator().manual_seed(0)), dim=-1)
    return torch.from_numpy(clouds).float(), torch.from_numpy(labels), texts


@pytest.mark.parametrize("align", [False, True])
def test_validation_and_evaluation_give_equal_scores_for_scaled_and_moved_meshes(tiny, data, align: bool) -> None:
    """The same set scaled ×25 and moved: equal logits and predictions in both callers (random
    weights are enough: any dependence on scale or offset would show in the logits)."""
    clouds, labels, texts = data
    moved = clouds * 25 + torch.tensor([4.0, -30.0, 12.5])
    frame = "z-up" if align else "y-up"
    logits = {}
    for name, points in (("unit", clouds), ("moved", moved)):
        ps = PointSet("test", "test", points.numpy(), labels.numpy(), NAMES,
                      tuple(f"o{i}" for i in range(len(points))), frame=frame)
        logits[f"eval-{name}"] = classify(tiny, "tiny", ps, texts, ViewSettings(num_views=10, batch_size=4))
        data_set = validation.ZeroShotSet("test", points, labels, NAMES, "shards", align)
        logits[f"val-{name}"] = encoding.zero_shot_logits(tiny, points, texts, 10, align=align, batch_size=4)
        preds = validation.zero_shot_predictions(tiny, data_set, texts, Compute(CPU, "fp32", 4), num_views=10)
        assert torch.equal(preds, logits[f"val-{name}"].argmax(dim=1))
    reference = logits["eval-unit"]
    assert reference.std() > 0
    for key, value in logits.items():
        torch.testing.assert_close(value, reference, atol=2e-4, rtol=0, msg=key)
        assert torch.equal(value.argmax(dim=1), reference.argmax(dim=1)), key


def test_training_and_evaluation_share_one_precision_helper(tiny, data, monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation and evaluation both run the encoder under ``train.precision.autocast`` with the
    precision they were given (evaluation had its own fp16-on-CUDA copy)."""
    clouds, labels, texts = data
    seen: list[str] = []
    real = encoding.autocast

    def recording(device: torch.device, precision: str):  # noqa: ANN202
        seen.append(precision)
        return real(device, precision)

    monkeypatch.setattr(encoding, "autocast", recording)
    ps = PointSet("test", "test", clouds[:2].numpy(), labels[:2].numpy(), NAMES, ("x", "y"))
    classify(tiny, "tiny", ps, texts, ViewSettings(num_views=6), precision="bf16")
    validation.zero_shot_predictions(tiny, validation.ZeroShotSet("t", clouds[:2], labels[:2], NAMES),
                                     texts, Compute(CPU, "fp32", 4), num_views=6)
    assert seen == ["bf16", "fp32"]
    from clip2point.eval import features

    assert not hasattr(features, "_autocast")


def test_packaged_reference_prompts_equal_the_reference_programs(shared_data: Path) -> None:
    """Users do not have ../shared: the lists ship with the package and equal the golden file."""
    golden = json.loads((shared_data / "golden" / "reference_prompts.json").read_text())
    packaged = json.loads(REFERENCE_FILE.read_text())
    assert reference_template() == golden["template"]["text"] == "image of a {}"
    for key in ("shapenet55_val", "modelnet40", "modelnet10", "scanobjectnn"):
        assert packaged[key]["classes"] == golden[key]["classes"], key
    cases = {"shards": (SHAPENET_NAMES, "shapenet55_val"),
             "modelnet40": (golden["modelnet40"]["label_names_underscored"], "modelnet40"),
             "modelnet10": (MODELNET10_CLASSES, "modelnet10"), "scanobjectnn": (SCANOBJECTNN_CLASSES, "scanobjectnn")}
    for dataset, (labels, key) in cases.items():
        names = prompt_class_names(dataset, labels)
        assert list(names) == golden[key]["classes"], dataset
        assert [reference_template().format(n) for n in names] == golden[key]["prompts"], dataset
    assert "night_stand" in prompt_class_names("modelnet10", MODELNET10_CLASSES)
    assert prompt_class_names("shards", ["trash bin", "cellphone"]) == ("ashcan", "cellular telephone")
    assert prompt_class_names("shards", ["trash bin"], "project") == ("trash bin",)  # the explicit option


def test_validation_prompts_and_views_are_the_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation asks the text tower for the reference's names and template, and uses 10 views."""
    shards = write_random_shards(tmp_path / "shards", train=2, test=3)
    cfg = TrainConfig.from_flat(shards=str(shards), out=str(tmp_path / "run"), model="c2p-tiny-64", val_shards=str(shards))
    assert cfg.validation.val_views == 10
    asked: list[tuple[tuple[str, ...], str]] = []
    monkeypatch.setattr(validation, "encode_prompts",
                        lambda bundle, names, template: asked.append((tuple(names), template)) or torch.zeros(3, 4))
    validation.Validator(cfg.validation, None, preset=cfg.data.depth_preset, device=CPU, precision="fp32",
                         image_size=64)._zero_shot_sets()  # type: ignore[arg-type]
    # the shards' labels airplane, chair (ShapeNet names) and night_stand (no reference prompt: its own)
    assert asked == [(("airplane", "chair", "night stand"), "image of a {}")]


def test_modelnet40_validation_scores_normalised_clouds(tiny, tmp_path: Path) -> None:
    """Item 8: ModelNet40 validation during pre-training gets raw coordinates (cubes of side 1 and
    2 here; real files reach thousands of units) and the scoring path normalises and rotates them."""
    from pointset_fixtures import make_off_folder  # noqa: PLC0415

    folder = make_off_folder(tmp_path / "ModelNet40", ("chair", "table"), per_split=2)
    data = validation.modelnet40_zero_shot_set(folder, 128)
    assert data.align and data.dataset == "modelnet40"
    radius = data.points.norm(dim=-1).amax(dim=-1)
    assert radius.max() > 1.5  # raw coordinates come in...
    prepared = encoding.prepare_points(data.points, align=data.align)
    torch.testing.assert_close(prepared.norm(dim=-1).amax(dim=-1), torch.ones(len(prepared)))  # ...unit ones go out
    texts = F.normalize(torch.randn(2, 64, generator=torch.Generator().manual_seed(1)), dim=-1)
    options = dict(num_views=10)
    big = validation.ZeroShotSet("big", data.points * 40 + 7, data.labels, data.class_names, "modelnet40", True)
    compute = Compute(CPU, "fp32", 4)
    assert torch.equal(validation.zero_shot_predictions(tiny, data, texts, compute, **options),
                       validation.zero_shot_predictions(tiny, big, texts, compute, **options))
    same = encoding.zero_shot_logits(tiny, data.points, texts, 10, align=True)
    torch.testing.assert_close(encoding.zero_shot_logits(tiny, big.points, texts, 10, align=True), same, atol=2e-4, rtol=0)
