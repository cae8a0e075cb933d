"""Objaverse-LVIS as a ``PointSet``: the zero-shot benchmark of OpenShape and ULIP-2 (1,156 LVIS
categories), read from the folder ``objaverse.load_objects`` fills (``lvis-annotations.json`` +
``glbs/``; ``datasets.mesh_collections.build_objaverse_index`` reads it, as rendering does).

Each GLB is loaded through ``render.mesh_io.load_mesh`` (its asset reads confined to the file
itself, within the byte and pixel budget) and sampled as ModelNet's meshes are
(``modelnet.sample_triangles``, per-object seed). The class list is every category of the
annotation file, so a partial download is still scored against all of them (the categories
without objects are named in the result); objects listed but not downloaded, or whose mesh
cannot be used, are named in ``info["not_scored"]`` with the reason instead of stopping the run.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from clip2point.datasets.pointsets import PointSet, PointSetOptions
from clip2point.errors import ConfigError, MeshLoadError, PathError
from clip2point.parallel import map_in_processes
from clip2point.seeds import POINTSET_SEEDS, derive_seed

log = logging.getLogger(__name__)

NAME = "objaverse-lvis"


def load_objaverse_lvis(root: Path, split: str, options: PointSetOptions) -> PointSet:
    """Every downloaded LVIS object of ``root`` as ``options.num_points`` surface points."""
    from clip2point.datasets.mesh_collections import build_objaverse_index  # noqa: PLC0415

    if split != "test":
        raise ConfigError(f"--dataset {NAME} has only a test split (every LVIS-annotated object); got {split!r}")
    index, class_names = build_objaverse_index(root, lvis=True)
    not_scored = [{"id": f.object_id, "category": f.synset, "reason": f.reason} for f in index.failed]
    jobs = [(e.mesh_path, e.asset_root, options.num_points, derive_seed(options.seed, e.object_id, POINTSET_SEEDS), options.sampler)
            for e in index.entries]
    log.info("sampling %d points from each of %d Objaverse-LVIS meshes", options.num_points, len(jobs))
    clouds = map_in_processes(_sample_glb, jobs, workers=options.workers)
    kept = [(entry, cloud) for entry, cloud in zip(index.entries, clouds) if not isinstance(cloud, str)]
    not_scored += [{"id": e.object_id, "category": e.synset, "reason": cloud}
                   for e, cloud in zip(index.entries, clouds) if isinstance(cloud, str)]
    for row in not_scored:
        log.warning("%s: %s not scored: %s", root, row["id"], row["reason"])
    if not kept:
        raise PathError(root, f"none of the {len(index.entries) + len(index.failed)} LVIS objects could be sampled "
                              "(see the warnings above); download the GLBs with objaverse.load_objects")
    points = np.stack([cloud for _, cloud in kept])
    return PointSet(NAME, split, points, np.array([e.label for e, _ in kept]), class_names,
                    tuple(e.object_id for e, _ in kept), frame="y-up", source=str(root),
                    info={"format": "objaverse-glb", "sampler": options.sampler, "not_scored": not_scored})


def _sample_glb(path: Path, asset_root: Path | None, n: int, seed: int, sampler: str) -> np.ndarray | str:
    """The cloud of one GLB, or the reason it cannot be used (a worker returns it rather than
    raising, so one broken upload does not cost the whole set)."""
    from clip2point.datasets.modelnet import sample_triangles  # noqa: PLC0415
    from clip2point.datasets.mesh_io import load_mesh  # noqa: PLC0415  (trimesh only when meshes are read)

    try:
        mesh = load_mesh(path, asset_root=asset_root).mesh
        vertices = np.asarray(mesh.vertices, dtype=np.float64)
        return sample_triangles(path, vertices, np.asarray(mesh.faces, dtype=np.int32), n, seed=seed, sampler=sampler)
    except MeshLoadError as exc:
        return str(exc)
