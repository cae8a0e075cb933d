"""Few-shot evaluation end to end: load both splits, encode the objects the seeds need with
the frozen towers (once, through the feature store), train one adapter per seed, save them,
and evaluate a saved adapter (``--eval-only``) against the encoders it was trained on."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from clip2point.datasets.pointsets import PointSet
from clip2point.datasets.prompt_templates import TemplateSet, resolve_templates, scored_templates
from clip2point.datasets.prompts import prompt_class_names
from clip2point.errors import CheckpointError, ConfigError
from clip2point.eval.adapter import load_adapter, save_adapter
from clip2point.eval.encoders import Encoders, load_encoders, require_paths, text_features
from clip2point.eval.evalsets import load_eval_split
from clip2point.eval.features import FeatureStore, prepare_points
from clip2point.eval.fewshot import (Features, FewShotResult, FewShotSettings, SeedResult, needed_train_indices,
                                     predict_logits, run_fewshot_on_features)
from clip2point.eval.report import ClassificationReport, classification_report_from_logits
from clip2point.eval.settings import DataSettings, EncoderSettings, ViewSettings
from clip2point.eval.zeroshot import DEFAULT_PROMPT
from clip2point.render.depth import fewshot_preset

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FewShotConfig:
    data: DataSettings
    encoder: EncoderSettings
    views: ViewSettings = field(default_factory=lambda: ViewSettings(num_views=10))
    prompt: str = DEFAULT_PROMPT
    fewshot: FewShotSettings = FewShotSettings()
    templates: TemplateSet | None = None  # a prompt ensemble (--templates); None: the one ``prompt``

    def template_set(self) -> TemplateSet:
        """The templates the text path scores with: ``templates``, or ``prompt`` as a set of one."""
        return scored_templates(self.prompt, self.templates)


def encode_pointset(encoders: Encoders, pointset: PointSet, paths: Sequence[str], config: FewShotConfig,
                    store: FeatureStore) -> Features:
    """View features of every cloud for each path (computed once; the store keeps them)."""
    points = prepare_points(pointset, config.data.align)
    towers = {p: (encoders.visual[p], encoders.ids[p]) for p in paths}
    return store.features(towers, points, config.views, config.encoder.device, config.encoder.resolved_precision)


def _load_splits(config: FewShotConfig) -> tuple[PointSet, PointSet]:
    """Both splits over the classes that have training objects (see ``_trainable_classes``)."""
    train, test = load_eval_split(config.data, "train"), load_eval_split(config.data, "test")
    return _trainable_classes(train, test, config.data.data)


def _trainable_classes(train: PointSet, test: PointSet, source: Path) -> tuple[PointSet, PointSet]:
    """Both splits restricted to the classes with training objects: a class without any cannot
    be learned from K shots (our shards list all 55 ShapeNet names, a small set holds a few).
    Training and ``--eval-only`` both go through here, so they see the same classes."""
    if train.class_names != test.class_names:
        raise ConfigError(f"{source}: train and test splits list different classes "
                          f"({len(train.class_names)} vs {len(test.class_names)})")
    present = [n for i, n in enumerate(train.class_names) if (train.labels == i).any()]
    if len(present) < len(train.class_names):
        log.info("%d of %d classes have no training objects; few-shot uses the other %d",
                 len(train.class_names) - len(present), len(train.class_names), len(present))
        train, test = train.restrict_classes(present), test.restrict_classes(present)
    return train, test


def run_fewshot(config: FewShotConfig, *, encoders: Encoders | None = None,
                store: FeatureStore | None = None) -> tuple[FewShotResult, Encoders, PointSet]:
    """Train and score one adapter per seed; returns the result, the encoders and the test set."""
    paths = config.fewshot.paths
    require_paths(config.encoder, paths)
    encoders = encoders or load_encoders(config.encoder, paths)
    store = store or FeatureStore(config.data.cache_dir)
    train, test = _load_splits(config)
    needed = needed_train_indices(train.labels, config.fewshot, train.class_names)
    rows = np.full(len(train), -1, dtype=np.int64)
    rows[needed] = np.arange(len(needed))
    log.info("encoding %d of %d training objects (%d seeds x %d shots + validation) and %d test objects",
             len(needed), len(train), len(config.fewshot.seeds), config.fewshot.shots, len(test))
    texts = text_features(encoders, prompt_class_names(config.data.dataset, test.class_names, config.data.prompts),
                          config.template_set().templates)  # first: a bad --prompt fails in seconds
    train_feats = encode_pointset(encoders, train.subset(needed), paths, config, store)
    test_feats = encode_pointset(encoders, test, paths, config, store)
    result = run_fewshot_on_features(train_feats, train.labels, test_feats, test.labels, texts, test.class_names,
                                     config.fewshot, feature_rows=rows, device=config.encoder.device)
    return result, encoders, test


def adapter_meta(config: FewShotConfig, encoders: Encoders, class_names: Sequence[str],
                 seed: SeedResult) -> dict[str, Any]:
    """What ``--eval-only`` needs to rebuild the exact features the adapter was trained on."""
    return {"class_names": list(class_names), "prompt": config.prompt,
            "templates": None if config.templates is None else config.templates.record(), "model": encoders.model_name,
            "encoders": {p: encoders.ids[p] for p in config.fewshot.paths}, "num_views": config.views.num_views,
            "preset": config.views.preset, "image_size": config.views.image_size, "dataset": config.data.dataset,
            "shots": config.fewshot.shots, "seed": seed.seed, "selected_epoch": seed.selected_epoch,
            "val_accuracy": seed.val_accuracy, "test_accuracy": seed.report.accuracy}


def save_adapters(result: FewShotResult, folder: Path, config: FewShotConfig, encoders: Encoders,
                  class_names: Sequence[str]) -> list[Path]:
    return [save_adapter(folder / f"adapter-seed{s.seed}.pt", s.adapter, adapter_meta(config, encoders, class_names, s))
            for s in result.seeds]


@dataclass(frozen=True)
class EvalOnlyConfig:
    """What ``--eval-only`` used, for the result file: the data and encoders given, the views,
    prompt and paths the adapter fixes (its training settings are in the adapter's meta)."""

    data: DataSettings
    encoder: EncoderSettings
    views: ViewSettings
    prompt: str
    paths: tuple[str, ...]
    templates: TemplateSet | None = None


# Settings a saved adapter fixes, because its weights only fit features made with them:
# adapter meta key -> command-line flag.
ADAPTER_FIXED_FLAGS = {"num_views": "--views", "preset": "--preset", "image_size": "--image-size", "prompt": "--prompt",
                       "templates": "--templates"}


def adapter_templates(meta: dict[str, Any]) -> TemplateSet | None:
    """The prompt ensemble a saved adapter's text path was trained with (None: its one ``prompt``;
    adapters from before ensembles record no ``templates``)."""
    record = meta.get("templates")
    return None if record is None else TemplateSet(record["name"], tuple(record["templates"]), record["source"])


def _fixed_value(key: str, value: Any, meta: dict[str, Any]) -> tuple[Any, Any]:
    """(typed, trained) values of one adapter-fixed flag, comparable: a preset as training resolved
    it (``pointclip`` trains as ``pointclip-fewshot``), an ensemble by its templates' text."""
    if key == "preset":
        return fewshot_preset(value), meta.get(key)
    if key == "templates":
        trained = adapter_templates(meta)
        return resolve_templates(value).templates, (meta["prompt"],) if trained is None else trained.templates
    return value, meta.get(key)


def check_adapter_flags(path: Path, meta: dict[str, Any], given: dict[str, Any]) -> None:
    """Refuse a flag of ``ADAPTER_FIXED_FLAGS`` (``given``: meta key -> value the user typed)
    that differs from the adapter's: the adapter's value must be used, and quietly doing so
    would leave the user believing the result was made with theirs. A typed ``--preset`` is
    compared as training resolved it (``pointclip`` trains as ``pointclip-fewshot``), ``--templates``
    by the text of its templates."""
    for key, value in given.items():
        typed, resolved = _fixed_value(key, value, meta)
        if typed != resolved:
            flag, trained = ADAPTER_FIXED_FLAGS[key], meta.get(key)
            if key == "templates":
                trained = f"(none: its --prompt {meta['prompt']!r})" if trained is None else trained["name"]
            raise ConfigError(f"--eval-only {path}: {flag} {value} differs from the adapter's {flag} "
                              f"{'(the preset default)' if trained is None else trained}, which its weights "
                              f"need; leave {flag} out to use the adapter's value")


def _adapter_test_set(path: Path, meta: dict[str, Any], config: FewShotConfig) -> PointSet:
    """The test split over the adapter's classes. Training dropped the classes without
    training objects, so when the lists differ the same rule is applied before comparing;
    any remaining difference is another class set and is refused."""
    test = load_eval_split(config.data, "test")
    if list(test.class_names) != list(meta["class_names"]):
        train = load_eval_split(config.data, "train")
        _, test = _trainable_classes(train, test, config.data.data)
    if list(test.class_names) != list(meta["class_names"]):
        raise CheckpointError(path, f"was trained on {len(meta['class_names'])} other classes than the "
                                    f"{len(test.class_names)} of {config.data.data} that have training objects")
    return test


def evaluate_saved_adapter(path: Path, config: FewShotConfig, *, store: FeatureStore | None = None,
                           given: dict[str, Any] | None = None
                           ) -> tuple[ClassificationReport, dict[str, Any], EvalOnlyConfig]:
    """Score a saved adapter on the test split with the views, prompt and encoders it was
    trained with; refuses encoders whose weights differ from the ones recorded, and ``given``
    flags (see ``check_adapter_flags``) that differ. Returns the settings actually used."""
    adapter, meta = load_adapter(path)
    check_adapter_flags(path, meta, given or {})
    paths = adapter.config.paths
    require_paths(config.encoder, paths)
    encoders = load_encoders(config.encoder, paths)
    for p in paths:
        if encoders.ids[p] != meta["encoders"][p]:
            raise CheckpointError(path, f"was trained on features of other {p!r} encoder weights; pass the "
                                        "--model/--pretrained/--ckpt it was trained with")
    views = ViewSettings(num_views=meta["num_views"], preset=meta["preset"], image_size=meta["image_size"],
                         batch_size=config.views.batch_size)
    test = _adapter_test_set(path, meta, config)
    templates = adapter_templates(meta)
    used = EvalOnlyConfig(config.data, config.encoder, views, meta["prompt"], paths, templates)
    run_config = FewShotConfig(config.data, config.encoder, views, meta["prompt"], config.fewshot, templates)
    texts = text_features(encoders, prompt_class_names(config.data.dataset, test.class_names, config.data.prompts),
                          run_config.template_set().templates)
    feats = encode_pointset(encoders, test, paths, run_config, store or FeatureStore(config.data.cache_dir))
    device = config.encoder.device
    logits = predict_logits(adapter.to(device), {p: f.to(device) for p, f in feats.items()}, texts.to(device))
    return classification_report_from_logits(logits, test.labels, test.class_names, config.fewshot.topk), meta, used
