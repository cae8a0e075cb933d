"""``clip2point project``: formats in, npz + PNG out, the same maps as the library call, and a
clear one-line error for every bad input file."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from clip2point.cli import main
from clip2point.datasets.frames import align_modelnet
from clip2point.datasets.point_io import read_points
from clip2point.render.cameras import get_view_preset
from clip2point.render.depth import depth_to_image, project_depth


def cloud(n: int = 300, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 3)) * [0.6, 0.3, 0.2] + [2.0, -1.0, 0.5]).astype(np.float32)


def unit_sphere(points: np.ndarray) -> np.ndarray:
    centred = points - points.mean(axis=-2, keepdims=True)
    return centred / np.linalg.norm(centred, axis=-1, keepdims=True).max(axis=-2, keepdims=True)


def test_projects_a_cloud_like_the_library(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "cloud.npy"
    np.save(src, cloud())
    assert main(["project", str(src), "--out", str(tmp_path / "out" / "maps"), "--views", "6"]) == 0
    assert "-> " in capsys.readouterr().out
    with np.load(tmp_path / "out" / "maps.npz") as data:
        depth, mask, image = data["depth"], data["mask"], data["image"]
        assert depth.shape == mask.shape == image.shape == (1, 6, 224, 224)
        assert depth.dtype == np.float32 and mask.dtype == bool and str(data["preset"]) == "clip2point"
        assert (depth[~mask] == 0).all() and (image[~mask] == 1.0).all()
    expected = project_depth(torch.from_numpy(unit_sphere(cloud())[None]), *get_view_preset(6).tensors())
    np.testing.assert_allclose(depth, expected.depth.numpy(), atol=1e-5)
    np.testing.assert_allclose(image, depth_to_image(expected).numpy(), atol=1e-5)
    sheet = Image.open(tmp_path / "out" / "maps.png")
    assert sheet.size[0] > 6 * 112 and sheet.size[1] > 112


def test_text_ply_and_batches(tmp_path: Path) -> None:
    points = cloud(120)
    txt, xyz = tmp_path / "c.txt", tmp_path / "c.xyz"
    np.savetxt(txt, points, delimiter=",", header="x,y,z")
    np.savetxt(xyz, points)
    import trimesh

    ply = tmp_path / "c.ply"
    trimesh.PointCloud(points).export(ply)
    for path in (txt, xyz, ply):
        np.testing.assert_allclose(read_points(path)[0], points, atol=1e-5)
    batch = tmp_path / "batch.npy"
    np.save(batch, np.stack([cloud(200, 1), cloud(200, 2), cloud(200, 3)]))
    out = tmp_path / "b"
    assert main(["project", str(batch), "--out", str(out), "--preset", "pointclip-v2", "--views", "10"]) == 0
    with np.load(tmp_path / "b.npz") as data:
        assert data["depth"].shape == (3, 10, 110, 110) and data["image"].shape == (3, 10, 224, 224)


def test_align_dist_and_size_options(tmp_path: Path) -> None:
    src = tmp_path / "c.npy"
    np.save(src, cloud())
    out = tmp_path / "o.npz"
    argv = ["project", str(src), "--out", str(out), "--views", "6", "--align", "modelnet", "--dist", "0.9", "--size", "64"]
    assert main(argv) == 0
    expected = project_depth(
        torch.from_numpy(align_modelnet(unit_sphere(cloud()))[None]), *get_view_preset(6).tensors()[:2], 0.9, size=64
    )
    with np.load(out) as data:
        np.testing.assert_allclose(data["depth"], expected.depth.numpy(), atol=1e-5)
        assert float(data["dist"]) == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.npy", b"not numpy", "not a readable .npy array"),
        ("flat.npy", None, r"points must be \[P,3\] or \[B,P,3\]; got shape \(10, 2\)"),
        ("nan.npy", "nan", "NaN or infinite"),
        ("short.xyz", b"1 2\n", "line 1 has 2 values; need x y z"),
        ("words.txt", b"1 2 3\na b c\n", "line 2 is not numeric"),
        ("same.xyz", b"1 1 1\n1 1 1\n", "zero radius"),
        ("cloud.csv", b"1,2,3\n", "unsupported point-cloud format .csv"),
        ("empty.txt", b"", "the file holds no points"),
    ],
)
def test_bad_inputs_name_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: object, message: str
) -> None:
    path = tmp_path / name
    if content is None:
        np.save(path, np.zeros((10, 2), dtype=np.float32))
    elif content == "nan":
        np.save(path, np.full((4, 3), np.nan, dtype=np.float32))
    else:
        path.write_bytes(content)
    assert main(["project", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert re.search(message, err), err
    assert not (tmp_path / "o.npz").exists()


def test_missing_file_and_bad_dist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["project", str(tmp_path / "nope.npy"), "--out", str(tmp_path / "o")]) == 2
    assert "nope.npy: no such point-cloud file" in capsys.readouterr().err
    src = tmp_path / "c.npy"
    np.save(src, cloud())
    for dist in ("-1", "1e9"):
        assert main(["project", str(src), "--out", str(tmp_path / "o"), "--dist", dist]) == 2
        assert "--dist must be a number in (0, 50]" in capsys.readouterr().err


@pytest.mark.parametrize("size", ["100000", "4"])
def test_size_is_capped_like_views(tmp_path: Path, capsys: pytest.CaptureFixture[str], size: str) -> None:
    src = tmp_path / "c.npy"
    np.save(src, cloud())
    assert main(["project", str(src), "--out", str(tmp_path / "o"), "--size", size]) == 2
    assert f"--size must be an integer in [8, 4096]; got {size} (pixels per side)" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()
