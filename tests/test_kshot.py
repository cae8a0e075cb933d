"""K-shot draws: exactly K per class, disjoint validation, reproducible by seed."""

from __future__ import annotations

import numpy as np
import pytest

from clip2point.errors import ConfigError
from clip2point.eval.kshot import sample_kshot

LABELS = np.repeat(np.arange(5), [30, 20, 17, 40, 25])[np.random.default_rng(0).permutation(132)]


@pytest.mark.parametrize("shots, val", [(1, 0), (4, 2), (16, 1)])
def test_exactly_k_per_class_and_disjoint_validation(shots: int, val: int) -> None:
    split = sample_kshot(LABELS, shots, seed=7, val_per_class=val)
    np.testing.assert_array_equal(np.bincount(LABELS[split.train], minlength=5), [shots] * 5)
    np.testing.assert_array_equal(np.bincount(LABELS[split.val], minlength=5), [val] * 5)
    assert not set(split.train) & set(split.val)
    assert len(set(split.train)) == len(split.train)


def test_same_seed_same_draw_other_seed_other_draw() -> None:
    a = sample_kshot(LABELS, 8, seed=1, val_per_class=2)
    b = sample_kshot(LABELS.copy(), 8, seed=1, val_per_class=2)
    c = sample_kshot(LABELS, 8, seed=2, val_per_class=2)
    np.testing.assert_array_equal(a.train, b.train)
    np.testing.assert_array_equal(a.val, b.val)
    assert not np.array_equal(a.train, c.train)


def test_adding_validation_keeps_the_same_shots() -> None:
    """Validation objects come after the shots in one permutation per class, so asking for
    validation never changes which K objects train (runs with and without it compare fairly)."""
    without = sample_kshot(LABELS, 8, seed=3)
    with_val = sample_kshot(LABELS, 8, seed=3, val_per_class=4)
    np.testing.assert_array_equal(without.train, with_val.train)
    assert len(without.val) == 0


def test_too_few_objects_and_bad_values() -> None:
    with pytest.raises(ConfigError, match="class 2 has 17 training objects, fewer than --shots \\+ --val-per-class = 18"):
        sample_kshot(LABELS, 16, seed=0, val_per_class=2)
    with pytest.raises(ConfigError, match="--shots must be an integer >= 1; got 0"):
        sample_kshot(LABELS, 0, seed=0)
    with pytest.raises(ConfigError, match="class 5 has 0 training objects"):
        sample_kshot(LABELS, 1, seed=0, num_classes=6)
    names = ["airplane", "bag", "chair", "desk", "lamp", "sofa"]
    with pytest.raises(ConfigError, match="class 'sofa' \\(label 5\\) has 0 training objects"):
        sample_kshot(LABELS, 1, seed=0, class_names=names)
