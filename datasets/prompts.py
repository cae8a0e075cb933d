"""The class names that go into the zero-shot prompts (SPEC §6), separate from the label names.

Labels, folders and reports keep each dataset's own names; only the prompt text changes. The
"reference" set is CLIP2Point's own lists, shipped with the package (``reference_prompts.json``, a
copy of the reference's lists with file and line of each): ShapeNet-55 prompts say "ashcan",
"cellular telephone", "vessel"…; ModelNet40 uses spaces; ModelNet10 keeps "night_stand". The
"project" set is the dataset's names with underscores as spaces (what this package used before).
A class the reference has no prompt for (a custom shard folder's) keeps its own name.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Any, Sequence

from clip2point.datasets.taxonomy import SHAPENET_SYNSETS
from clip2point.validation import check_choice

log = logging.getLogger(__name__)

REFERENCE_FILE = Path(__file__).resolve().parent / "reference_prompts.json"
PROMPT_SETS = ("reference", "project")
# Which reference list prompts each dataset's classes (``pointsets.DATASETS`` names); shards hold ShapeNet.
REFERENCE_LISTS = {"modelnet40": "modelnet40", "modelnet10": "modelnet10", "scanobjectnn": "scanobjectnn",
                   "shards": "shapenet55_val", "shapenet": "shapenet55_val"}


@functools.cache
def reference_prompts() -> dict[str, Any]:
    """The shipped reference lists (``template``, and per list ``classes`` in label order)."""
    with open(REFERENCE_FILE, encoding="utf-8") as fh:
        return json.load(fh)


def reference_template() -> str:
    """The reference's prompt template, "image of a {}"."""
    return str(reference_prompts()["template"]["text"])


def _reference_by_label(list_name: str) -> dict[str, str]:
    """Label name (as this package spells it) -> the reference's prompt name for that label."""
    entry = reference_prompts()[list_name]
    classes = entry["classes"]
    if list_name == "shapenet55_val":  # paired with cat_labels' synsets by index
        return {SHAPENET_SYNSETS[s]: name for s, name in zip(entry["label_synsets"], classes)}
    labels = entry.get("label_names_underscored") or classes
    return {_canonical(label): name for label, name in zip(labels, classes)}


def _canonical(name: str) -> str:
    return name.strip().lower().replace("_", " ")


def prompt_class_names(dataset: str, class_names: Sequence[str], prompt_set: str = "reference") -> tuple[str, ...]:
    """The names that fill the template for ``class_names`` (label order) of ``dataset``."""
    check_choice(prompt_set, "--prompts", PROMPT_SETS)
    project = tuple(name.replace("_", " ") for name in class_names)
    list_name = REFERENCE_LISTS.get(dataset)
    if prompt_set == "project" or list_name is None:
        return project
    by_label = _reference_by_label(list_name)
    key = (lambda n: n) if list_name == "shapenet55_val" else _canonical
    names = tuple(by_label.get(key(name), own) for name, own in zip(class_names, project))
    unknown = [name for name in class_names if key(name) not in by_label]
    if unknown:
        log.info("%s: the reference has no prompt for %d class(es) (%s); they keep their own names",
                 dataset, len(unknown), ", ".join(unknown[:5]))
    return names
