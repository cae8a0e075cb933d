"""ScanObjectNN as ``PointSet``s: any variant's h5 files (``data`` [N,2048,3], ``label`` [N]),
reduced to 1,024 points by farthest point sampling, the reference's way (SPEC §1).

The variants differ only in file names: ``training_objectdataset.h5`` / ``test_objectdataset.h5``
(OBJ_ONLY in ``main_split_nobg``, OBJ_BG in ``main_split``) and the PB_T50_RS
``*_objectdataset_augmentedrot_scale75.h5``. ``--data`` may name a folder holding one variant or
one file of either split; the other split's file is found by swapping ``training_``/``test_``.
Scans are already y-up, so they are not rotated.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from clip2point.datasets.modelnet import read_h5_clouds
from clip2point.datasets.pointsets import PointSet, PointSetOptions
from clip2point.errors import PathError

log = logging.getLogger(__name__)

SCANOBJECTNN_CLASSES = ("bag", "bin", "box", "cabinet", "chair", "desk", "display", "door", "shelf", "table",
                        "bed", "pillow", "sink", "sofa", "toilet")
_PREFIX = {"train": "training_", "test": "test_"}
_FPS_CHUNK = 256  # clouds per farthest-point-sampling batch (bounds memory on large splits)


def scanobjectnn_file(path: Path, split: str) -> Path:
    """The h5 file of ``split`` for a folder or for a file of either split."""
    prefix = _PREFIX[split]
    if path.is_file():
        name = path.name
        for other in _PREFIX.values():
            if name.startswith(other):
                candidate = path.with_name(prefix + name[len(other):])
                if not candidate.is_file():
                    raise PathError(candidate, f"the {split} file beside {name} does not exist")
                return candidate
        raise PathError(path, "not a ScanObjectNN file name (expected training_*.h5 or test_*.h5)")
    matches = sorted(path.glob(f"{prefix}*.h5"))
    if not matches:
        raise PathError(path, f"no {prefix}*.h5 file; pass the ScanObjectNN variant folder or one of its files")
    if len(matches) > 1:
        raise PathError(path, f"holds several variants ({', '.join(m.name for m in matches)}); "
                              "pass the file of the variant you want")
    return matches[0]


def fps_subsample(points: np.ndarray, n: int) -> np.ndarray:
    """[N,P,3] -> [N,n,3] by farthest point sampling (helper of ``render.sampling``)."""
    import torch  # noqa: PLC0415

    from clip2point.render.sampling import farthest_point_sample  # noqa: PLC0415

    out = np.empty((len(points), n, 3), dtype=np.float32)
    for start in range(0, len(points), _FPS_CHUNK):
        chunk = torch.from_numpy(np.ascontiguousarray(points[start:start + _FPS_CHUNK]))
        idx = farthest_point_sample(chunk, n)
        out[start:start + len(chunk)] = torch.gather(chunk, 1, idx[..., None].expand(-1, -1, 3).long()).numpy()
    return out


def load_scanobjectnn(root: Path, split: str, options: PointSetOptions) -> PointSet:
    """One split of one variant; labels must be the 15 standard classes."""
    path = scanobjectnn_file(root, split)
    data, labels = read_h5_clouds(path)
    if data.shape[1] < options.num_points:
        raise PathError(path, f"clouds have {data.shape[1]} points, fewer than num_points={options.num_points}")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(SCANOBJECTNN_CLASSES)):
        raise PathError(path, f"labels span [{labels.min()}, {labels.max()}]; ScanObjectNN has 15 classes")
    if data.shape[1] > options.num_points:
        log.info("farthest point sampling %d -> %d points for %d clouds of %s",
                 data.shape[1], options.num_points, len(data), path.name)
        data = fps_subsample(data, options.num_points)
    ids = tuple(f"{path.name}:{i}" for i in range(len(labels)))
    return PointSet("scanobjectnn", split, data, labels, SCANOBJECTNN_CLASSES, ids, frame="y-up",
                    source=str(path), info={"format": "h5", "variant": path.name})
