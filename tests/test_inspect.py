"""``clip2point inspect``: summary, verify (every corruption case), sheet and export.

Objects are real renders (RGBRenderer, surface sampling, faithful depth) of the shared meshes, so
``verify``'s view checks see exactly what the generation job writes."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Callable

import h5py
import numpy as np
import pytest
import torch
from PIL import Image

from clip2point.cli import main
from clip2point.datasets.frames import align_modelnet
from clip2point.datasets.mesh_io import load_mesh, obj_vertex_records
from clip2point.datasets.sampling import sample_surface
from clip2point.datasets.shards.job_config import ensure_job_config
from clip2point.datasets.shards.file_format import ObjectFailure, RenderedObject, content_hash
from clip2point.datasets.shards import build_index, read_marker, shard_problem, write_shard, write_skipped
from clip2point.errors import ConfigError
from clip2point.inspection.verify import VerifySettings, check_object
from clip2point.inspection.view_consistency import (coverage_radius, depth_inside, dilate, ndc_to_pixels, rgb_pixels,
                                                  rgb_scores, splat)
from clip2point.render.cameras import ViewPreset
from clip2point.render.depth import project_depth
from clip2point.render.depth.discs import pixel_centres_ndc
from clip2point.render.rgb import RGBRenderer

NAMES = ["airplane", "bag", "chair"]
V, S, POINTS = 2, 48, 512
VIEWS = ViewPreset("test", elev=(0.0, 315.0), azim=(0.0, 45.0))  # a side view and an oblique one from above
MESHES = ("classic/homer.obj", "classic/alligator.obj", "pytorch3d_cow/cow.obj", "classic/fandisk.obj",
          "kaolin_armchair/armchair.obj")

MakeObject = Callable[..., RenderedObject]


@pytest.fixture(scope="session")
def renders(shared_data: Path) -> list[RenderedObject]:
    """Each mesh as the generation job renders it: RGB, 512 surface points, depth of 256 of them."""
    elev, azim, dist = (t.numpy() for t in VIEWS.tensors())
    out = []
    with RGBRenderer(S) as renderer:
        for seed, name in enumerate(MESHES):
            mesh = load_mesh(shared_data / "meshes" / name)
            points = sample_surface(mesh.mesh, POINTS, seed=seed)
            depth = project_depth(torch.from_numpy(points[::2])[None], elev, azim, dist, size=S).depth[0].numpy()
            out.append(RenderedObject(name, "0", 0, "train", renderer.render(mesh, VIEWS, light_seed=seed).rgb,
                                      depth, points, elev, azim, dist))
    return out


@pytest.fixture(scope="session")
def obj(renders: list[RenderedObject]) -> MakeObject:
    """``obj(i, **changes)``: object ``obj-ii`` (mesh i mod 5) with its index fields, ``changes`` replacing fields."""
    def make(i: int, **changes: object) -> RenderedObject:
        fields = {"object_id": f"obj-{i:02d}", "synset": f"0{i % 3}", "label": i % 3,
                  "split": "test" if i == 4 else "train"}
        return dataclasses.replace(renders[i % len(renders)], **{**fields, **changes})
    return make


def make_folder(root: Path, obj: MakeObject, extra: list[RenderedObject] = ()) -> Path:
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


def test_summary_text_and_json(tmp_path: Path, obj: MakeObject, capsys: pytest.CaptureFixture) -> None:
    root = make_folder(tmp_path, obj)
    code, out, _ = cli(capsys, "inspect", root, "summary")
    assert code == 0
    assert "objects 5  failed 1  skipped 1" in out and "splits: test 1, train 4" in out
    assert "classes: airplane 2, bag 2, chair 1" in out and "failed obj-90: MeshLoadError: no faces" in out
    code, out, _ = cli(capsys, "inspect", root, "summary", "--json")
    summary = json.loads(out)
    assert (code, summary["objects"], summary["failed"], summary["skipped"]) == (0, 5, 1, 1)
    assert summary["classes"] == {"airplane": 2, "bag": 2, "chair": 1} and summary["splits"] == {"test": 1, "train": 4}
    assert summary["schema_version"] == 2 and summary["config"] == {"views": V} and summary["views"] == [V, S, S, 3]


def test_a_reader_that_leaves_early_ends_the_command_quietly(tmp_path: Path, obj: MakeObject,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """``clip2point inspect ... | head -1``: the shell's SIGPIPE status, no BrokenPipeError traceback."""
    root = make_folder(tmp_path, obj)
    read_end, write_end = os.pipe()
    os.close(read_end)
    monkeypatch.setattr(sys, "stdout", os.fdopen(write_end, "w"))
    assert main(["inspect", str(root), "summary", "--per-object"]) == 141


def test_per_object_hash_equal_exactly_when_arrays_equal(tmp_path: Path, obj: MakeObject, capsys: pytest.CaptureFixture) -> None:
    twin = obj(1, object_id="obj-51")  # the arrays of obj-01 under another id
    nudged = obj(1, object_id="obj-52", points=obj(1).points + np.float32(1e-6))
    root = make_folder(tmp_path, obj, extra=[twin, nudged])
    code, out, _ = cli(capsys, "inspect", root, "summary", "--json", "--per-object")
    rows = {r["id"]: r for r in json.loads(out)["per_object"]}
    assert code == 0 and sorted(rows) == ["04379243-", "obj-00", "obj-01", "obj-02", "obj-03", "obj-04", "obj-51", "obj-52", "obj-90"]
    assert rows["obj-90"]["status"] == "failed" and rows["obj-90"]["hash"] is None
    assert rows["04379243-"]["status"] == "skipped"
    assert rows["obj-51"]["hash"] == rows["obj-01"]["hash"] == obj(1).content_hash()
    assert len({rows[i]["hash"] for i in ("obj-00", "obj-01", "obj-02", "obj-03", "obj-04", "obj-52")}) == 6
    code, text, _ = cli(capsys, "inspect", root, "summary", "--per-object")
    assert f"obj-01  ok  {obj(1).content_hash()}" in text


def test_verify_clean_folder(tmp_path: Path, obj: MakeObject, capsys: pytest.CaptureFixture) -> None:
    code, out, _ = cli(capsys, "inspect", make_folder(tmp_path, obj), "verify")
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
def test_verify_names_each_damaged_shard(tmp_path: Path, obj: MakeObject, capsys: pytest.CaptureFixture, damage: str, expect: str) -> None:
    root = make_folder(tmp_path, obj)
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
        assert "shard-00001.h5: xxh3-128 checksum differs from the index" in out
    assert "shard-00000.h5" not in out and out.strip().endswith("BAD: 2 shards, 5 objects, 1 bad shards, "
                                                                f"{1 if damage == 'bitflip' else 0} bad objects")
    report = json.loads(cli(capsys, "inspect", root, "verify", "--json")[1])
    assert report["ok"] is False and report["bad_shards"] == ["shard-00001.h5"]


def test_summary_reports_unreadable_shards_without_traceback(tmp_path: Path, obj: MakeObject, capsys: pytest.CaptureFixture) -> None:
    root = make_folder(tmp_path, obj)
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


def test_single_shard_file_is_a_target(tmp_path: Path, obj: MakeObject, capsys: pytest.CaptureFixture) -> None:
    root = make_folder(tmp_path, obj)
    code, out, _ = cli(capsys, "inspect", root / "shard-00001.h5", "summary", "--json")
    assert code == 0 and json.loads(out)["objects"] == 2
    assert cli(capsys, "inspect", root / "shard-00001.h5", "verify")[0] == 0


def with_nan(o: RenderedObject) -> RenderedObject:
    depth = o.depth.copy()
    depth[1, S // 2, S // 2 - 1: S // 2 + 2] = np.nan  # three pixels at the centre
    return dataclasses.replace(o, depth=depth)


def views_changed(name: str, change: Callable[[np.ndarray], np.ndarray], views: list[int]) -> Callable[[RenderedObject], RenderedObject]:
    """A corruption: ``change`` applied to the listed views of array ``name``."""
    def corrupt(o: RenderedObject) -> RenderedObject:
        array = getattr(o, name).copy()
        array[views] = change(array[views])
        return dataclasses.replace(o, **{name: np.ascontiguousarray(array)})
    return corrupt


MIRROR = lambda a: a[:, :, ::-1]  # noqa: E731  left-right, per view
ROTATE = lambda a: np.rot90(a, axes=(1, 2))  # noqa: E731
SWAP = lambda a: a[::-1]  # noqa: E731  the two views exchanged
RGB_BAD = r"view {}: RGB does not show the points from its camera \(mirrored, rotated, swapped or another object\?\): \d+% of"
DEPTH_BAD = r"view {}: depth map does not show the points from its camera .*: \d+% of its pixels can come from a point"


@pytest.mark.parametrize("bad,expect", [
    (with_nan, r"obj-77: depth has 3 NaN/inf values"),
    (views_changed("rgb", lambda a: np.full_like(a, 255), [1]), r"obj-77: RGB view 1 is blank \(all white\)"),
    (views_changed("depth", np.zeros_like, [0]), r"obj-77: depth view 0 is empty"),
    (views_changed("rgb", MIRROR, [1]), "obj-77: " + RGB_BAD.format(1)),
    (views_changed("rgb", ROTATE, [0]), "obj-77: " + RGB_BAD.format(0)),
    (views_changed("rgb", SWAP, [0, 1]), "obj-77: " + RGB_BAD.format(0)),
    (views_changed("depth", MIRROR, [1]), "obj-77: " + DEPTH_BAD.format(1)),
    (views_changed("depth", lambda a: np.roll(a, S // 4, axis=2), [0]), "obj-77: " + DEPTH_BAD.format(0)),
    (views_changed("depth", SWAP, [0, 1]), "obj-77: " + DEPTH_BAD.format(1)),
], ids=["nan", "blank", "empty-depth", "rgb-mirrored", "rgb-rotated", "rgb-swapped", "depth-mirrored", "depth-shifted",
        "depth-swapped"])
def test_verify_names_bad_objects(tmp_path: Path, obj: MakeObject, capsys: pytest.CaptureFixture, bad, expect: str) -> None:
    root = make_folder(tmp_path, obj, extra=[bad(obj(5, object_id="obj-77"))])
    code, out, _ = cli(capsys, "inspect", root, "verify")
    assert code == 1 and re.search(r"shard-00001.h5: " + expect, out), out
    assert "bad shards, 1 bad objects" in out
    report = json.loads(cli(capsys, "inspect", root, "verify", "--json")[1])
    assert report["bad_objects"] == ["obj-77"] and len({p["check"] for p in report["problems"]}) == 1


def test_another_objects_views_are_caught(tmp_path: Path, obj: MakeObject, capsys: pytest.CaptureFixture) -> None:
    impostor = obj(5, object_id="obj-77", rgb=obj(1).rgb, depth=obj(1).depth)  # homer's points, the alligator's views
    code, out, _ = cli(capsys, "inspect", make_folder(tmp_path, obj, extra=[impostor]), "verify")
    problems = [line for line in out.splitlines() if line.startswith("shard-00001.h5: obj-77: view ")]
    assert code == 1 and len(problems) == 2 * V, out  # every RGB and every depth view


def test_a_pale_object_is_foreground(tmp_path: Path, obj: MakeObject, capsys: pytest.CaptureFixture) -> None:
    """The renderer's background is exactly 255, so a near-white object still has a silhouette."""
    rgb = obj(0).rgb.copy()
    rgb[(rgb < 255).any(axis=-1)] = (254, 255, 255)
    code, out, _ = cli(capsys, "inspect", make_folder(tmp_path, obj, extra=[obj(5, rgb=rgb)]), "verify")  # obj-05 is mesh 0 again
    assert code == 0, out


def test_rendered_views_score_as_calibrated(renders: list[RenderedObject]) -> None:
    """Correct views at 48²: precision 1.0 but for the armchair's side view (0.982: its flat seat
    base, seen exactly edge-on, has points but covers no pixel), well above the 0.95 threshold."""
    settings = VerifySettings()
    kw = {"yfov_deg": 60.0, "znear": 1.0, "white": 255, "tolerance_px": 2}
    for o in renders:
        precision, coverage, _ = rgb_scores(o.rgb, o.points, o.elev, o.azim, o.dist, **kw)
        assert (precision >= 0.98).all() and (coverage >= settings.min_coverage).all(), (o.object_id, precision, coverage)
        np.testing.assert_array_equal(depth_inside(o.depth, o.points, o.elev, o.azim, o.dist), 1.0)


def test_pixel_of_each_pixel_centre_is_the_rasterisers_pixel() -> None:
    """``ndc_to_pixels`` agrees with the faithful rasteriser: NDC pixel centre i is image index S − 1 − i."""
    centres = pixel_centres_ndc(S).double().numpy()
    row, col, inside = ndc_to_pixels(centres[None, :], centres[::-1][None, :], S)
    assert inside.all()
    np.testing.assert_array_equal(col[0], np.arange(S)[::-1])
    np.testing.assert_array_equal(row[0], np.arange(S))
    assert not ndc_to_pixels(np.array([[1.0 + 1e-9, -1.0]]), np.zeros((1, 2)), S)[2].any()  # just off either edge


def test_rgb_projection_lands_in_pytorch3ds_silhouettes(shared_data: Path) -> None:
    """Golden PyTorch3D silhouettes (camera at distance 2 = 2·dist, fov 60°): mesh vertices land in
    them; mirrored silhouettes of the same views lose many of them."""
    with np.load(shared_data / "golden" / "rgb_silhouettes_golden.npz") as golden:
        names, elev, azim, masks = golden["names"], golden["elev"], golden["azim"], golden["mask"]
        assert float(golden["dist"]) == 2.0
    dist = np.ones_like(elev)
    for name, all_views in zip(names, masks):
        seen = all_views.sum(axis=(1, 2)) >= 50  # a flat model seen edge-on has no silhouette to test
        mask = all_views[seen]
        v = obj_vertex_records(shared_data / "meshes" / str(name)).astype(np.float64)
        v = ((v - v.mean(axis=0)) / np.linalg.norm(v - v.mean(axis=0), axis=1).max()).astype(np.float32)
        row, col, visible = rgb_pixels(v, elev[seen], azim[seen], dist[seen], yfov_deg=60.0, znear=1.0, size=mask.shape[-1])
        grown = dilate(mask, 1)
        hits = grown[np.arange(len(mask))[:, None], row, col] & visible
        assert hits.mean() >= 0.995, name
        mirrored = grown[:, :, ::-1][np.arange(len(mask))[:, None], row, col] & visible
        assert mirrored.mean() < hits.mean() - 0.05, name


def test_depth_maps_of_the_golden_clouds_lie_inside_their_points(shared_data: Path) -> None:
    """Both our projector's maps and PyTorch3D's reference maps, including views where points lie
    off the image (dist 0.93) and their discs reach in over the edge."""
    with np.load(shared_data / "golden" / "clip2point_depth_golden.npz") as golden:
        for variant in ("views10_d1_norot", "views6_d093_rot", "views10_d107_norot"):
            for b, points in enumerate(golden["points"]):
                if "_rot" in variant:
                    points = align_modelnet(points)
                cams = [golden[f"{variant}_{k}"][b] for k in ("elev", "azim", "dist")]
                raw = golden[f"{variant}_raw"][b]
                ours = project_depth(torch.from_numpy(points)[None], *cams).depth[0].numpy()
                np.testing.assert_array_equal(depth_inside(ours, points, *cams), 1.0, err_msg=f"{variant}[{b}]")
                np.testing.assert_array_equal(depth_inside(raw, points, *cams), 1.0, err_msg=f"{variant}[{b}]")
                assert depth_inside(np.roll(raw, 20, axis=-1), points, *cams).max() < 0.95


@pytest.mark.parametrize("field,value,message", [
    ("min_precision", 1.5, r"--min-precision must be a number in \[0, 1\]; got 1.5"),
    ("min_depth_inside", -0.1, r"--min-depth-inside must be a number in \[0, 1\]"),
    ("white", 0, r"white must be an integer in \[1, 255\]"),
    ("tolerance_px", 0, r"tolerance_px must be an integer >= 1"),
    ("znear", 0.0, r"znear must be a finite number > 0"),
])
def test_verify_settings_say_how_to_fix(field: str, value: float, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        VerifySettings(**{field: value})


@pytest.mark.parametrize("radius", [1, 3, 5])
def test_integral_image_dilation_matches_sliding_windows(radius: int) -> None:
    mask = np.random.default_rng(radius).random((30, 41)) < 0.25
    size = 2 * radius + 1
    slow = np.lib.stride_tricks.sliding_window_view(np.pad(mask, radius), (size, size)).any(axis=(-2, -1))
    np.testing.assert_array_equal(dilate(mask, radius), slow)
    np.testing.assert_array_equal(dilate(np.stack([~mask, mask]), radius)[1], slow)  # batched


def test_sheet_png(tmp_path: Path, obj: MakeObject, capsys: pytest.CaptureFixture) -> None:
    root = make_folder(tmp_path, obj)
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


def test_export_object(tmp_path: Path, obj: MakeObject, capsys: pytest.CaptureFixture) -> None:
    root = make_folder(tmp_path, obj)
    code, text, _ = cli(capsys, "inspect", root, "export", "obj-02", "--out", tmp_path / "x")
    ref = obj(2)
    assert code == 0 and text.strip() == f"wrote {2 * V + 3} files to {tmp_path / 'x'}"
    for v in range(V):
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "x" / f"rgb-{v}.png")), ref.rgb[v])
        depth_png = np.asarray(Image.open(tmp_path / "x" / f"depth-{v}.png"))
        assert depth_png.shape == (S, S) and (depth_png[ref.depth[v] == 0] == 255).all()
    np.testing.assert_array_equal(np.load(tmp_path / "x" / "depth.npy"), ref.depth)
    lines = (tmp_path / "x" / "points.ply").read_text().splitlines()
    assert lines[:3] == ["ply", "format ascii 1.0", f"element vertex {POINTS}"] and lines[6] == "end_header"
    np.testing.assert_allclose(np.loadtxt(lines[7:]), ref.points, rtol=1e-6)
    meta = json.loads((tmp_path / "x" / "meta.json").read_text())
    assert meta["object_id"] == "obj-02" and meta["content_hash"] == ref.content_hash() and meta["elev"] == ref.elev.tolist()



def test_verify_thresholds_from_the_command_line(tmp_path: Path, obj: MakeObject, capsys: pytest.CaptureFixture) -> None:
    root = make_folder(tmp_path, obj)
    code, _, err = cli(capsys, "inspect", root, "verify", "--min-precision", "1.5")
    assert code == 2 and "--min-precision must be a number in [0, 1]; got 1.5" in err
    report = json.loads(cli(capsys, "inspect", root, "verify", "--json", "--min-coverage", "0.5")[1])
    assert report["ok"] and report["settings"]["min_coverage"] == 0.5


def test_a_zero_thickness_part_seen_edge_on_is_not_a_problem(tmp_path: Path) -> None:
    """A glider-like object: a single-sided wing (zero thickness) on a small body. Seen exactly
    edge-on (elev 0) the wing has surface points but no pixels, as in the reference rasteriser;
    verify must accept that view, and still catch the same view mirrored from another object."""
    import trimesh

    wing = trimesh.Trimesh([[-1, 0, -0.2], [1, 0, -0.2], [1, 0, 0.2], [-1, 0, 0.2]], [[0, 1, 2], [0, 2, 3]])
    body = trimesh.creation.box((0.12, 0.12, 0.6))
    path = tmp_path / "glider.obj"
    trimesh.util.concatenate([wing, body]).export(path)
    views = ViewPreset("edge", elev=(0.0, 45.0), azim=(0.0, 30.0))
    elev, azim, dist = (t.numpy() for t in views.tensors())
    mesh = load_mesh(path)
    points = sample_surface(mesh.mesh, 2048, seed=0)
    with RGBRenderer(64) as renderer:
        rgb = renderer.render(mesh, views, light_seed=0).rgb
    depth = project_depth(torch.from_numpy(points[::2])[None], elev, azim, dist, size=64).depth[0].numpy()
    glider = RenderedObject("glider", "02691156", 0, "train", rgb, depth, points, elev, azim, dist)
    arrays = {f.name: getattr(glider, f.name) for f in dataclasses.fields(glider)}
    arrays["content_hash"] = content_hash(arrays)

    settings = VerifySettings()
    precision, _, fill = rgb_scores(rgb, points, elev, azim, dist, yfov_deg=60.0, znear=1.0, white=255,
                                    tolerance_px=2)
    assert precision[0] < settings.min_precision and fill[0] < settings.edge_on_fill  # the edge-on view
    assert list(check_object(arrays, settings)) == []
    swapped = dict(arrays, rgb=rgb[::-1].copy())  # each view shows the other's picture
    swapped["content_hash"] = content_hash(swapped)
    assert {check for check, _ in check_object(swapped, settings)} == {"rgb-view"}


@pytest.mark.parametrize("value", ["0", "-3"])
def test_sheet_random_must_be_a_positive_count(tmp_path: Path, capsys: pytest.CaptureFixture, value: str) -> None:
    # refused before any shard is opened (tmp_path holds none: that error would come next)
    assert main(["inspect", str(tmp_path), "sheet", "--random", value, "--out", str(tmp_path / "s.png")]) == 2
    assert f"--random must be an integer >= 1; got {value} (objects to show)" in capsys.readouterr().err
    assert not (tmp_path / "s.png").exists()
    with pytest.raises(SystemExit) as exc:  # not a number at all: argparse's usage error
        main(["inspect", str(tmp_path), "sheet", "--random", "two", "--out", str(tmp_path / "s.png")])
    assert exc.value.code == 2 and "argument --random: invalid int value: 'two'" in capsys.readouterr().err


@pytest.mark.parametrize("action", ["summary", "verify"])
def test_a_folder_without_shards_is_an_error_not_ok(tmp_path: Path, capsys: pytest.CaptureFixture, action: str) -> None:
    from shard_fixtures import synthetic_object

    empty, meshes, loose = tmp_path / "empty", tmp_path / "meshes", tmp_path / "loose"
    empty.mkdir()
    (meshes / "02691156" / "abc" / "models").mkdir(parents=True)
    (meshes / "02691156" / "abc" / "models" / "model_normalized.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    write_shard(loose, 0, [synthetic_object("obj-00")], [], attrs={"config": {"views": 2}})
    (loose / "shard-00000.json").unlink()
    for folder, found in ((empty, "no shards (no shard-NNNNN.json"), (meshes, "no shards (no shard-NNNNN.json"),
                          (loose, "1 shard-*.h5 files but no completion markers")):
        code, out, err = cli(capsys, "inspect", folder, action)
        assert (code, out) == (2, "")
        assert err.startswith(f"clip2point inspect: error: {folder}: {found}") and "render --out" in err


@pytest.mark.parametrize("size,points,dist,radius", [
    (224, 8192, 1.0, 2), (256, 8192, 1.0, 2), (512, 8192, 1.0, 5), (48, 512, 1.0, 2), (128, 8192, 1.0, 2),
    (224, 2048, 1.0, 5), (512, 8192, 2.0, 2),
])
def test_coverage_radius_follows_the_point_spacing(size: int, points: int, dist: float, radius: int) -> None:
    """The 2 px calibrated at 224², 8,192 points, dist 1: the window 2r+1 grows with the pixel
    spacing of the points (∝ size / (dist·√P)), never below the 2 px the rasteriser needs."""
    assert coverage_radius(2, size, points, np.array([dist]), 60.0).tolist() == [radius]


def test_clean_views_at_512_verify_and_damaged_ones_are_still_caught(shared_data: Path, tmp_path: Path) -> None:
    """At 512² the 8,192 points of a table top seen from above lie ≈ 5 px apart, so a fixed 2 px
    coverage radius found only 72 % of a correct view near a point (need 75 %): verify called clean
    renders bad. With the radius scaled by the point spacing they verify clean, and mirrored,
    half-drawn, shifted and swapped views of an asymmetric table and the cow are still caught."""
    import trimesh

    top = trimesh.creation.cylinder(radius=0.9, height=0.05, sections=48)
    top.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0]))
    top.apply_translation([0, 0.4, 0])
    leg = trimesh.creation.box((0.08, 0.8, 0.08))
    leg.apply_translation([0.45, 0.0, 0.2])  # off-centre: the side view is not mirror-symmetric
    trimesh.util.concatenate([top, leg]).export(tmp_path / "table.obj")
    views = ViewPreset("big", elev=(90.0, 0.0, 45.0), azim=(0.0, 0.0, 30.0))  # top (as preset 10's view 1), side, oblique
    elev, azim, dist = (t.numpy() for t in views.tensors())
    size, settings = 512, VerifySettings()
    objects = {}
    with RGBRenderer(size) as renderer:
        for name, path in (("table", tmp_path / "table.obj"), ("cow", shared_data / "meshes" / "pytorch3d_cow" / "cow.obj")):
            mesh = load_mesh(path)
            points = sample_surface(mesh.mesh, 8192, seed=0)
            depth = project_depth(torch.from_numpy(points[:1024])[None], elev, azim, dist, size=size).depth[0].numpy()
            objects[name] = RenderedObject(name, "0", 0, "train", renderer.render(mesh, views, light_seed=0).rgb,
                                           depth, points, elev, azim, dist)

    def problems(o: RenderedObject, **changes: np.ndarray) -> dict[int, str]:
        arrays = {f.name: getattr(o, f.name) for f in dataclasses.fields(o)}
        arrays.update({k: np.ascontiguousarray(v) for k, v in changes.items()})
        arrays["content_hash"] = content_hash(arrays)
        found = list(check_object(arrays, settings))
        assert {check for check, _ in found} <= {"rgb-view"}, found
        return {int(message.split(":")[0].split()[1]) for _, message in found}

    table, cow = objects["table"], objects["cow"]
    row, col, visible = rgb_pixels(table.points, elev, azim, dist, yfov_deg=60.0, znear=1.0, size=size)
    foreground = (table.rgb < 255).any(axis=-1)
    fixed_2px = (dilate(splat(row, col, visible, size), 2) & foreground).sum(axis=(1, 2)) / foreground.sum(axis=(1, 2))
    assert fixed_2px[0] < settings.min_coverage  # the false alarm this test guards against
    assert problems(table) == set() and problems(cow) == set()
    assert 1 in problems(table, rgb=table.rgb[:, :, ::-1])  # the side view, its leg on the wrong side
    assert 2 in problems(cow, rgb=cow.rgb[:, :, ::-1])  # the oblique view
    half = cow.rgb.copy()
    half[1, :, size // 2:] = 255  # the right half of the front view left undrawn
    assert problems(cow, rgb=half) == {1}
    assert problems(table, rgb=np.roll(table.rgb, 1, axis=0)) == {0, 1, 2}  # views shifted by one
    assert problems(table, rgb=cow.rgb) == {0, 1, 2} and problems(cow, rgb=table.rgb) == {0, 1, 2}  # another object's


SCHEMA1 = Path(__file__).parent / "data" / "schema1"  # written by the code before schema 2 (commit 81a6fa5)


def test_a_schema_1_folder_written_by_the_previous_code_still_reads(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture) -> None:
    """Shards from before the xxh3 content hash: they open, their sha256 content hashes check out
    under ``verify``, ``summary`` says schema 1, the training reader reads them, and a shard the new
    code adds beside them (a resumed job) is schema 2 and verifies too."""
    from clip2point.datasets.shards.file_format import open_shard, read_object  # noqa: PLC0415
    from clip2point.datasets.torch_dataset import ShardDataset  # noqa: PLC0415
    from shard_fixtures import synthetic_object  # noqa: PLC0415

    root = tmp_path / "old"
    shutil.copytree(SCHEMA1, root)
    with open_shard(root / "shard-00000.h5") as h5:
        got = read_object(h5, 0, root / "shard-00000.h5")
    assert got["content_hash_algorithm"] == "sha256"
    # the previous code's digest of this object, pinned: the sha256 path is the old function
    assert got["content_hash"] == "495a2ef33a0e5b790820b433fed0d587baef879c4c9c4d9949c6ea030b7a3253"
    assert content_hash(got, "sha256") == got["content_hash"] != content_hash(got)
    code, out, _ = cli(capsys, "inspect", root, "summary", "--json")
    assert code == 0 and json.loads(out)["schema_version"] == 1 and json.loads(out)["objects"] == 3
    lenient = ("--min-precision", "0", "--min-coverage", "0", "--min-depth-inside", "0")  # drawn, not rendered views
    code, out, err = cli(capsys, "inspect", root, "verify", *lenient)
    assert code == 0, out + err
    assert len(ShardDataset(root)) == 3

    new = synthetic_object("obj-05", label=1, synset="01", seed=5)
    write_shard(root, 1, [new], [], attrs={"config": {"views": 2, "size": 32}, "class_names": ["airplane", "chair"]})
    build_index(root)
    with h5py.File(root / "shard-00001.h5", "r") as h5:
        assert h5.attrs["schema_version"] == 2 and "content_hash" in h5 and "content_sha256" not in h5
        assert h5["content_hash"][0].decode() == new.content_hash() and len(new.content_hash()) == 32
    code, out, err = cli(capsys, "inspect", root, "verify", *lenient)
    assert code == 0, out + err
    assert len(ShardDataset(root)) == 4

    with h5py.File(root / "shard-00000.h5", "r+") as h5:  # one pixel of a schema-1 object changes
        h5["rgb"][1, 0, 0, 0, 0] ^= 1
    code, out, err = cli(capsys, "inspect", root, "verify", *lenient)
    assert code != 0 and "obj-01: content hash differs" in out, out + err
    assert "shard-00000.h5: sha256 checksum differs from the index" in out  # the schema-1 file checksum
    assert re.match("its sha256 checksum differs", shard_problem(root, read_marker(root / "shard-00000.json")))
    assert shard_problem(root, read_marker(root / "shard-00001.json")) is None


def test_a_schema_1_marker_is_rewritten_as_it_was_written() -> None:
    """The folder's owner rewrites markers (a retry supersedes failures): a schema-1 marker keeps
    its bare ``sha256`` and version, so it is still the file the previous code reads."""
    from clip2point.datasets.shards.records import Marker  # noqa: PLC0415

    data = read_marker(SCHEMA1 / "shard-00000.json")
    marker = Marker.from_json(data)
    assert marker.checksum == "sha256:" + data["sha256"] and marker.schema_version == 1
    assert marker.to_json() == data
    superseded = marker.supersede({"obj-09": 1}).to_json()
    assert superseded["sha256"] == data["sha256"] and "checksum" not in superseded and superseded["schema_version"] == 1


def test_content_hash_is_xxh3_128_and_knows_the_old_algorithm(obj: MakeObject) -> None:
    arrays = {f.name: getattr(obj(0), f.name) for f in dataclasses.fields(RenderedObject)}
    assert re.fullmatch(r"[0-9a-f]{32}", content_hash(arrays)) and re.fullmatch(r"[0-9a-f]{64}", content_hash(arrays, "sha256"))
    with pytest.raises(ValueError, match="unknown content hash algorithm 'md5'"):
        content_hash(arrays, "md5")
