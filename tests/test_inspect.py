"""``clip2point inspect``: summary, verify (every corruption case), sheet and export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from clip2point.cli import main
from clip2point.datasets.inspect_checks import VerifySettings, square_morph, depth_mask_in_rgb_frame, silhouette_iou
from clip2point.datasets.shard_format import ObjectFailure, RenderedObject
from clip2point.datasets.shards import build_index, ensure_job_config, write_shard, write_skipped
from clip2point.datasets.synthetic_shards import synthetic_object

NAMES = ["airplane", "bag", "chair"]
V, S = 2, 48


def obj(i: int, **changes) -> RenderedObject:
    base = synthetic_object(f"obj-{i:02d}", label=i % 3, synset=f"0{i % 3}", split="test" if i == 4 else "train",
                            views=V, size=S, num_points=40, seed=i)
    return RenderedObject(**{**base.__dict__, **changes}) if changes else base


def make_folder(root: Path, extra: list[RenderedObject] = ()) -> Path:
    attrs = {"config": {"views": V}, "class_names": NAMES}
    ensure_job_config(root, attrs["config"])
    write_shard(root, 0, [obj(0), obj(1), obj(2)], [ObjectFailure("obj-90", "01", "train", "failed", "MeshLoadError: no faces")],
                attrs=attrs)
    write_shard(root, 1, [obj(3), obj(4), *extra], [], attrs=attrs)
    write_skipped(root, [ObjectFailure("04379243-", "04379243", "train", "skipped", "reference skip list")])
    build_index(root)
    return root


def cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_summary_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = make_folder(tmp_path)
    code, out, _ = cli(capsys, "inspect", root, "summary")
    assert code == 0
    assert "objects 5  failed 1  skipped 1" in out and "splits: test 1, train 4" in out
    assert "classes: airplane 2, bag 2, chair 1" in out and "failed obj-90: MeshLoadError: no faces" in out
    code, out, _ = cli(capsys, "inspect", root, "summary", "--json")
    summary = json.loads(out)
    assert (code, summary["objects"], summary["failed"], summary["skipped"]) == (0, 5, 1, 1)
    assert summary["classes"] == {"airplane": 2, "bag": 2, "chair": 1} and summary["splits"] == {"test": 1, "train": 4}
    assert summary["schema_version"] == 1 and summary["config"] == {"views": V} and summary["views"] == [V, S, S, 3]


def test_per_object_hash_equal_exactly_when_arrays_equal(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    twin = obj(1, object_id="obj-51")  # the arrays of obj-01 under another id
    nudged = obj(1, object_id="obj-52", points=obj(1).points + np.float32(1e-6))
    root = make_folder(tmp_path, extra=[twin, nudged])
    code, out, _ = cli(capsys, "inspect", root, "summary", "--json", "--per-object")
    rows = {r["id"]: r for r in json.loads(out)["per_object"]}
    assert code == 0 and sorted(rows) == ["04379243-", "obj-00", "obj-01", "obj-02", "obj-03", "obj-04", "obj-51", "obj-52", "obj-90"]
    assert rows["obj-90"]["status"] == "failed" and rows["obj-90"]["hash"] is None
    assert rows["04379243-"]["status"] == "skipped"
    assert rows["obj-51"]["hash"] == rows["obj-01"]["hash"] == obj(1).content_hash()
    assert len({rows[i]["hash"] for i in ("obj-00", "obj-01", "obj-02", "obj-03", "obj-04", "obj-52")}) == 6
    code, text, _ = cli(capsys, "inspect", root, "summary", "--per-object")
    assert f"obj-01  ok  {obj(1).content_hash()}" in text


def test_verify_clean_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, _ = cli(capsys, "inspect", make_folder(tmp_path), "verify")
    assert (code, out.strip()) == (0, "OK: 2 shards, 5 objects, 0 bad shards, 0 bad objects")


def _flip_chunk_byte(path: Path, row: int) -> None:
    with h5py.File(path, "r") as h5:
        info = h5["rgb"].id.get_chunk_info_by_coord((row, 0, 0, 0, 0))
    data = bytearray(path.read_bytes())
    data[info.byte_offset + info.size // 2] ^= 0x10
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage,expect", [
    ("truncate", r"shard-00001.h5: cannot open as HDF5, the file is truncated or corrupt"),
    ("bitflip", r"shard-00001.h5: obj-04: (content hash differs|cannot read object row 1)"),
    ("foreign", r"shard-00001.h5: foreign HDF5 file: attribute 'format' is None"),
    ("text", r"shard-00001.h5: not an HDF5 file"),
    ("missing", r"shard-00001.h5: listed in the index but the file is missing"),
])
def test_verify_names_each_damaged_shard(tmp_path: Path, capsys: pytest.CaptureFixture, damage: str, expect: str) -> None:
    root = make_folder(tmp_path)
    path = root / "shard-00001.h5"
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:5000])
    elif damage == "bitflip":
        _flip_chunk_byte(path, 1)
    elif damage == "foreign":
        path.unlink()
        with h5py.File(path, "w") as h5:
            h5["images"] = np.zeros((2, 4))
    elif damage == "text":
        path.write_text("not a shard\n")
    else:
        path.unlink()
    code, out, err = cli(capsys, "inspect", root, "verify")
    assert code == 1 and "Traceback" not in out + err
    assert re.search(expect, out), out
    if damage != "missing":
        assert "shard-00001.h5: sha256 differs from the index" in out
    assert "shard-00000.h5" not in out and out.strip().endswith("BAD: 2 shards, 5 objects, 1 bad shards, "
                                                                f"{1 if damage == 'bitflip' else 0} bad objects")
    report = json.loads(cli(capsys, "inspect", root, "verify", "--json")[1])
    assert report["ok"] is False and report["bad_shards"] == ["shard-00001.h5"]


def test_summary_reports_unreadable_shards_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = make_folder(tmp_path)
    (root / "shard-00000.h5").write_bytes((root / "shard-00000.h5").read_bytes()[:3000])
    code, out, err = cli(capsys, "inspect", root, "summary")
    assert code == 1 and "Traceback" not in err
    assert re.search(r"UNREADABLE .*shard-00000.h5: cannot open as HDF5, the file is truncated", out)


@pytest.mark.parametrize("content,expect", [
    ("foreign", r"foreign\.h5: foreign HDF5 file: attribute 'format' is 'something-else'"),
    ("text", r"foreign\.h5: not an HDF5 file"),
    ("absent", r"foreign\.h5: no such shard folder or shard file"),
])
def test_inspecting_a_bad_file_directly_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                        content: str, expect: str) -> None:
    path = tmp_path / "foreign.h5"
    if content == "foreign":
        with h5py.File(path, "w") as h5:
            h5.attrs["format"] = "something-else"
    elif content == "text":
        path.write_text("hello")
    code, out, err = cli(capsys, "inspect", path, "summary")
    assert code == 2 and out == "" and re.search(r"^clip2point inspect: error: .*" + expect, err) and "Traceback" not in err


def test_single_shard_file_is_a_target(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = make_folder(tmp_path)
    code, out, _ = cli(capsys, "inspect", root / "shard-00001.h5", "summary", "--json")
    assert code == 0 and json.loads(out)["objects"] == 2
    assert cli(capsys, "inspect", root / "shard-00001.h5", "verify")[0] == 0


def with_nan(o: RenderedObject) -> RenderedObject:
    depth = o.depth.copy()
    depth[1, S // 2, S // 2 - 1: S // 2 + 2] = np.nan  # three pixels at the centre of the shape
    return RenderedObject(**{**o.__dict__, "depth": depth})


def blank(o: RenderedObject) -> RenderedObject:
    rgb = o.rgb.copy()
    rgb[1] = 255
    return RenderedObject(**{**o.__dict__, "rgb": rgb})


@pytest.mark.parametrize("bad,expect", [
    (with_nan, r"obj-77: depth has 3 NaN/inf values"),
    (blank, r"obj-77: RGB view 1 is blank \(all white\)"),
    (lambda o: RenderedObject(**{**o.__dict__, "depth": np.zeros_like(o.depth)}), r"obj-77: depth view 0 is empty"),
    (lambda o: RenderedObject(**{**o.__dict__, "depth": np.ascontiguousarray(np.roll(o.depth, S // 2, axis=2))}),
     r"obj-77: view 0: RGB silhouette and depth mask disagree \(IoU 0\.\d\d < 0\.4\)"),
])
def test_verify_names_bad_objects(tmp_path: Path, capsys: pytest.CaptureFixture, bad, expect: str) -> None:
    root = make_folder(tmp_path, extra=[bad(obj(7, object_id="obj-77"))])
    code, out, _ = cli(capsys, "inspect", root, "verify")
    assert code == 1 and re.search(r"shard-00001.h5: " + expect, out), out
    assert "bad shards, 1 bad objects" in out
    report = json.loads(cli(capsys, "inspect", root, "verify", "--json")[1])
    assert report["bad_objects"] == ["obj-77"] and len({p["check"] for p in report["problems"]}) == 1


def test_depth_mask_carried_into_rgb_frame_matches_a_slow_reference() -> None:
    depth = np.zeros((12, 12), np.float32)
    depth[2, 3], depth[6, 6], depth[9, 1] = 0.5, 1.0, 1.6
    for dist in (1.0, 1.1):
        slow = np.zeros((20, 20), bool)
        for r, c in zip(*np.nonzero(depth)):
            height = (dist - depth[r, c]) * dist  # toward the camera, world units
            scale = dist / ((2 * dist - height) * np.tan(np.radians(30)))
            u, v = ((2 * c + 1) / 12 - 1) * scale, ((2 * r + 1) / 12 - 1) * scale
            slow[int(np.floor((v + 1) / 2 * 20)), int(np.floor((u + 1) / 2 * 20))] = True
        # the closing (radius 1 px here) only fills gaps between carried pixels; these lie apart
        np.testing.assert_array_equal(depth_mask_in_rgb_frame(depth, dist, (20, 20), VerifySettings(close_px=1)), slow)


@pytest.mark.parametrize("radius", [1, 3, 5])
def test_integral_image_dilation_and_erosion_match_sliding_windows(radius: int) -> None:
    mask = np.random.default_rng(radius).random((30, 41)) < 0.25
    for reduce, border in (("any", False), ("all", True)):
        windows = np.lib.stride_tricks.sliding_window_view(np.pad(mask, radius, constant_values=border),
                                                           (2 * radius + 1, 2 * radius + 1))
        slow = windows.any(axis=(-2, -1)) if reduce == "any" else windows.all(axis=(-2, -1))
        np.testing.assert_array_equal(square_morph(mask, radius, reduce), slow)


def test_silhouette_iou_separates_matching_and_wrong_pairs() -> None:
    settings = VerifySettings()
    for seed in range(4):
        o = synthetic_object("a", views=3, size=64, seed=seed)
        for rgb, depth in zip(o.rgb, o.depth):
            assert silhouette_iou(rgb, depth, 1.0, settings) > 0.85
            assert silhouette_iou(rgb, np.zeros_like(depth), 1.0, settings) == 0.0
            assert silhouette_iou(rgb, np.roll(depth, 24, axis=1), 1.0, settings) < 0.4


def test_sheet_png(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = make_folder(tmp_path)
    out = tmp_path / "sheet.png"
    code, text, _ = cli(capsys, "inspect", root, "sheet", "--ids", "obj-03", "obj-00", "--out", out)
    assert code == 0 and text.startswith(f"wrote {out} (2 objects: obj-03 obj-00)")
    sheet = np.asarray(Image.open(out))
    assert sheet.shape == (14 + 2 * 114 + 2, 120 + 2 * V * 114 + 2, 3)
    first_rgb = np.asarray(Image.fromarray(obj(3).rgb[0]).resize((112, 112), Image.BILINEAR))
    np.testing.assert_array_equal(sheet[16:128, 122:234], first_rgb)
    code, text, _ = cli(capsys, "inspect", root, "sheet", "--random", "3", "--seed", "1", "--views", "1", "--out", out)
    assert code == 0 and "(3 objects:" in text and np.asarray(Image.open(out)).shape[1] == 120 + 2 * 114 + 2
    assert text == cli(capsys, "inspect", root, "sheet", "--random", "3", "--seed", "1", "--views", "1", "--out", out)[1]
    code, _, err = cli(capsys, "inspect", root, "sheet", "--ids", "nope")
    assert code == 2 and "no object 'nope' in the shards" in err


def test_export_object(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = make_folder(tmp_path)
    code, text, _ = cli(capsys, "inspect", root, "export", "obj-02", "--out", tmp_path / "x")
    ref = obj(2)
    assert code == 0 and text.strip() == f"wrote {2 * V + 3} files to {tmp_path / 'x'}"
    for v in range(V):
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "x" / f"rgb-{v}.png")), ref.rgb[v])
        depth_png = np.asarray(Image.open(tmp_path / "x" / f"depth-{v}.png"))
        assert depth_png.shape == (S, S) and (depth_png[ref.depth[v] == 0] == 255).all()
    np.testing.assert_array_equal(np.load(tmp_path / "x" / "depth.npy"), ref.depth)
    lines = (tmp_path / "x" / "points.ply").read_text().splitlines()
    assert lines[:3] == ["ply", "format ascii 1.0", "element vertex 40"] and lines[6] == "end_header"
    np.testing.assert_allclose(np.loadtxt(lines[7:]), ref.points, rtol=1e-6)
    meta = json.loads((tmp_path / "x" / "meta.json").read_text())
    assert meta["object_id"] == "obj-02" and meta["content_sha256"] == ref.content_hash() and meta["elev"] == ref.elev.tolist()

