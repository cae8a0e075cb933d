"""Shared by the generation-job tests: small configurations, content hashes, broken meshes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from clip2point.render.job.config import RenderJobConfig

# Small enough to render fast, big enough that shards, chunking and nodes matter.
SMALL: dict[str, Any] = {"size": 64, "num_views": 6, "synthetic_per_class": 2, "objects_per_shard": 3,
                         "num_points": 2048, "depth_points": 512}


@pytest.fixture(autouse=True)
def synthetic_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One synthetic-set cache per test session (not ~/.cache); one llvmpipe thread per renderer."""
    cache = tmp_path_factory.getbasetemp() / "clip2point-cache"
    monkeypatch.setenv("CLIP2POINT_CACHE", str(cache))
    monkeypatch.setenv("LP_NUM_THREADS", "1")
    return cache


def small_config(out: Path, **overrides: Any) -> RenderJobConfig:
    return RenderJobConfig(out=out, **{**SMALL, **overrides})


def object_hashes(folder: Path) -> dict[str, str]:
    """``object_id -> content hash`` from the folder's markers (all arrays of each object)."""
    hashes: dict[str, str] = {}
    for marker in sorted(folder.glob("shard-*.json")):
        for record in json.loads(marker.read_text())["objects"]:
            assert record["object_id"] not in hashes, f"{record['object_id']} appears twice"
            hashes[record["object_id"]] = record["hash"]
    return hashes


def assert_same_shards(folder: Path, reference: Path) -> None:
    """Same shard files holding equal datasets (every array, label and string), row by row.

    File bytes are not compared: the ``code_version`` attribute changes with each commit."""
    names = sorted(p.name for p in reference.glob("shard-*.h5"))
    assert sorted(p.name for p in folder.glob("shard-*.h5")) == names
    for name in names:
        with h5py.File(folder / name) as got, h5py.File(reference / name) as want:
            assert sorted(got) == sorted(want)
            for dataset in want:
                np.testing.assert_array_equal(got[dataset][()], want[dataset][()], err_msg=f"{name}:{dataset}")
            assert got.attrs["config"] == want.attrs["config"]


def index_of(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "index.json").read_text())


def copy_model(source_root: Path, object_id: str, target_root: Path) -> Path:
    """Copy one model folder (mesh, material, textures) into ``target_root`` in ShapeNet layout."""
    synset, _, model_id = object_id.partition("-")
    target = target_root / synset / model_id
    shutil.copytree(source_root / synset / model_id, target)
    return target / "models" / "model_normalized.obj"


def write_mesh(root: Path, object_id: str, text: str | bytes) -> None:
    synset, _, model_id = object_id.partition("-")
    path = root / synset / model_id / "models" / "model_normalized.obj"
    path.parent.mkdir(parents=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())


BROKEN_MESHES: dict[str, str | bytes] = {
    "03001627-garbage": b"\x00\x9f\x92\x96 not an obj \xff\xfe" * 20,
    "03001627-empty": b"",
    "03001627-nanvertex": "v 0 0 0\nv 1 0 0\nv nan 1 0\nf 1 2 3\n",
    "03001627-nofaces": "v 0 0 0\nv 1 0 0\nv 0 1 0\n",
}


def write_split(root: Path, train: list[str], test: list[str]) -> None:
    (root / "train.txt").write_text("".join(f"{i}.npy\n" for i in train))
    (root / "test.txt").write_text("".join(f"{i}.npy\n" for i in test))
