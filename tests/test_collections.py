"""Collections past ShapeNet (issue 14): manifests of any mesh format and Objaverse's layout,
rendered with every object accounted for and its texture status in the shards."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import h5py
import pytest
import trimesh
from asset_fixtures import (
    textured_box, write_glb, write_glb_with_uri, write_objaverse_layout, write_png, write_textured_obj,
)
from job_helpers import SMALL, index_of, synthetic_cache  # noqa: F401  (autouse fixture)

from clip2point.cli import main
from clip2point.datasets.mesh_collections import build_manifest_index, build_objaverse_index
from clip2point.datasets.torch_dataset import ShardDataset
from clip2point.errors import ConfigError
from clip2point.inspection.summary import open_target, summarize
from clip2point.render.job.config import RenderJobConfig
from clip2point.render.job.run import run_render_job


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(("rows", "message"), [
    ([{"id": "a", "path": "a.obj"}, {"id": "a", "path": "b.obj"}], r"m\.jsonl line 2: id 'a' is already used by .*line 1"),
    ([{"id": "../evil", "path": "a.obj"}], r"m\.jsonl line 1: id '\.\./evil' is not safe as a file name"),
    ([{"id": "a/b", "path": "a.obj"}], r"line 1: id 'a/b' is not safe"),
    ([{"id": "a"}], r"line 1: no 'path'"),
    ([{"id": 7, "path": "a.obj"}], r"line 1: id 7 is not safe"),
    ([{"id": "a", "path": "a.obj", "label": 3}], r"line 1: label must be a non-empty string"),
])
def test_manifest_rows_are_checked_with_one_line_errors(tmp_path: Path, rows: list, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_manifest_index(_jsonl(tmp_path / "m.jsonl", rows))


def test_manifest_formats_and_csv_header(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("id,path\n")
    assert build_manifest_index(tmp_path / "m.csv")[0].entries == ()
    (tmp_path / "bad.csv").write_text("name,file\n")
    with pytest.raises(ConfigError, match=r"bad\.csv: the CSV header lacks id and path"):
        build_manifest_index(tmp_path / "bad.csv")
    (tmp_path / "m.txt").write_text("")
    with pytest.raises(ConfigError, match=r"m\.txt: manifest must be \.jsonl, \.ndjson or \.csv"):
        build_manifest_index(tmp_path / "m.txt")
    (tmp_path / "broken.jsonl").write_text('{"id": "a", "path": "x.obj"}\n{oops\n')
    with pytest.raises(ConfigError, match=r"broken\.jsonl line 2: not a JSON object"):
        build_manifest_index(tmp_path / "broken.jsonl")


def test_manifest_paths_labels_splits_and_metadata(tmp_path: Path) -> None:
    write_glb(tmp_path / "meshes" / "b.glb", trimesh.creation.box())
    absolute = write_glb(tmp_path / "elsewhere" / "c.glb", trimesh.creation.box())
    (tmp_path / "list").mkdir()
    (tmp_path / "list" / "m.csv").write_text(
        "id,path,label,split,source\n"
        f"c,{absolute},mug,test,abo\n"
        "b,../meshes/b.glb,chair,,3dfuture\n"
        "z,../meshes/gone.glb,chair,train,abo\n")
    index, class_names = build_manifest_index(tmp_path / "list" / "m.csv")
    assert class_names == ("chair", "mug")
    assert [(e.object_id, e.label, e.synset, e.split, e.mesh_path.name, e.metadata) for e in index.entries] == [
        ("b", 0, "chair", "train", "b.glb", (("source", "3dfuture"),)),
        ("c", 1, "mug", "test", "c.glb", (("source", "abo"),)),
    ]
    assert [(f.object_id, f.split) for f in index.failed] == [("z", "train")]
    assert "m.csv row 4: mesh" in index.failed[0].reason and "gone.glb does not exist" in index.failed[0].reason


def _every_format(tmp_path: Path, secret: Path) -> Path:
    """A manifest over OBJ+MTL (texture inside; texture escaping), GLB, glTF, PLY, OFF, STL and a
    missing file; one row names a root above its mesh so ShapeNet-style ../images/ is allowed."""
    meshes = tmp_path / "meshes"
    write_png(meshes / "inside" / "skin.png")
    write_textured_obj(meshes / "inside", "skin.png")
    write_textured_obj(meshes / "escape", str(secret))
    write_png(meshes / "shapenetlike" / "images" / "t.png")
    write_textured_obj(meshes / "shapenetlike" / "models", "../images/t.png")
    write_glb(meshes / "g.glb", textured_box())
    for kind in ("ply", "off", "stl"):
        data = trimesh.creation.box().export(file_type=kind)
        (meshes / f"box.{kind}").write_bytes(data.encode() if isinstance(data, str) else data)
    (meshes / "gltf").mkdir()
    for name, data in trimesh.Scene(textured_box()).export(file_type="gltf").items():
        (meshes / "gltf" / name).write_bytes(data)
    rows = [
        {"id": "obj-inside", "path": "meshes/inside/model.obj", "label": "box"},
        {"id": "obj-escape", "path": "meshes/escape/model.obj", "label": "box"},
        {"id": "obj-rooted", "path": "meshes/shapenetlike/models/model.obj", "root": "meshes/shapenetlike"},
        {"id": "glb", "path": "meshes/g.glb", "label": "box", "licence": "cc-by"},
        {"id": "gltf", "path": "meshes/gltf/model.gltf"},
        {"id": "ply", "path": "meshes/box.ply", "split": "test"},
        {"id": "off", "path": "meshes/box.off"},
        {"id": "stl", "path": "meshes/box.stl"},
        {"id": "gone", "path": "meshes/gone.obj"},
    ]
    return _jsonl(tmp_path / "manifest.jsonl", rows)


def test_manifest_job_renders_every_format_and_records_texture_status(tmp_path: Path) -> None:
    secret = write_png(tmp_path / "secret.png")
    manifest = _every_format(tmp_path, secret)
    out = tmp_path / "out"
    report = run_render_job(RenderJobConfig(out=out, manifest=manifest, **SMALL), progress=False)
    assert (report.rendered, report.failed) == (8, 1)
    index = index_of(out)
    status = {o["object_id"]: o["texture_status"] for o in index["objects"]}
    assert status == {"obj-inside": "textured", "obj-escape": "refused_outside", "obj-rooted": "textured",
                      "glb": "textured", "gltf": "textured", "ply": "untextured_by_source",
                      "off": "untextured_by_source", "stl": "untextured_by_source"}
    escape = next(o for o in index["objects"] if o["object_id"] == "obj-escape")
    assert str(secret) in escape["texture_detail"]
    assert next(o for o in index["objects"] if o["object_id"] == "glb")["metadata"] == {"licence": "cc-by"}
    assert [f["object_id"] for f in index["failures"]] == ["gone"]
    assert index["class_names"] == ["box"]
    with h5py.File(out / "shard-00000.h5") as h5:  # plain h5py sees the new per-object strings
        assert [s.decode() for s in h5["texture_status"][()]] == [status[i.decode()] for i in h5["object_id"][()]]
    summary = summarize(open_target(out), per_object=True)
    assert summary["texture_status"] == {"textured": 4, "untextured_by_source": 3, "missing": 0,
                                         "refused_outside": 1, "undecodable": 0, "over_budget": 0}
    row = next(r for r in summary["per_object"] if r["id"] == "obj-escape")
    assert row["texture_status"] == "refused_outside" and "secret.png" in row["texture_detail"]
    kept = ShardDataset(out, texture_status=("textured", "untextured_by_source"))
    assert sorted(map(str, kept.object_ids)) == sorted(k for k, v in status.items() if v != "refused_outside")
    assert len(ShardDataset(out)) == 8


def test_objaverse_layout_with_lvis_labels(tmp_path: Path, capsys: pytest.CaptureFixture,
                                           caplog: pytest.LogCaptureFixture) -> None:
    secret = write_png(tmp_path / "secret.png")
    staging = tmp_path / "staging"
    uids = {"0a" * 16: write_glb(staging / "a.glb", textured_box()),
            "0b" * 16: write_glb_with_uri(staging / "b.glb", textured_box(), image_uri=f"file://{secret}"),
            "0c" * 16: write_glb(staging / "c.glb", trimesh.creation.box()),
            "0d" * 16: None,  # listed, not downloaded
            "0e" * 16: write_glb(staging / "e.glb", trimesh.creation.box()),  # not in LVIS
            "0g" * 16: write_glb_with_uri(staging / "g.glb", textured_box(), image_uri="sibling.png")}
    lvis = {"mug": ["0a" * 16, "0d" * 16, "0g" * 16], "chair": ["0b" * 16, "0c" * 16], "zebra": ["0f" * 16]}
    root = write_objaverse_layout(tmp_path / "objaverse", uids, lvis)
    sibling = (root / json.loads((root / "object-paths.json").read_text())["0g" * 16]).with_name("sibling.png")
    write_png(sibling)  # in the same glbs/000-XXX folder as the GLB: still not the object's own
    index, class_names = build_objaverse_index(root, lvis=True)
    assert class_names == ("chair", "mug", "zebra")
    assert {e.object_id: (e.synset, e.label, e.split) for e in index.entries} == {
        "0a" * 16: ("mug", 1, "test"), "0b" * 16: ("chair", 0, "test"), "0c" * 16: ("chair", 0, "test"),
        "0g" * 16: ("mug", 1, "test")}
    assert {f.object_id: f.reason.split(" but ")[-1] for f in index.failed} == {
        "0d" * 16: f"{root / 'glbs/000-000' / ('0d' * 16 + '.glb')} is not downloaded",
        "0f" * 16: "not in object-paths.json"}
    assert len(build_objaverse_index(root)[0].entries) == 5  # without --lvis: every present object, unlabelled
    out = tmp_path / "out"
    args = ["render", "--objaverse", str(root), "--lvis", "--out", str(out), "--size", "64", "--views", "6",
            "--points", "2048", "--depth-points", "512", "--workers", "1", "--no-progress", "--allow-failures"]
    with caplog.at_level(logging.INFO):
        assert main(args) == 0
    index = index_of(out)
    assert {o["object_id"]: (o["synset"], o["label"], o["texture_status"]) for o in index["objects"]} == {
        "0a" * 16: ("mug", 1, "textured"), "0b" * 16: ("chair", 0, "refused_outside"),
        "0c" * 16: ("chair", 0, "untextured_by_source"), "0g" * 16: ("mug", 1, "refused_outside")}
    assert sorted(f["object_id"] for f in index["failures"]) == ["0d" * 16, "0f" * 16]
    assert index["class_names"] == ["chair", "mug", "zebra"]
    assert index["config"]["source"] == "objaverse-lvis"


def test_one_source_per_job(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--shapenet and --manifest both name a source"):
        RenderJobConfig(out=tmp_path, shapenet_root=tmp_path, manifest=tmp_path / "m.jsonl")
    with pytest.raises(ConfigError, match="--lvis needs --objaverse ROOT"):
        RenderJobConfig(out=tmp_path, lvis=True)
