"""The synthetic set written in ModelNet's layout reads back through the ModelNet loader in
ShapeNet's frame: the export's z-up rotation is the exact inverse of evaluation's alignment."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from clip2point.cli import main
from clip2point.datasets.frames import align_modelnet
from clip2point.datasets.mesh_io import load_mesh
from clip2point.datasets.modelnet import load_modelnet_off
from clip2point.datasets.off_io import read_off
from clip2point.datasets.pointsets import PointSetOptions


def test_synth_writes_modelnet_layout_in_z_up(tmp_path: Path, capsys) -> None:
    synthetic, modelnet = tmp_path / "syn", tmp_path / "mn"
    assert main(["synth", str(synthetic), "--per-class", "2", "--classes", "chair,trash bin",
                 "--modelnet-out", str(modelnet)]) == 0
    assert f"ModelNet layout: {modelnet}" in capsys.readouterr().out
    manifest = json.loads((modelnet / "manifest.json").read_text())
    assert manifest["meshes"] == 4 and manifest["splits"] == ["train", "test"]
    test = load_modelnet_off(modelnet, "test", PointSetOptions(num_points=256))
    assert test.class_names == ("chair", "trash_bin") and list(test.labels) == [0, 1] and test.frame == "z-up"
    # one file against its source mesh: aligning the z-up vertices gives the y-up mesh back, x scale
    line = next(ln for ln in (synthetic / "test.txt").read_text().split() if ln.startswith("03001627-"))  # chair
    synset, model = line.removesuffix(".npy").split("-", 1)
    vertices, faces = read_off(modelnet / "chair" / "test" / f"chair_{model}.off")
    source = load_mesh(synthetic / synset / model / "models" / "model_normalized.obj").mesh
    np.testing.assert_allclose(align_modelnet(vertices) / manifest["scale"], source.vertices, atol=1e-5)
    np.testing.assert_array_equal(faces, source.faces)
    # ModelNet units, not the unit sphere: evaluation must normalise
    assert np.linalg.norm(vertices, axis=1).max() > 5
