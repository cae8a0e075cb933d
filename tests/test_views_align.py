"""``views --align modelnet`` stands a z-up ModelNet mesh upright, as ``project --align`` does."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clip2point.cli import main
from clip2point.datasets.frames import align_modelnet


def _tall_box_off(path: Path) -> Path:
    """A box 0.2 x 0.4 x 2 (tall along z, ModelNet's up)."""
    corners = [(x, y, z) for x in (-0.1, 0.1) for y in (-0.2, 0.2) for z in (-1.0, 1.0)]
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    lines = ["OFF", f"{len(corners)} {len(quads)} 0", *(f"{x} {y} {z}" for x, y, z in corners),
             *(f"4 {a} {b} {c} {d}" for a, b, c, d in quads)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_views_align_modelnet_rotates_the_mesh(tmp_path: Path) -> None:
    mesh = _tall_box_off(tmp_path / "box.off")
    common = ["views", str(mesh), "--views", "6", "--size", "32"]
    assert main([*common, "--out", str(tmp_path / "plain")]) == 0
    assert main([*common, "--out", str(tmp_path / "aligned"), "--align", "modelnet"]) == 0
    plain = np.load(tmp_path / "plain" / "views.npz")
    aligned = np.load(tmp_path / "aligned" / "views.npz")
    assert np.ptp(aligned["points"], axis=0).argmax() == 1  # upright: tallest along y
    np.testing.assert_allclose(aligned["points"], align_modelnet(plain["points"]), atol=1e-5)
    assert not np.array_equal(aligned["rgb"], plain["rgb"])
