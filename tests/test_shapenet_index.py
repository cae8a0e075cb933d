"""The ShapeNet index: split files, the paper's skip list, missing meshes, labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from clip2point.datasets import shapenet
from clip2point.datasets.shapenet import PAPER_SKIP_KEYS, build_shapenet_index, read_split_file, skip_key
from clip2point.datasets.taxonomy import SYNSET_IDS
from clip2point.errors import ConfigError

# Split lines whose reference key hits the drop list: UUID-style chair ids are cut at their first
# dash; the table and bin entries have an empty first model-id field.
SKIP_LINES = [
    "03001627-udf068a6b-e65b-430b-bc17-611b062e2e34", "03001627-u6028f63e-1a2b-4c3d-8e9f-000000000001",
    "03001627-uca24feec-1a2b-4c3d-8e9f-000000000002", "04379243--table-oddity", "02747177-",
    "03001627-u481ebf18-1a2b-4c3d-8e9f-000000000003", "03001627-u45c7b89f-d996-4c29-aecf-4b760d1fb2b6",
    "03001627-ub5d972a1-1a2b-4c3d-8e9f-000000000004", "03001627-u1e22cc04-1a2b-4c3d-8e9f-000000000005",
    "03001627-ue639c33f-1a2b-4c3d-8e9f-000000000006",
]


def _write_split(folder: Path, name: str, ids: list[str]) -> None:
    (folder / f"{name}.txt").write_text("".join(f"{i}.npy\n" for i in ids))


def _make_model(root: Path, object_id: str) -> None:
    synset, _, model_id = object_id.partition("-")
    mesh = root / synset / model_id / "models" / "model_normalized.obj"
    mesh.parent.mkdir(parents=True)
    mesh.write_text("v 0 0 0\n")


@pytest.mark.parametrize(("object_id", "key"), [
    ("03001627-u45c7b89f-d996-4c29-aecf-4b760d1fb2b6", "03001627-u45c7b89f"),
    ("02691156-1a04e3eab45ca15dd86060f189eb133", "02691156-1a04e3eab45ca15dd86060f189eb133"),
    ("04379243--table-oddity", "04379243-"),
    ("02747177-", "02747177-"),
    ("02747177-abc.v2", "02747177-abc"),
])
def test_skip_key_follows_the_reference_parsing(object_id: str, key: str) -> None:
    assert skip_key(object_id) == key


def test_skip_lines_cover_every_key_once() -> None:
    assert sorted(skip_key(i) for i in SKIP_LINES) == sorted(PAPER_SKIP_KEYS)


def test_small_tree_buckets_every_listed_entry(tmp_path: Path) -> None:
    render = ["02691156-aaa", "02691156-bbb", "03001627-u6028f63eb", "04379243-ccc"]  # last chair: near miss
    missing = "02958343-ddd"
    unknown = "99999999-eee"
    for object_id in [*render, *SKIP_LINES[:3], unknown]:
        _make_model(tmp_path, object_id)
    _make_model(tmp_path, "02691156-unlisted")
    _write_split(tmp_path, "train", [render[1], render[0], SKIP_LINES[0], missing, *SKIP_LINES[3:]])
    _write_split(tmp_path, "test", [render[2], render[3], SKIP_LINES[1], SKIP_LINES[2], unknown])

    index = build_shapenet_index(tmp_path)

    assert [e.object_id for e in index.entries] == sorted(render)
    by_id = {e.object_id: e for e in index.entries}
    assert by_id["02691156-aaa"].split == "train" and by_id["04379243-ccc"].split == "test"
    assert by_id["03001627-u6028f63eb"].label == SYNSET_IDS.index("03001627")
    assert by_id["02691156-bbb"].mesh_path == tmp_path / "02691156" / "bbb" / "models" / "model_normalized.obj"
    assert sorted(s.object_id for s in index.skipped) == sorted(SKIP_LINES)
    assert all("paper skip list" in s.reason and skip_key(s.object_id) in s.reason for s in index.skipped)
    reasons = {f.object_id: f.reason for f in index.failed}
    assert set(reasons) == {missing, unknown}
    assert "listed in train.txt" in reasons[missing] and "does not exist" in reasons[missing]
    assert "not one of ShapeNet's 55 synsets" in reasons[unknown]
    assert index.unlisted == 1
    assert index.num_listed == len(render) + len(SKIP_LINES) + 2


def test_paper_split_gives_the_paper_object_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """41,952 train + 10,518 test lines, ten of them on the drop list -> 52,460 objects.

    The walk is replaced by the listed ids (a 52k-folder tree costs tens of seconds to create);
    ``test_small_tree_buckets_every_listed_entry`` covers the walk itself."""
    regular = [f"{SYNSET_IDS[i % 55]}-{i:032x}" for i in range(52_470 - len(SKIP_LINES))]
    train = regular[:41_952 - 6] + SKIP_LINES[:6]
    test = regular[41_952 - 6:] + SKIP_LINES[6:]
    assert (len(train), len(test)) == (41_952, 10_518)
    _write_split(tmp_path, "train", train)
    _write_split(tmp_path, "test", test)
    monkeypatch.setattr(shapenet, "scan_models", lambda root: set(train) | set(test))

    index = build_shapenet_index(tmp_path)

    assert (len(index.entries), len(index.skipped), len(index.failed)) == (52_460, 10, 0)
    assert sum(e.split == "train" for e in index.entries) == 41_952 - 6


def test_split_dir_may_differ_from_root(tmp_path: Path) -> None:
    root, splits = tmp_path / "ShapeNetCore.v2", tmp_path / "ShapeNet-55"
    splits.mkdir()
    _make_model(root, "02691156-aaa")
    _write_split(splits, "train", ["02691156-aaa"])
    _write_split(splits, "test", [])
    assert [e.object_id for e in build_shapenet_index(root, splits).entries] == ["02691156-aaa"]


def test_missing_split_file_says_how_to_fix(tmp_path: Path) -> None:
    _write_split(tmp_path, "train", [])
    with pytest.raises(ConfigError, match=r"test\.txt: split file not found; pass --split-dir"):
        build_shapenet_index(tmp_path)


def test_malformed_split_line_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "train.txt").write_text("02691156-aaa.npy\n\nnot-a-model.txt\n")
    with pytest.raises(ConfigError, match=r"train\.txt line 3: expected 'SYNSET-MODEL_ID\.npy', got 'not-a-model\.txt'"):
        read_split_file(tmp_path / "train.txt")


def test_entry_listed_in_both_splits_is_refused(tmp_path: Path) -> None:
    _write_split(tmp_path, "train", ["02691156-aaa"])
    _write_split(tmp_path, "test", ["02691156-aaa"])
    with pytest.raises(ConfigError, match=r"02691156-aaa is already listed in train\.txt"):
        build_shapenet_index(tmp_path)


def test_root_must_be_a_folder(tmp_path: Path) -> None:
    _write_split(tmp_path, "train", [])
    _write_split(tmp_path, "test", [])
    with pytest.raises(ConfigError, match="ShapeNet root is not a folder"):
        build_shapenet_index(tmp_path / "absent", tmp_path)
