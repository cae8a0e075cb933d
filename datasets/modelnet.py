"""ModelNet40 / ModelNet10 as ``PointSet``s, from either published form.

- The aligned meshes, ``CLASS/train|test/*.off``: 1,024 points sampled uniformly from each
  surface with a per-object seed (open3d's uniform sampling, the reference's way, or trimesh).
  The files are read by ``off_io.read_off``, the mesh loader's OFF reader (it accepts the
  ``OFF490 518 0`` header many ModelNet files have). The meshes are z-up, so the set is marked
  ``frame="z-up"``.
- ``modelnet40_ply_hdf5_2048``: ``ply_data_{train,test}N.h5`` (``data`` [N,2048,3], ``label``)
  and ``shape_names.txt``; the first ``num_points`` of each cloud are kept, as PointNet-style
  loaders do. These clouds are already y-up.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np

from clip2point.datasets import off_io
from clip2point.datasets.pointsets import PointSet, PointSetOptions, check_finite_clouds
from clip2point.errors import MeshLoadError, PathError
from clip2point.parallel import map_in_processes
from clip2point.seeds import POINTSET_SEEDS, derive_seed

log = logging.getLogger(__name__)

MODELNET10_CLASSES = ("bathtub", "bed", "chair", "desk", "dresser", "monitor", "night_stand", "sofa",
                      "table", "toilet")
# ModelNet40's class folders: the dataset's full class list, in label order.
MODELNET40_CLASSES = (
    "airplane", "bathtub", "bed", "bench", "bookshelf", "bottle", "bowl", "car", "chair", "cone", "cup", "curtain",
    "desk", "door", "dresser", "flower_pot", "glass_box", "guitar", "keyboard", "lamp", "laptop", "mantel", "monitor",
    "night_stand", "person", "piano", "plant", "radio", "range_hood", "sink", "sofa", "stairs", "stool", "table",
    "tent", "toilet", "tv_stand", "vase", "wardrobe", "xbox")
FULL_CLASS_LISTS = {"modelnet40": MODELNET40_CLASSES, "modelnet10": MODELNET10_CLASSES}
_H5_KEYS = ("data", "label")


def load_modelnet40(root: Path, split: str, options: PointSetOptions) -> PointSet:
    """ModelNet40 from an .off folder or the .h5 folder (whichever ``root`` holds)."""
    return _load(root, split, options, "modelnet40")


def load_modelnet10(root: Path, split: str, options: PointSetOptions) -> PointSet:
    """ModelNet10 from its own folder, or its 10 classes out of a ModelNet40 source."""
    pointset = _load(root, split, options, "modelnet10")
    if len(pointset.class_names) > len(MODELNET10_CLASSES):
        log.info("%s has %d classes; keeping the ModelNet10 ones", root, len(pointset.class_names))
        pointset = pointset.restrict_classes(MODELNET10_CLASSES)
    return pointset


def with_full_class_list(pointset: PointSet) -> PointSet:
    """``pointset`` relabelled into its dataset's full class list when its classes belong to it.

    A ModelNet copy where some classes lack a split folder would otherwise be scored against only
    the classes present (one class: 100 %, whatever the model does); zero-shot must choose among
    all 40 (or 10) prompts, as on the full dataset."""
    full = FULL_CLASS_LISTS.get(pointset.name)
    names = tuple(pointset.class_names)
    if full is None or names == full or not set(names) <= set(full):
        return pointset
    to_full = np.array([full.index(n) for n in names], dtype=np.int64)
    return replace(pointset, labels=to_full[pointset.labels], class_names=full)


def _load(root: Path, split: str, options: PointSetOptions, name: str) -> PointSet:
    if root.is_dir() and any(root.glob("ply_data_*.h5")):
        return load_modelnet_h5(root, split, options, name=name)
    return load_modelnet_off(root, split, options, name=name)


# ---------------------------------------------------------------------------- .off meshes


def sample_off(path: Path, num_points: int, *, seed: int, sampler: str = "open3d") -> np.ndarray:
    """``num_points`` float32 [n,3] points uniformly on the surface of one .off mesh."""
    vertices, faces = off_io.read_off(path)
    return sample_triangles(path, vertices, faces, num_points, seed=seed, sampler=sampler)


def sample_triangles(path: Path, vertices: np.ndarray, faces: np.ndarray, num_points: int, *, seed: int,
                     sampler: str = "open3d") -> np.ndarray:
    """``num_points`` float32 [n,3] points uniformly on a triangle mesh (``path`` names it in
    errors): the one surface sampling of evaluation meshes, ModelNet's .off files and
    Objaverse's GLBs alike, so both are sampled the same way."""
    area = np.linalg.norm(np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]],
                                   vertices[faces[:, 2]] - vertices[faces[:, 0]]), axis=1).sum()
    if not area > 0:
        raise MeshLoadError(path, "zero surface area (all faces are degenerate)")
    if sampler == "open3d":
        return _sample_open3d(vertices, faces, num_points, seed)
    import trimesh  # noqa: PLC0415

    from clip2point.datasets.sampling import sample_surface  # noqa: PLC0415

    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, process=False)
    return np.asarray(sample_surface(mesh, num_points, seed=seed), dtype=np.float32)


def _sample_open3d(vertices: np.ndarray, faces: np.ndarray, n: int, seed: int) -> np.ndarray:
    import open3d as o3d  # noqa: PLC0415  (heavy; only mesh sources need it)

    mesh = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(vertices), o3d.utility.Vector3iVector(faces))
    o3d.utility.random.seed(seed)
    return np.asarray(mesh.sample_points_uniformly(number_of_points=n).points, dtype=np.float32)


def modelnet_off_files(root: Path, split: str) -> tuple[tuple[str, ...], list[tuple[Path, int]]]:
    """Class names (sorted folder names) and (file, label) pairs of one split, sorted."""
    if not root.is_dir():
        raise PathError(root, "not a folder; ModelNet needs CLASS/train|test/*.off or ply_data_*.h5 files")
    classes = tuple(sorted(p.name for p in root.iterdir() if (p / split).is_dir()))
    if not classes:
        raise PathError(root, f"no CLASS/{split}/ folders and no ply_data_*.h5 files; "
                              "pass the ModelNet40/ModelNet10 folder")
    files = [(f, label) for label, c in enumerate(classes) for f in sorted((root / c / split).glob("*.off"))]
    if not files:
        raise PathError(root, f"no .off files under CLASS/{split}/")
    return classes, files


def load_modelnet_off(root: Path, split: str, options: PointSetOptions, *, name: str = "modelnet40") -> PointSet:
    """Sample every mesh of ``split``; ``options.workers`` > 1 spreads meshes over processes."""
    classes, files = modelnet_off_files(root, split)
    ids = [f.relative_to(root).as_posix() for f, _ in files]
    jobs = [(f, options.num_points, derive_seed(options.seed, oid, POINTSET_SEEDS), options.sampler)
            for (f, _), oid in zip(files, ids)]
    log.info("sampling %d points from each of %d %s %s meshes", options.num_points, len(files), name, split)
    clouds = map_in_processes(_sample_job, jobs, workers=options.workers)
    return PointSet(name, split, np.stack(clouds), np.array([lab for _, lab in files]), classes, tuple(ids),
                    frame="z-up", source=str(root), info={"format": "off", "sampler": options.sampler})


def _sample_job(path: Path, n: int, seed: int, sampler: str) -> np.ndarray:
    return sample_off(path, n, seed=seed, sampler=sampler)


# ---------------------------------------------------------------------------- .h5 files


def modelnet_h5_files(root: Path, split: str) -> list[Path]:
    """``ply_data_{split}N.h5`` in numeric order of N."""
    files = sorted(root.glob(f"ply_data_{split}*.h5"), key=lambda p: int(re.sub(r"\D", "", p.stem) or 0))
    if not files:
        raise PathError(root, f"no ply_data_{split}*.h5 files")
    return files


def read_shape_names(root: Path) -> tuple[str, ...]:
    path = root / "shape_names.txt"
    if not path.is_file():
        raise PathError(path, "missing; the modelnet40_ply_hdf5_2048 folder lists its class names there")
    names = tuple(ln.strip() for ln in path.read_text().splitlines() if ln.strip())
    if not names:
        raise PathError(path, "empty; expected one class name per line")
    return names


def read_h5_clouds(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``data`` float32 [N,P,3] and ``label`` int64 [N] of one h5 file (ModelNet or ScanObjectNN)."""
    try:
        with h5py.File(path, "r") as fh:
            missing = [k for k in _H5_KEYS if k not in fh]
            if missing:
                raise PathError(path, f"no {'/'.join(missing)} dataset; found {sorted(fh.keys())}")
            data = np.asarray(fh["data"][...], dtype=np.float32)
            labels = np.asarray(fh["label"][...]).reshape(-1).astype(np.int64)
    except OSError as exc:
        raise PathError(path, f"not a readable HDF5 file ({exc})") from exc
    if data.ndim != 3 or data.shape[-1] < 3 or len(data) != len(labels):
        raise PathError(path, f"expected data [N,P,3] and label [N]; got {data.shape} and {labels.shape}")
    data = data[..., :3]
    check_finite_clouds(data, [f"row {i}" for i in range(len(data))], path)  # before any sampling mixes rows
    return data, labels


def load_modelnet_h5(root: Path, split: str, options: PointSetOptions, *, name: str = "modelnet40") -> PointSet:
    """The PointNet h5 clouds, first ``num_points`` of each (they are stored in random order)."""
    classes = read_shape_names(root)
    parts, labels, ids = [], [], []
    for path in modelnet_h5_files(root, split):
        data, lab = read_h5_clouds(path)
        if data.shape[1] < options.num_points:
            raise PathError(path, f"clouds have {data.shape[1]} points, fewer than num_points={options.num_points}")
        if len(lab) and lab.max() >= len(classes):
            raise PathError(path, f"label {int(lab.max())} but shape_names.txt lists {len(classes)} classes")
        parts.append(data[:, :options.num_points])
        labels.append(lab)
        ids.extend(f"{path.name}:{i}" for i in range(len(lab)))
    return PointSet(name, split, np.concatenate(parts), np.concatenate(labels), classes, tuple(ids),
                    frame="y-up", source=str(root), info={"format": "h5"})
