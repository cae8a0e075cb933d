"""``clip2point views``: one mesh to views.npz + a PNG sheet, through the real CLI entry point."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clip2point.cli import main
from clip2point.datasets.mesh_io import load_mesh
from clip2point.datasets.sampling import DEPTH_POINTS, STORED_POINTS, sample_surface


def test_views_writes_npz_and_sheet(tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture) -> None:
    mesh = shared_data / "meshes/pytorch3d_cow/cow.obj"
    out = tmp_path / "out"
    assert main(["views", str(mesh), "--out", str(out), "--views", "6", "--size", "64",
                 "--camera", "orthographic", "--seed", "3"]) == 0
    assert "views.npz (6 views)" in capsys.readouterr().out
    with np.load(out / "views.npz") as data:
        arrays = {k: data[k] for k in data.files}
    assert arrays["rgb"].shape == (6, 64, 64, 3) and arrays["rgb"].dtype == np.uint8
    assert arrays["mask"].shape == (6, 64, 64) and arrays["mask"].dtype == bool
    assert arrays["depth"].shape == (6, 64, 64) and arrays["depth"].dtype == np.float32
    np.testing.assert_array_equal(arrays["points"], sample_surface(load_mesh(mesh).mesh, STORED_POINTS, seed=3))
    assert arrays["depth_point_index"].shape == (DEPTH_POINTS,)
    np.testing.assert_array_equal(arrays["azim"], [0, 90, 180, 270, 0, 180])
    # aligned mode: every depth pixel lies on or next to the RGB silhouette (same camera)
    depth_fg = arrays["depth"] > 0
    assert depth_fg.sum() > 1000
    assert (depth_fg & arrays["mask"]).sum() / depth_fg.sum() > 0.8
    sheet = Image.open(out / "views.png")
    assert sheet.size[0] > 6 * 112 and sheet.size[1] > 2 * 112
    assert not (out / "views.npz.tmp.npz").exists()


def test_views_reports_an_unusable_mesh(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "empty.obj"
    bad.write_text("")
    assert main(["views", str(bad), "--out", str(tmp_path / "out")]) == 2
    assert f"clip2point views: error: {bad}: file is empty" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_views_light_and_shading_flags(tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture) -> None:
    """--light and --shading change the RGB views and are recorded in views.npz; a direction that
    starts with '-' is passed as --light=-X,Y,Z; a bad light is one line naming the flag."""
    mesh = shared_data / "meshes/classic/suzanne.obj"
    common = [str(mesh), "--views", "6", "--size", "48"]
    rgb = {}
    for name, extra in {"default": [], "below": ["--light=-0,-1,0", "--shading", "improved"]}.items():
        assert main(["views", *common, "--out", str(tmp_path / name), *extra]) == 0
        with np.load(tmp_path / name / "views.npz") as data:
            rgb[name] = data["rgb"]
            recorded = (str(data["light"]), str(data["shading"]))
        assert recorded == {"default": ("random", "faithful"), "below": ("-0,-1,0", "improved")}[name]
    assert not np.array_equal(rgb["default"], rgb["below"])
    with pytest.raises(SystemExit) as exit_info:
        main(["views", *common, "--out", str(tmp_path / "bad"), "--light", "sun"])
    assert exit_info.value.code == 2
    assert "argument --light: --light 'sun': use one of random, headlight, fixed" in capsys.readouterr().err
