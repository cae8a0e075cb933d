"""K-shot sampling: exactly K training objects per class, plus optional validation objects
drawn from the rest of the training split, never from the test split (SPEC §7 protocol)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from clip2point.errors import ConfigError
from clip2point.validation import check_int


@dataclass(frozen=True)
class KShotSplit:
    """Indices into the training set: ``train`` (K per class) and a disjoint ``val``."""

    train: np.ndarray
    val: np.ndarray


def sample_kshot(labels: np.ndarray, shots: int, *, seed: int, val_per_class: int = 0,
                 num_classes: int | None = None, class_names: Sequence[str] | None = None) -> KShotSplit:
    """Draw ``shots`` objects of every class (and ``val_per_class`` others) with a seeded RNG.

    Classes are visited in label order and each draws from its own sorted index list, so the
    draw depends only on (labels, shots, seed, val_per_class)."""
    check_int(shots, "--shots", low=1)
    check_int(val_per_class, "--val-per-class", low=0)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if num_classes is None:
        num_classes = len(class_names) if class_names is not None else int(labels.max()) + 1
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in range(num_classes):
        members = np.flatnonzero(labels == c)
        need = shots + val_per_class
        if len(members) < need:
            name = f"{class_names[c]!r} (label {c})" if class_names is not None else str(c)
            raise ConfigError(f"class {name} has {len(members)} training objects, fewer than "
                              f"--shots + --val-per-class = {need}; lower one of them")
        chosen = rng.permutation(members)[:need]
        train.append(np.sort(chosen[:shots]))
        val.append(np.sort(chosen[shots:]))
    return KShotSplit(np.concatenate(train), np.concatenate(val))
