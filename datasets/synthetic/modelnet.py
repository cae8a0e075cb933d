"""The synthetic set's meshes in ModelNet's published layout: ``OUT/CLASS/train|test/NAME.off``.

ModelNet files are z-up, in their own units, with triangle lists in OFF. Exporting the
synthetic meshes that way lets the whole ModelNet evaluation path run on a CPU without the
download: ``read_off``, open3d surface sampling, normalisation, and the z-up → y-up rotation of
SPEC §6 (the export applies its inverse, so a wrong rotation on the way in shows up as a wrong
frame for the encoder, as it would on real ModelNet). The split is the synthetic set's own, so
objects held out from rendering-based training stay held out here. The meshes are scaled by
``scale`` (ModelNet's units are not the unit sphere): scores must not depend on it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from clip2point.atomic_io import write_json_atomic
from clip2point.datasets.synthetic import read_manifest
from clip2point.datasets.taxonomy import synset_name
from clip2point.errors import PathError

log = logging.getLogger(__name__)

DEFAULT_SCALE = 20.0
MANIFEST = "manifest.json"


def write_off(path: Path, vertices: np.ndarray, faces: np.ndarray) -> Path:
    """A plain OFF file: header, counts, ``x y z`` rows, ``3 a b c`` rows."""
    lines = ["OFF", f"{len(vertices)} {len(faces)} 0"]
    lines += [f"{x:.6f} {y:.6f} {z:.6f}" for x, y, z in vertices]
    lines += [f"3 {a} {b} {c}" for a, b, c in faces]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


def export_modelnet_layout(synthetic_root: str | Path, out: str | Path, *, splits: Sequence[str] = ("train", "test"),
                           scale: float = DEFAULT_SCALE) -> Path:
    """Write every object of ``splits`` as ``out/CLASS/SPLIT/CLASS_MODELID.off`` (z-up, × ``scale``).

    Class folders use the taxonomy's names with spaces as underscores (ModelNet's
    ``night_stand`` style; prompts turn them back into spaces). Returns ``out``."""
    from clip2point.datasets.frames import MODELNET_TO_SHAPENET  # noqa: PLC0415
    from clip2point.datasets.mesh_io import load_mesh  # noqa: PLC0415

    root, out = Path(synthetic_root), Path(out)
    read_manifest(root)  # refuses a folder that is not a complete synthetic set
    count = 0
    for split in splits:
        listing = root / f"{split}.txt"
        if not listing.is_file():
            raise PathError(listing, f"missing; the synthetic set lists its {split} objects there")
        for line in listing.read_text().split():
            synset, model = line.removesuffix(".npy").split("-", 1)
            name = synset_name(synset).replace(" ", "_")
            mesh = load_mesh(root / synset / model / "models" / "model_normalized.obj").mesh
            folder = out / name / split
            folder.mkdir(parents=True, exist_ok=True)
            # y-up -> z-up: the inverse (transpose) of the rotation evaluation applies
            write_off(folder / f"{name}_{model}.off", scale * (mesh.vertices @ MODELNET_TO_SHAPENET.T), mesh.faces)
            count += 1
    # written last: its presence means the folder is complete (a rerun of the demo skips it)
    write_json_atomic(out / MANIFEST, {"format": "clip2point-synthetic-modelnet-layout", "source": str(root),
                                       "splits": list(splits), "scale": scale, "meshes": count})
    log.info("wrote %d meshes in ModelNet's layout (z-up, x%g) under %s", count, scale, out)
    return out
