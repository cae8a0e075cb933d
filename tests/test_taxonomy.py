"""ShapeNetCore v2 taxonomy: the 55 ids, ShapeNet-55 names, CLIP2Point's id-sorted labels."""

from __future__ import annotations

import re

import pytest

from clip2point.datasets.taxonomy import (
    CLASS_NAMES,
    SHAPENET_SYNSETS,
    SYNSET_IDS,
    synset_index,
    synset_name,
    synset_of,
)
from clip2point.errors import ConfigError


def test_55_unique_eight_digit_ids_sorted() -> None:
    assert len(SHAPENET_SYNSETS) == 55
    assert all(re.fullmatch(r"\d{8}", s) for s in SHAPENET_SYNSETS)
    assert list(SHAPENET_SYNSETS) == sorted(SHAPENET_SYNSETS)
    assert len(set(SHAPENET_SYNSETS.values())) == 55
    assert SYNSET_IDS == tuple(SHAPENET_SYNSETS) and CLASS_NAMES == tuple(SHAPENET_SYNSETS.values())


@pytest.mark.parametrize(
    ("synset", "name", "index"),
    [
        ("02691156", "airplane", 0),
        ("02747177", "trash bin", 1),
        ("02958343", "car", 16),
        ("03001627", "chair", 18),
        ("03337140", "file cabinet", 25),
        ("03636649", "lamp", 30),
        ("03761084", "microwaves", 35),
        ("03790512", "motorbike", 36),
        ("04256520", "sofa", 47),
        ("04379243", "table", 49),
        ("04530566", "watercraft", 53),
        ("04554684", "washer", 54),
    ],
)
def test_names_and_clip2point_labels(synset: str, name: str, index: int) -> None:
    """Names as ShapeNet-55's synset dict spells them; indices as CLIP2Point's cat_labels."""
    assert synset_name(synset) == name
    assert synset_index(synset) == index
    assert synset_of(name) == synset
    assert CLASS_NAMES[index] == name


def test_bicycle_is_not_a_shapenet55_class() -> None:
    """ShapeNetCore's 02834778 bicycle is absent from ShapeNet-55 (cellphone/clock are in)."""
    assert "02834778" not in SHAPENET_SYNSETS
    assert {"02992529", "03046257"} <= set(SHAPENET_SYNSETS)


def test_name_lookup_is_case_and_space_tolerant() -> None:
    assert synset_of("  Trash Bin ") == "02747177"


@pytest.mark.parametrize("bad", ["0300162", "99999999", "", "chair"])
def test_unknown_synset_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"unknown ShapeNetCore synset id .*03001627 for chair"):
        synset_name(bad)
    with pytest.raises(ConfigError, match="unknown ShapeNetCore synset id"):
        synset_index(bad)


def test_unknown_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown ShapeNet class name 'armchair'.*'trash bin'"):
        synset_of("armchair")
