"""ScanObjectNN as ``PointSet``s: any variant's h5 files (``data`` [N,2048,3], ``label`` [N]),
reduced to 1,024 points by farthest point sampling, the reference's way (SPEC §1).

The variants differ only in file names: ``training_objectdataset.h5`` / ``test_objectdataset.h5``
(OBJ_ONLY in ``main_split_nobg``, OBJ_BG in ``main_split``) and the PB_T50_RS
``*_objectdataset_augmentedrot_scale75.h5`` (in ``main_split``). ``--data`` may name a folder
holding one variant or one file of either split; the other split's file is found by swapping
``training_``/``test_``. ``--variant`` names the variant instead (``VARIANTS``, ``variant_file``).
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


# --variant NAME -> (folder of the official h5_files.zip, file-name suffix): the three variants
# papers report (ScanObjectNN's hkust-vgd release; PointBERT/Point-MAE's layout).
VARIANTS: dict[str, tuple[str, str]] = {
    "obj_only": ("main_split_nobg", ""),
    "obj_bg": ("main_split", ""),
    "pb_t50_rs": ("main_split", "_augmentedrot_scale75"),
}
# The release's other perturbed files, named so that one is never taken for a variant above.
_OTHER_SUFFIXES = {"_augmented25_norot": "pb_t25", "_augmented25rot": "pb_t25_r", "_augmentedrot": "pb_t50_r",
                   "_augmentedrot_scale75": "pb_t50_rs"}
_FOLDERS = {"main_split_nobg": "nobg", "main_split": "bg"}


def variant_file_name(variant: str, split: str) -> str:
    """``test_objectdataset_augmentedrot_scale75.h5`` & co.: the published name of a variant's split."""
    return f"{_PREFIX[split]}objectdataset{VARIANTS[variant][1]}.h5"


def declared_variants(path: Path) -> tuple[str, ...]:
    """The variants a file's name (and its folder, main_split or main_split_nobg) say it holds:
    one name, two when only the folder could tell OBJ_ONLY from OBJ_BG, none when the name
    follows no published pattern. PB_T50_RS files of ``main_split_nobg`` are "pb_t50_rs_nobg"."""
    stem = path.name.removesuffix(".h5")
    prefix = next((p for p in _PREFIX.values() if stem.startswith(p)), None)
    if prefix is None or not stem[len(prefix):].startswith("objectdataset"):
        return ()
    suffix = stem[len(prefix) + len("objectdataset"):]
    background = _FOLDERS.get(path.parent.name)
    if suffix == "":
        return {"nobg": ("obj_only",), "bg": ("obj_bg",)}.get(background or "", ("obj_only", "obj_bg"))
    if suffix not in _OTHER_SUFFIXES:
        return ()
    return (_OTHER_SUFFIXES[suffix] + ("_nobg" if background == "nobg" else ""),)


def variant_file(root: Path, variant: str, split: str, *, force: bool = False) -> Path:
    """The ``split`` file of ``variant`` under ``root`` (the h5_files folder, a variant's folder,
    or one file of either split). A file whose name says another variant is refused unless
    ``force``: a PB_T50_RS number reported as OBJ_BG is the mix-up reviewers ask about."""
    if variant not in VARIANTS:
        raise PathError(root, f"unknown ScanObjectNN variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    root = Path(root)
    if root.is_dir():
        folder = root / VARIANTS[variant][0]
        folder = folder if folder.is_dir() else root
        path = folder / variant_file_name(variant, split)
        if not path.is_file():
            found = ", ".join(sorted(p.name for p in folder.glob("*.h5"))) or "no .h5 file"
            raise PathError(folder, f"no {path.name} (the {split} file of --variant {variant}); it holds {found}")
    else:
        path = scanobjectnn_file(root, split)
    declared = declared_variants(path)
    if declared and variant not in declared and not force:
        raise PathError(path, f"its name says ScanObjectNN variant {' or '.join(declared)}, not --variant {variant}; "
                              "pass --force-variant to score it as that anyway")
    return path


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
                              "pass --variant (obj_only, obj_bg, pb_t50_rs) or the file of the variant you want")
    return matches[0]


def fps_subsample(points: np.ndarray, n: int) -> np.ndarray:
    """[N,P,3] -> [N,n,3] by farthest point sampling (helper of ``datasets.sampling``)."""
    import torch  # noqa: PLC0415

    from clip2point.datasets.sampling import farthest_point_sample  # noqa: PLC0415

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
                    source=str(path), info={"format": "h5", "file": path.name,
                                            "variant": "/".join(declared_variants(path)) or "unknown"})
