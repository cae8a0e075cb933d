"""Few-shot classification with the Dual-Path Adapter (SPEC §7).

Encoders are frozen, so every object's [V,D] view features are computed once (for the union of
the objects any seed needs) and each seed only trains a small adapter on cached tensors.

Model selection never looks at the test split: with ``val_per_class`` > 0, validation objects
are drawn from the training split, disjoint from the K shots, and the epoch with the best
validation accuracy (earliest on ties) is kept; with 0, the last of a fixed number of epochs is
kept. Only the selected adapter is scored on test.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from clip2point.eval.adapter import PATHS, AdapterConfig, DualPathAdapter
from clip2point.eval.kshot import sample_kshot
from clip2point.eval.report import DEFAULT_TOPK, ClassificationReport, classification_report_from_logits, parse_topk
from clip2point.validation import check_int, check_int_list, check_non_negative, check_positive

log = logging.getLogger(__name__)

Features = dict[str, torch.Tensor]  # path name -> [N,V,D]


@dataclass(frozen=True)
class FewShotSettings:
    """SPEC §7 optimiser (AdamW lr 1e-3, weight decay 1e-4, batch 32); epochs and validation
    size are fixed before any test number is seen."""

    shots: int = 16
    seeds: tuple[int, ...] = (0, 1, 2)
    paths: tuple[str, ...] = PATHS
    epochs: int = 100
    val_per_class: int = 4
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    topk: tuple[int, ...] = DEFAULT_TOPK  # top-k accuracies reported beside top-1 (not used in training)

    def __post_init__(self) -> None:
        object.__setattr__(self, "topk", parse_topk(",".join(map(str, self.topk))))
        object.__setattr__(self, "seeds", check_int_list(tuple(self.seeds), "--seeds", distinct=True))
        object.__setattr__(self, "paths", tuple(self.paths))
        check_int(self.shots, "--shots", low=1)
        check_int(self.epochs, "--epochs", low=1)
        check_int(self.batch_size, "--train-batch-size", low=2, hint="BatchNorm needs two objects")
        check_int(self.val_per_class, "--val-per-class", low=0)
        check_positive(self.lr, "--lr", finite=True)
        check_non_negative(self.weight_decay, "--weight-decay", finite=True)
        AdapterConfig(paths=self.paths)  # validates the path names


@dataclass(frozen=True)
class SeedResult:
    seed: int
    report: ClassificationReport
    selected_epoch: int
    val_accuracy: float | None
    history: tuple[tuple[int, float, float | None], ...]  # (epoch, mean train loss, val accuracy)
    adapter: DualPathAdapter


@dataclass(frozen=True)
class FewShotResult:
    seeds: tuple[SeedResult, ...]

    @property
    def accuracies(self) -> list[float]:
        return [s.report.accuracy for s in self.seeds]

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracies))

    @property
    def std(self) -> float:
        """Sample standard deviation over seeds (0 for a single seed)."""
        return float(np.std(self.accuracies, ddof=1)) if len(self.seeds) > 1 else 0.0


def _take(feats: Features, idx: torch.Tensor | np.ndarray) -> Features:
    device = next(iter(feats.values())).device
    idx = torch.as_tensor(np.asarray(idx.cpu() if isinstance(idx, torch.Tensor) else idx), dtype=torch.long)
    return {p: f[idx.to(device)] for p, f in feats.items()}


@torch.no_grad()
def predict_logits(adapter: DualPathAdapter, feats: Features, text_feats: torch.Tensor, batch: int = 512) -> np.ndarray:
    """Class logits [N,C] per object (float32, CPU), adapter in eval mode."""
    adapter.eval()
    n = len(next(iter(feats.values())))
    out = [adapter.logits(_take(feats, np.arange(s, min(s + batch, n))), text_feats).float()
           for s in range(0, n, batch)]
    return torch.cat(out).cpu().numpy() if out else np.zeros((0, len(text_feats)), dtype=np.float32)


def predict(adapter: DualPathAdapter, feats: Features, text_feats: torch.Tensor, batch: int = 512) -> np.ndarray:
    """Predicted class per object, adapter in eval mode."""
    return predict_logits(adapter, feats, text_feats, batch).argmax(axis=1).astype(np.int64)


def _batches(n: int, size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Shuffled index batches; a trailing batch of one is dropped (BatchNorm needs two)."""
    order = torch.randperm(n, generator=generator)
    return [b for b in order.split(size) if len(b) > 1]


def train_adapter(train: Features, labels: torch.Tensor, text_feats: torch.Tensor, settings: FewShotSettings, *,
                  seed: int, val: tuple[Features, np.ndarray] | None = None
                  ) -> tuple[DualPathAdapter, int, float | None, list[tuple[int, float, float | None]]]:
    """Train one adapter; returns (selected adapter, its epoch, its val accuracy, history)."""
    first = next(iter(train.values()))
    config = AdapterConfig(paths=settings.paths, num_views=first.shape[1], dim=first.shape[2])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # adapter init and dropout masks
        adapter = DualPathAdapter(config).to(first.device)
        optimiser = torch.optim.AdamW(adapter.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
        generator = torch.Generator().manual_seed(seed)
        best: tuple[float, int, dict[str, torch.Tensor]] | None = None
        history = []
        for epoch in range(1, settings.epochs + 1):
            adapter.train()
            losses = []
            for idx in _batches(len(labels), settings.batch_size, generator):
                loss = F.cross_entropy(adapter.logits(_take(train, idx), text_feats), labels[idx.to(labels.device)])
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                losses.append(float(loss.detach()))
            val_acc = None
            if val is not None:
                val_acc = float((predict(adapter, val[0], text_feats) == val[1]).mean() * 100.0)
                if best is None or val_acc > best[0]:
                    best = (val_acc, epoch, copy.deepcopy(adapter.state_dict()))
            history.append((epoch, float(np.mean(losses)) if losses else float("nan"), val_acc))
    if best is None:
        return adapter.eval(), settings.epochs, None, history
    adapter.load_state_dict(best[2])
    return adapter.eval(), best[1], best[0], history


def run_fewshot_on_features(train_feats: Features, train_labels: np.ndarray, test_feats: Features,
                            test_labels: np.ndarray, text_feats: torch.Tensor, class_names: tuple[str, ...],
                            settings: FewShotSettings, *, feature_rows: np.ndarray | None = None,
                            device: str | torch.device = "cpu") -> FewShotResult:
    """Every seed: draw K shots (+ validation) from the training split, train, score on test.

    ``train_labels`` cover the whole training split; ``feature_rows[i]`` is training object i's
    row in ``train_feats`` (default: the identity), so only drawn objects need features. The
    testable core, independent of how the features were made. Adapters train on ``device``
    and are returned on the CPU."""
    results = []
    device = torch.device(device)
    train_feats = {p: f.to(device) for p, f in train_feats.items()}
    test_feats = {p: f.to(device) for p, f in test_feats.items()}
    text_feats = text_feats.to(device)
    labels_t = torch.as_tensor(train_labels, dtype=torch.long, device=device)
    rows = np.arange(len(train_labels)) if feature_rows is None else np.asarray(feature_rows)
    for seed in settings.seeds:
        split = sample_kshot(train_labels, settings.shots, seed=seed, val_per_class=settings.val_per_class,
                             class_names=class_names)
        if (rows[np.concatenate([split.train, split.val])] < 0).any():
            raise ValueError(f"seed {seed} draws training objects that have no features")
        val = (_take(train_feats, rows[split.val]), train_labels[split.val]) if len(split.val) else None
        adapter, epoch, val_acc, history = train_adapter(
            _take(train_feats, rows[split.train]), labels_t[split.train], text_feats, settings, seed=seed, val=val)
        report = classification_report_from_logits(predict_logits(adapter, test_feats, text_feats), test_labels,
                                                   class_names, settings.topk)
        log.info("seed %d: %d-shot test accuracy %.2f%% (epoch %d%s)", seed, settings.shots, report.accuracy, epoch,
                 "" if val_acc is None else f", val {val_acc:.2f}%")
        results.append(SeedResult(seed, report, epoch, val_acc, tuple(history), adapter.cpu()))
    return FewShotResult(tuple(results))


def needed_train_indices(train_labels: np.ndarray, settings: FewShotSettings,
                         class_names: Sequence[str]) -> np.ndarray:
    """The training objects any seed draws (shots + validation), so only those get encoded."""
    picks = [np.concatenate([s.train, s.val]) for s in (
        sample_kshot(train_labels, settings.shots, seed=seed, val_per_class=settings.val_per_class,
                     class_names=class_names) for seed in settings.seeds)]
    return np.unique(np.concatenate(picks))
