"""The point set an evaluation scores: ``--data`` resolved through ``--variant`` (ScanObjectNN)
and ``--split all`` (train + test, as some ScanObjectNN papers report), and the record of both
that every result JSON carries, so a number always says which variant and split it is on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from clip2point.datasets.pointsets import SPLITS, PointSet, load_pointset
from clip2point.errors import ConfigError
from clip2point.eval.settings import DataSettings
from clip2point.validation import check_choice

EVAL_SPLITS = (*SPLITS, "all")


def split_source(data: DataSettings, split: str) -> Path:
    """The file or folder holding ``split``: ``--data`` itself, or the ``--variant`` file in it."""
    if data.variant is None:
        return data.data
    from clip2point.datasets.scanobjectnn import variant_file  # noqa: PLC0415

    return variant_file(data.data, data.variant, split, force=data.force_variant)


def load_eval_split(data: DataSettings, split: str) -> PointSet:
    """One split, or "all": the train and test clouds together (ids keep their file, so none clash),
    labelled in the dataset's full class list (``modelnet.with_full_class_list``): a copy where some
    classes have no objects is still scored against every class."""
    from clip2point.datasets.modelnet import with_full_class_list  # noqa: PLC0415

    check_choice(split, "--split", EVAL_SPLITS)
    parts = [with_full_class_list(load_pointset(data.dataset, split_source(data, s), s, data.pointset_options()))
             for s in (SPLITS if split == "all" else (split,))]
    return parts[0] if len(parts) == 1 else concat_pointsets(parts, split)


def concat_pointsets(parts: list[PointSet], split: str) -> PointSet:
    """Point sets of one dataset and class list as one, named ``split``."""
    first = parts[0]
    for other in parts[1:]:
        if other.class_names != first.class_names or other.frame != first.frame:
            raise ConfigError(f"{other.source}: its classes or frame differ from {first.source}'s; "
                              "--split all needs both splits of one dataset")
    return PointSet(first.name, split, np.concatenate([p.points for p in parts]),
                    np.concatenate([p.labels for p in parts]), first.class_names,
                    tuple(i for p in parts for i in p.object_ids), frame=first.frame,
                    source=" + ".join(p.source for p in parts), info={**first.info, "parts": [p.split for p in parts]})


def data_record(data: DataSettings, split: str, pointset: PointSet | None = None) -> dict[str, Any]:
    """``dataset``, ``variant`` (asked for, else what the scored file's name says; None off
    ScanObjectNN), ``split`` and ``source`` of a result: the keys ``clip2point report`` groups by."""
    variant = None
    if data.dataset == "scanobjectnn":
        from clip2point.datasets.scanobjectnn import declared_variants  # noqa: PLC0415

        scored = Path(pointset.source.split(" + ")[0]) if pointset is not None else None  # "all": train + test
        variant = data.variant or ("/".join(declared_variants(scored)) if scored else "") or "unknown"
    record = {"dataset": data.dataset, "variant": variant, "split": split,
              "source": pointset.source if pointset is not None else str(data.data), "forced_variant": data.force_variant}
    if pointset is not None and "not_scored" in pointset.info:  # listed objects left out, each with its reason
        record["not_scored"] = pointset.info["not_scored"]
    return record
