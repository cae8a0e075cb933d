"""Prompt ensembles (``zeroshot --templates``): the shipped sets and their sources, user files,
the renormalised mean over templates, text features encoded once per (templates, names,
weights) through the FeatureStore, and the result's record and fidelity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from clip2point.cli import main
from clip2point.datasets.prompt_templates import resolve_templates, shipped_template_sets, single_template
from clip2point.datasets.prompts import reference_template
from clip2point.errors import ConfigError
from clip2point.eval.encoders import Encoders, text_features
from clip2point.eval.features import FeatureStore
from clip2point.train.models import ClipBundle
from pointset_fixtures import make_off_folder

PROMPT_ROWS = {"a cat": 0, "a dog": 1, "the cat!": 2, "the dog!": 3}


class TableTokenizer:
    """Each known prompt is one token: its row of ``TableText``; counts what it was asked."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, prompts: list[str]) -> torch.Tensor:
        self.calls += 1
        return torch.tensor([[PROMPT_ROWS[p]] for p in prompts])


class TableText(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.tensor([[3.0, 4.0], [0.0, 2.0], [0.0, 5.0], [1.0, 0.0]]))

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.table[tokens[:, 0]]


def table_encoders(text_id: str = "table") -> tuple[Encoders, TableTokenizer]:
    tokenizer = TableTokenizer()
    return Encoders(ClipBundle(TableText(), tokenizer, 2, "fake", None), {}, {}, "fake", text_id), tokenizer


def test_ensemble_is_the_renormalised_mean_of_normalised_features() -> None:
    encoders, _ = table_encoders()
    feats = text_features(encoders, ["cat", "dog"], ["a {}", "the {}!"])
    cat = F.normalize(torch.tensor([0.6, 0.8]) + torch.tensor([0.0, 1.0]), dim=0)  # rows 0 and 2, normalised
    dog = F.normalize(torch.tensor([0.0, 1.0]) + torch.tensor([1.0, 0.0]), dim=0)  # rows 1 and 3
    torch.testing.assert_close(feats, torch.stack([cat, dog]))
    torch.testing.assert_close(text_features(encoders, ["cat"], ["a {}"]), torch.tensor([[0.6, 0.8]]))


def test_text_features_are_encoded_once_per_key(tmp_path: Path) -> None:
    encoders, tokenizer = table_encoders()
    store = FeatureStore(tmp_path)
    first = text_features(encoders, ["cat", "dog"], ["a {}", "the {}!"], store)
    again = text_features(encoders, ["cat", "dog"], ["a {}", "the {}!"], store)
    assert tokenizer.calls == 2 and (store.misses, store.hits) == (1, 1)  # one call per template, once
    torch.testing.assert_close(first, again)
    later = FeatureStore(tmp_path)  # a later run: read from the cache folder
    torch.testing.assert_close(text_features(encoders, ["cat", "dog"], ["a {}", "the {}!"], later), first)
    assert tokenizer.calls == 2 and later.hits == 1 and len(list(tmp_path.glob("text-features-*.npz"))) == 1
    text_features(encoders, ["cat", "dog"], ["a {}"], store)  # other templates: another key
    other_weights, _ = table_encoders("other")
    text_features(other_weights, ["cat", "dog"], ["a {}", "the {}!"], store)
    assert store.misses == 3


def test_shipped_sets_name_their_source_and_files_are_read(tmp_path: Path) -> None:
    sets = shipped_template_sets()
    assert sets["reference"].templates == (reference_template(),) == ("image of a {}",)
    assert sets["openshape-lvis"].templates == ("{}",) and "extract_lvis_feat.py" in sets["openshape-lvis"].source
    assert all(entry.source for entry in sets.values())
    assert single_template("image of a {}") is sets["reference"]
    assert single_template("a {}").name == "custom"
    (tmp_path / "t.json").write_text(json.dumps({"templates": ["a {}.", "the {}."], "source": "mine"}))
    (tmp_path / "t.txt").write_text("a {}.\n\nthe {}.\n")
    assert resolve_templates(str(tmp_path / "t.json")).record()["templates"] == ["a {}.", "the {}."]
    assert resolve_templates(str(tmp_path / "t.json")).source == "mine"
    assert resolve_templates(str(tmp_path / "t.txt")).templates == ("a {}.", "the {}.")
    (tmp_path / "bad.json").write_text(json.dumps(["a {}", "no field"]))
    with pytest.raises(ConfigError, match="'no field' must hold exactly one"):
        resolve_templates(str(tmp_path / "bad.json"))
    with pytest.raises(ConfigError, match="neither a shipped set"):
        resolve_templates("ulip-modelnet40")


def test_a_named_list_of_a_ulip_style_file_is_read_with_file_colon_key(tmp_path: Path) -> None:
    """ULIP's data/templates.json holds several named lists; ``FILE:KEY`` picks one, the record
    names the list, and a file of several lists without a key is refused naming them."""
    ulip = tmp_path / "templates.json"
    ulip.write_text(json.dumps({"modelnet40_64": ["a point cloud model of {}.", "There is a {} in the scene."],
                                "shapenet_64": ["a 3D model of {}."]}))
    picked = resolve_templates(f"{ulip}:modelnet40_64")
    assert picked.templates == ("a point cloud model of {}.", "There is a {} in the scene.")
    assert picked.name == f"{ulip}:modelnet40_64" and "'modelnet40_64'" in picked.source
    assert picked.record()["templates"] == list(picked.templates)
    with pytest.raises(ConfigError, match=r"several named lists \(modelnet40_64, shapenet_64\).*:NAME"):
        resolve_templates(str(ulip))
    with pytest.raises(ConfigError, match=r"no list named 'scanobjectnn_64' \(its names: modelnet40_64, shapenet_64\)"):
        resolve_templates(f"{ulip}:scanobjectnn_64")
    (tmp_path / "one.json").write_text(json.dumps(["a {}."]))
    with pytest.raises(ConfigError, match="it holds one list"):
        resolve_templates(f"{tmp_path / 'one.json'}:modelnet40_64")
    with pytest.raises(ConfigError, match="neither a shipped set"):
        resolve_templates(f"{tmp_path / 'absent.json'}:modelnet40_64")


def test_clip_imagenet_ensembles_come_from_the_installed_open_clip() -> None:
    """The 80- and 7-template sets are open_clip's own functions called with ``{}``, not a copy."""
    from open_clip import zero_shot_metadata

    eighty, seven = resolve_templates("clip-imagenet-80"), resolve_templates("clip-imagenet-7")
    assert len(eighty.templates) == 80 and len(seven.templates) == 7
    assert [t.format("dog") for t in eighty.templates] == [f("dog") for f in zero_shot_metadata.OPENAI_IMAGENET_TEMPLATES]
    assert [t.format("dog") for t in seven.templates] == [f("dog") for f in zero_shot_metadata.SIMPLE_IMAGENET_TEMPLATES]
    assert "open_clip" in eighty.source and "OPENAI_IMAGENET_TEMPLATES" in eighty.source
    assert set(shipped_template_sets()) >= {"reference", "openshape-lvis", "clip-imagenet-80", "clip-imagenet-7"}


@pytest.fixture(scope="module")
def tiny_modelnet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_off_folder(tmp_path_factory.mktemp("tpl") / "ModelNet40", ("bed", "sofa"), per_split=1)


def test_cli_records_templates_and_marks_an_ensemble_a_departure(tiny_modelnet: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture) -> None:
    common = ["zeroshot", "--dataset", "modelnet40", "--data", str(tiny_modelnet), "--model", "c2p-tiny",
              "--num-points", "128", "--device", "cpu", "--sampler", "trimesh"]
    (tmp_path / "mine.json").write_text(json.dumps(["a point cloud of a {}.", "a 3D model of {}."]))
    assert main([*common, "--templates", str(tmp_path / "mine.json"), "--out", str(tmp_path / "e.json")]) == 0
    ensemble = json.loads((tmp_path / "e.json").read_text())
    assert ensemble["templates"]["templates"] == ["a point cloud of a {}.", "a 3D model of {}."]
    assert ensemble["fidelity"]["departures"] == ["template"]
    assert ensemble["fidelity"]["choices"]["template"] == ["a point cloud of a {}.", "a 3D model of {}."]
    assert main([*common, "--templates", "reference", "--out", str(tmp_path / "r.json")]) == 0
    reference = json.loads((tmp_path / "r.json").read_text())
    assert reference["fidelity"]["faithful"] and reference["templates"]["name"] == "reference"
    assert main([*common, "--prompt", "a {}", "--templates", "reference", "--out", str(tmp_path / "x.json")]) == 2
    assert "both set the prompt" in capsys.readouterr().err
