"""Classification results a person can read and a program can diff: overall and per-class
accuracy, the confusion matrix as a PNG, and a JSON file carrying the configuration and the
code version that produced the numbers."""

from __future__ import annotations

import json
import logging
import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from clip2point.atomic_io import atomic_path
from clip2point.datasets.prompt_templates import scored_templates
from clip2point.errors import ConfigError
from clip2point.provenance import code_version, to_jsonable
from clip2point.validation import check_int_list

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClassificationReport:
    """``confusion[i, j]`` counts objects of true class i predicted as j."""

    accuracy: float
    per_class: dict[str, float]
    count: int
    confusion: np.ndarray
    class_names: tuple[str, ...]
    topk: dict[str, float] = field(default_factory=dict)  # {"top1": %, "top5": %} when logits were kept

    @property
    def classes_without_objects(self) -> tuple[str, ...]:
        """Classes scored against that have no objects here (their accuracy means nothing)."""
        return tuple(n for n, total in zip(self.class_names, self.confusion.sum(axis=1)) if not total)

    @property
    def mean_class_accuracy(self) -> float:
        """Mean over the classes that have test objects (ScanObjectNN papers report it too)."""
        present = self.confusion.sum(axis=1) > 0
        values = [v for v, p in zip(self.per_class.values(), present) if p]
        return float(np.mean(values)) if values else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "mean_class_accuracy": self.mean_class_accuracy, **self.topk,
                "per_class": self.per_class, "count": self.count, "confusion": self.confusion.tolist(),
                "classes_without_objects": list(self.classes_without_objects)}


def classification_report(predictions: np.ndarray, labels: np.ndarray,
                          class_names: Sequence[str]) -> ClassificationReport:
    """Accuracies in percent from predicted and true labels."""
    predictions = np.asarray(predictions, dtype=np.int64).reshape(-1)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if predictions.shape != labels.shape:
        raise ValueError(f"{len(predictions)} predictions for {len(labels)} labels")
    c = len(class_names)
    return report_from_confusion(np.bincount(labels * c + predictions, minlength=c * c).reshape(c, c), class_names)


DEFAULT_TOPK = (1, 5)


def parse_topk(text: str) -> tuple[int, ...]:
    """``--topk 1,3,5`` → (1, 3, 5): sorted, distinct, each at least 1."""
    try:
        ks = sorted({int(part) for part in str(text).split(",") if part.strip()})
    except ValueError:
        raise ConfigError(f"--topk takes comma-separated whole numbers such as 1,3,5; got {text!r}") from None
    return check_int_list(tuple(ks), "--topk", low=1)


def true_class_rank(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per object, how many classes rank above the true one: a higher logit, or an equal one at
    a lower index, so that rank 0 is exactly ``argmax == label`` (top-1 equals accuracy, ties too)."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if logits.ndim != 2 or len(logits) != len(labels):
        raise ValueError(f"logits must be [N,C] for {len(labels)} labels; got shape {logits.shape}")
    true = logits[np.arange(len(labels)), labels][:, None]
    before = np.arange(logits.shape[1])[None, :] < labels[:, None]
    return ((logits > true) | ((logits == true) & before)).sum(axis=1)


def topk_accuracy(logits: np.ndarray, labels: np.ndarray, ks: Sequence[int] = DEFAULT_TOPK) -> dict[str, float]:
    """``{"top1": %, "top5": %, ...}`` of logits [N,C]: the true class among the k best. A k of
    C or more is 100% by definition (ScanObjectNN has 15 classes; a top-20 would say nothing)."""
    ranks = true_class_rank(logits, labels)
    return {f"top{k}": float(100.0 * np.mean(ranks < k)) if len(ranks) else 0.0 for k in ks}


def classification_report_from_logits(logits: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                                      ks: Sequence[int] = DEFAULT_TOPK) -> ClassificationReport:
    """``classification_report`` of the logits' argmax, with the top-k accuracies of ``ks``."""
    logits = np.asarray(logits)
    report = classification_report(logits.argmax(axis=1) if logits.size else np.zeros(0, np.int64), labels,
                                   class_names)
    return replace(report, topk=topk_accuracy(logits, labels, ks))


def report_from_confusion(confusion: np.ndarray, class_names: Sequence[str]) -> ClassificationReport:
    """Accuracies of a confusion matrix (also of one summed over seeds). A class without
    objects gets per-class accuracy 0 and is left out of the mean class accuracy."""
    confusion = np.asarray(confusion, dtype=np.int64)
    totals = confusion.sum(axis=1)
    per_class = {name: float(100.0 * confusion[i, i] / totals[i]) if totals[i] else 0.0
                 for i, name in enumerate(class_names)}
    count = int(totals.sum())
    accuracy = float(100.0 * np.trace(confusion) / max(count, 1))
    return ClassificationReport(accuracy, per_class, count, confusion, tuple(class_names))


def format_report(report: ClassificationReport, title: str) -> str:
    """Result lines for the terminal: overall, then per class sorted from worst to best."""
    topk = "".join(f", top-{k[3:]} {v:.2f}%" for k, v in report.topk.items() if k != "top1")
    lines = [f"{title}: accuracy {report.accuracy:.2f}% ({report.count} objects){topk}, "
             f"mean class accuracy {report.mean_class_accuracy:.2f}%"]
    totals = report.confusion.sum(axis=1)
    order = sorted(range(len(report.class_names)), key=lambda i: report.per_class[report.class_names[i]])
    lines += [f"  {report.class_names[i]:<16} {report.per_class[report.class_names[i]]:6.2f}%  (n={totals[i]})"
              for i in order if totals[i]]
    return "\n".join(lines)


def save_confusion_png(report: ClassificationReport, path: str | Path, *, title: str = "") -> Path:
    """Row-normalised confusion matrix (rows: true class, columns: predicted), labelled."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    c = len(report.class_names)
    rows = report.confusion.sum(axis=1, keepdims=True)
    norm = np.divide(report.confusion, rows, out=np.zeros(report.confusion.shape, dtype=float), where=rows > 0)
    size = max(4.0, 0.28 * c + 2.0)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    image = ax.imshow(norm, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(c), report.class_names, rotation=90, fontsize=7)
    ax.set_yticks(range(c), report.class_names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    title = title or f"accuracy {report.accuracy:.2f}% ({report.count} objects)"
    ax.set_title(textwrap.fill(title, width=int(12 * size)), fontsize=9)  # long titles wrap, never clip
    if c <= 20:
        for i, j in zip(*np.nonzero(report.confusion)):
            ax.text(j, i, str(report.confusion[i, j]), ha="center", va="center", fontsize=6,
                    color="white" if norm[i, j] > 0.5 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_result_json(path: str | Path, payload: dict[str, Any], *, config: Any = None) -> Path:
    """``payload`` plus ``config``, its ``fidelity`` (faithful or not, and each choice, for
    configurations with data/encoder settings and a prompt) and ``code_version`` as JSON, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = dict(payload)
    if config is not None:
        document["config"] = to_jsonable(config)
        if all(hasattr(config, name) for name in ("data", "encoder", "prompt")):
            from clip2point.eval.settings import evaluation_fidelity  # noqa: PLC0415

            scored = scored_templates(config.prompt, getattr(config, "templates", None))  # an ensemble, or the prompt
            document["fidelity"] = evaluation_fidelity(config.data, config.encoder, scored.templates)
    document["code_version"] = code_version()
    with atomic_path(path) as tmp, open(tmp, "w") as fh:  # a failed write leaves no temporary file behind
        json.dump(document, fh, indent=2, sort_keys=True)
        fh.write("\n")
    log.info("wrote %s", path)
    return path
