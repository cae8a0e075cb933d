"""Top-k accuracy from logits: ties ranked as argmax breaks them, so top-1 is the accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from clip2point.errors import ConfigError
from clip2point.eval.report import (classification_report, classification_report_from_logits, parse_topk,
                                    topk_accuracy, true_class_rank)


def test_ranks_break_ties_as_argmax_does() -> None:
    logits = np.array([[1.0, 1.0, 0.0],   # true 1 ties with class 0, which argmax takes: rank 1
                       [0.0, 2.0, 1.0],   # true 2 behind class 1: rank 1
                       [3.0, 2.0, 1.0],   # true 0 first: rank 0
                       [0.5, 0.5, 0.5]])  # true 0 ties with all, lowest index: rank 0
    labels = np.array([1, 2, 0, 0])
    assert true_class_rank(logits, labels).tolist() == [1, 1, 0, 0]
    assert topk_accuracy(logits, labels, (1, 2, 5)) == {"top1": 50.0, "top2": 100.0, "top5": 100.0}
    assert classification_report(logits.argmax(1), labels, ("a", "b", "c")).accuracy == 50.0


def test_report_from_logits_keeps_accuracy_as_top1() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(200, 10)).round(1)  # rounding makes ties common
    labels = rng.integers(0, 10, 200)
    report = classification_report_from_logits(logits, labels, tuple("abcdefghij"), (1, 3, 5))
    assert report.accuracy == report.topk["top1"]
    assert report.topk["top1"] <= report.topk["top3"] <= report.topk["top5"]
    expected = 100.0 * np.mean([lab in np.argsort(-row, kind="stable")[:3] for row, lab in zip(logits, labels)])
    assert report.topk["top3"] == pytest.approx(expected)
    assert list(report.to_json())[:5] == ["accuracy", "mean_class_accuracy", "top1", "top3", "top5"]


@pytest.mark.parametrize("text, expected", [("1,3,5", (1, 3, 5)), ("5, 1,1", (1, 5)), ("3", (3,))])
def test_parse_topk(text: str, expected: tuple[int, ...]) -> None:
    assert parse_topk(text) == expected


@pytest.mark.parametrize("text", ["", "0,1", "a,b", "1.5"])
def test_parse_topk_refuses_bad_lists(text: str) -> None:
    with pytest.raises(ConfigError, match="--topk"):
        parse_topk(text)
