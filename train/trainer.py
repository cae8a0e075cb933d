"""The pre-training loop: data, model, optimiser, checkpoints, validation, logs (SPEC §5).

``train(config)`` runs single-process or under ``torchrun`` (one process per device). Rank 0
writes everything under ``RUN/``; all ranks see the global batch through gathered features.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from clip2point.datasets.batch_loader import ShardBatchLoader, batch_loader
from clip2point.datasets.shards.file_format import INTACT_TEXTURE_STATUSES
from clip2point.datasets.torch_dataset import ShardDataset
from clip2point.atomic_io import write_json_atomic
from clip2point.errors import ConfigError, ShardError
from clip2point.provenance import code_version
from clip2point.render.depth import NonFinitePointsError
from clip2point.train import feature_cache
from clip2point.train.checkpoint import Checkpoint, Progress, capture_rng, link_atomic, prune_checkpoints, restore_rng, write_checkpoint
from clip2point.train.config import TrainConfig
from clip2point.train.curves import MetricsLog, plot_curves
from clip2point.train.encoding import tower_input_size
from clip2point.train.inputs import check_inputs
from clip2point.train.distributed import (DistEnv, ResumableSampler, all_reduce_sum, barrier, env_from_torchrun,
                                          init_distributed, pick_device, shutdown_distributed)
from clip2point.train.models import build_pretrain_model, create_clip, weights_hash
from clip2point.train.resume import check_compatible, locate_checkpoint
from clip2point.train.schedule import build_optimizer, build_scheduler
from clip2point.train.precision import Compute, resolve_precision
from clip2point.train.step import NonFiniteLossError, compute_loss, step_generator, to_device_batch
from clip2point.train.validation import Validator

log = logging.getLogger(__name__)

StepHook = Callable[[int], None]


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    step: int
    epoch: int
    last_checkpoint: Path | None
    best: dict[str, Any]
    metrics: dict[str, float]
    curves: Path | None
    is_main: bool = True  # rank 0 (the one that wrote RUN/)


@dataclass
class _State:
    progress: Progress = field(default_factory=Progress)
    best: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    last_checkpoint: Path | None = None
    epoch_losses: list[float] = field(default_factory=list)


def train(cfg: TrainConfig, *, on_step_end: StepHook | None = None) -> TrainResult:
    """Run (or continue) one pre-training run; ``on_step_end(step)`` is called after each step."""
    device = pick_device(cfg.runtime.device, env_from_torchrun())
    env = init_distributed(device)
    if not env.is_main:
        logging.getLogger("clip2point").setLevel(logging.WARNING)  # one voice: rank 0 reports
    try:
        result = Trainer(cfg, env, device, on_step_end).run()
    except BaseException:
        shutdown_distributed(wait_for_peers=False)
        raise
    shutdown_distributed()
    return result


@contextlib.contextmanager
def _log_to_file(path: Path | None) -> Iterator[None]:
    """Mirror the package's log records into ``RUN/out.log`` (appended across resumes)."""
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("clip2point")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()


def seed_everything(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    else:
        torch.backends.cudnn.benchmark = True


class Trainer:
    def __init__(self, cfg: TrainConfig, env: DistEnv, device: torch.device, on_step_end: StepHook | None) -> None:
        self.cfg, self.env, self.device, self.on_step_end = cfg, env, device, on_step_end
        data, optim, runtime = cfg.data, cfg.optim, cfg.runtime
        self.precision = resolve_precision(runtime.precision, device)
        seed_everything(optim.seed, runtime.deterministic)
        self.run_dir = Path(cfg.checkpoint.out)
        self.ckpt_dir = self.run_dir / "checkpoints"
        self.micro = optim.micro_batch(env.world_size)
        check_inputs(self.run_dir, data, cfg.validation)
        self.dataset = ShardDataset(data.shards, split="train", view="random", seed=optim.seed,
                                    fields=("points",) if runtime.cache_image_features else ("rgb", "points"),
                                    texture_status=INTACT_TEXTURE_STATUSES if data.require_textures else None)
        self.shards = feature_cache.shard_checksums(data.shards)
        self.sampler = ResumableSampler(len(self.dataset), env, seed=optim.seed)
        self.steps_per_epoch = self.sampler.per_rank // (self.micro * optim.accum_steps)
        if self.steps_per_epoch < 1:
            raise ConfigError(f"{data.shards} has {len(self.dataset)} training objects, fewer than one global batch "
                              f"of {optim.batch_size}; lower --batch-size")
        self.bundle = create_clip(cfg.model.model, cfg.model.pretrained, device=device)
        visual = self.bundle.model.visual
        self.image_size = tower_input_size(visual)
        self.base_weights = weights_hash(visual)
        self.model = build_pretrain_model(self.bundle).to(device)
        if device.type == "cuda":
            self.model = self.model.to(memory_format=torch.channels_last)
        self.optimizer = build_optimizer(self.model, optim)
        self.scheduler = build_scheduler(self.optimizer, optim, self.steps_per_epoch)
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.precision == "fp16")
        self.forward_model: torch.nn.Module = (
            DistributedDataParallel(self.model, device_ids=[device.index] if device.type == "cuda" else None)
            if env.enabled else self.model
        )
        self.state = _State()
        self.cache: feature_cache.ImageFeatureCache | None = None
        self.validator = Validator(cfg.validation, self.bundle, preset=data.depth_preset, device=device,
                                   precision=self.precision, image_size=self.image_size)

    # ------------------------------------------------------------------ setup
    def _resume(self) -> None:
        found = locate_checkpoint(self.cfg.checkpoint.resume, self.ckpt_dir)
        if found is None:
            return
        path, ckpt = found
        check_compatible(path, ckpt, self.cfg, base_weights=self.base_weights, shards=self.shards)
        self.model.load_trainable_state_dict(ckpt.model)
        self.optimizer.load_state_dict(ckpt.optimizer)
        self.scheduler.load_state_dict(ckpt.scheduler)
        if ckpt.scaler:
            self.scaler.load_state_dict(ckpt.scaler)
        if ckpt.rng:
            restore_rng(ckpt.rng)
        self.state = _State(progress=ckpt.progress, best=ckpt.best, metrics=ckpt.metrics, last_checkpoint=path)

    def _prepare_cache(self) -> None:
        runtime, shards = self.cfg.runtime, self.cfg.data.shards
        spec = feature_cache.CacheSpec(Path(runtime.feature_cache_dir or self.run_dir / "feature_cache"),
                                       self.base_weights, self.image_size)
        if self.env.is_main:  # builds (or rebuilds a damaged file) while the other ranks wait
            compute = Compute(self.device, self.precision, max(1, self.micro // 4))
            self.cache = feature_cache.ensure_cache(shards, "train", self.model.image_encoder, spec, compute,
                                                    num_workers=runtime.num_workers)
        barrier()
        if self.cache is None:
            self.cache = feature_cache.load_cache(shards, "train", spec)

    def _log_header(self) -> None:
        p = self.state.progress
        where = f"epoch {p.epoch}, batch {p.batch_in_epoch}, step {p.step}" if p.step else "start"
        log.info("device %s, precision %s, world size %d", self.device, self.precision, self.env.world_size)
        log.info("recipe %s: %s", self.cfg.recipe, json.dumps(self.cfg.fidelity(), sort_keys=True))
        optim, model = self.cfg.optim, self.cfg.model
        log.info("global batch %d = %d ranks x %d per rank x %d accumulation; %d training objects",
                 optim.batch_size, self.env.world_size, self.micro, optim.accum_steps, len(self.dataset))
        log.info("steps per epoch %d, epochs %d, model %s (%s), resume point: %s (%s)", self.steps_per_epoch,
                 optim.epochs, model.model, model.pretrained, where, self.state.last_checkpoint or "none")

    # ------------------------------------------------------------------ loop
    def run(self) -> TrainResult:
        with _log_to_file(self.run_dir / "out.log" if self.env.is_main else None):
            return self._run()

    def _run(self) -> TrainResult:
        self._resume()
        if self.env.is_main:
            write_json_atomic(self.run_dir / "config.json", {"config": self.cfg.to_dict(), "fidelity": self.cfg.fidelity(),
                                                             "code_version": code_version()})
        self.metrics_log = MetricsLog(self.run_dir, resume_step=self.state.progress.step) if self.env.is_main else None
        self._log_header()
        if self.cfg.runtime.cache_image_features:
            self._prepare_cache()
        try:
            self._epochs()
        finally:
            if self.metrics_log is not None:
                self.metrics_log.close()
        curves = None
        if self.env.is_main:
            curves = plot_curves(self.metrics_log.path, self.run_dir / "curves.png")
            log.info("learning curves: %s", curves)
        s = self.state
        return TrainResult(self.run_dir, s.progress.step, s.progress.epoch, s.last_checkpoint, s.best, s.metrics, curves,
                           self.env.is_main)

    def _done(self) -> bool:
        max_steps = self.cfg.optim.max_steps
        return max_steps is not None and self.state.progress.step >= max_steps

    def _epochs(self) -> None:
        while self.state.progress.epoch < self.cfg.optim.epochs and not self._done():
            epoch = self.state.progress.epoch
            self._train_epoch(epoch, self.state.progress.batch_in_epoch)
            finished = self.state.progress.batch_in_epoch >= self.steps_per_epoch
            if finished:
                self.state.progress = Progress(epoch + 1, self.state.progress.step, 0)
            self._end_of_epoch(epoch)

    def _loader(self, epoch: int, start_batch: int) -> ShardBatchLoader:
        self.dataset.set_epoch(epoch)
        self.sampler.set_epoch(epoch, skip=start_batch * self.micro * self.cfg.optim.accum_steps)
        return batch_loader(self.dataset, batch_size=self.micro, sampler=self.sampler, drop_last=True,
                            num_workers=self.cfg.runtime.num_workers, pin_memory=self.device.type == "cuda")

    def _train_epoch(self, epoch: int, start_batch: int) -> None:
        batches = iter(self._loader(epoch, start_batch))
        self.model.train()
        self.state.epoch_losses = []
        bar = tqdm(total=self.steps_per_epoch, initial=start_batch, desc=f"epoch {epoch}", unit="step",
                   disable=not (self.env.is_main and self.cfg.runtime.progress), dynamic_ncols=True)
        tick = time.perf_counter()
        for batch_index in range(start_batch, self.steps_per_epoch):
            parts = self._optimizer_step(batches, epoch)
            step = self.state.progress.step + 1
            self.state.progress = Progress(epoch, step, batch_index + 1)
            rate = self.cfg.optim.batch_size / max(time.perf_counter() - tick, 1e-9)
            tick = time.perf_counter()
            bar.update(1)
            bar.set_postfix(loss=f"{parts['loss']:.4f}", w=f"{parts['w']:.3f}", samples_s=f"{rate:.1f}")
            self.state.epoch_losses.append(parts["loss"])
            if step % self.cfg.checkpoint.log_every == 0 or batch_index == start_batch:
                self._log("train", {**parts, "epoch": epoch, "samples_per_s": rate})
            if step % self.cfg.checkpoint.checkpoint_every == 0 and batch_index + 1 < self.steps_per_epoch:
                self._save_checkpoint()
            if self.on_step_end is not None:
                self.on_step_end(step)
            if self._done():
                break
        bar.close()

    def _optimizer_step(self, batches: Any, epoch: int) -> dict[str, float]:
        """Accumulate ``accum_steps`` micro-batches, then one optimiser and one scheduler step."""
        optim, step = self.cfg.optim, self.state.progress.step
        self.optimizer.zero_grad(set_to_none=True)
        totals = torch.zeros(4)
        for micro in range(optim.accum_steps):
            item = next(batches)
            feats = self.cache.lookup(item["object_id"], item["view"]) if self.cache else None
            batch = to_device_batch(item, self.device, feats)
            gen = step_generator(optim.seed, step, self.env.rank, micro, self.device)
            sync = micro == optim.accum_steps - 1 or not self.env.enabled
            with (contextlib.nullcontext() if sync else self.forward_model.no_sync()), self._oom_guard(), \
                    self._points_guard(item):
                parts = compute_loss(self.forward_model, self.model.image_encoder, batch, gen, data=self.cfg.data,
                                     optim=optim, precision=self.precision, image_size=self.image_size)
                self.scaler.scale(parts.total / optim.accum_steps).backward()
            # One device sync per micro-batch, after the backward pass is queued (a check between
            # forward and backward would leave the GPU idle while the backward launches); a bad
            # loss still stops the step before the optimiser applies anything.
            values = torch.stack([p.detach().float() for p in parts])
            if optim.negatives == "per-device" and self.env.enabled:  # log the mean over devices, as the reference
                values = all_reduce_sum(values) / self.env.world_size  # logs torch.mean of DataParallel's losses
            values = values.cpu()
            self._check_finite(values[0], step, epoch)
            totals += values / optim.accum_steps
        lr = self.scheduler.get_last_lr()[0]  # the rate this step used
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        return {**dict(zip(("loss", "cross", "intra", "w"), totals.tolist())), "lr": lr}

    @contextlib.contextmanager
    def _oom_guard(self) -> Any:
        try:
            yield
        except torch.OutOfMemoryError as exc:
            batch_size, more = self.cfg.optim.batch_size, 2 * self.cfg.optim.accum_steps
            accumulate = (f"keep the global batch and add --accum-steps {more}, or " if batch_size // more >= 2
                          else "")  # a micro-batch needs 2 objects (settings._check_contrastive_batch)
            raise ConfigError(
                f"out of memory with {self.micro} objects per device (global batch {batch_size}); "
                f"{accumulate}lower --batch-size (note: accumulation shrinks the contrastive negatives to one "
                "micro-batch)"
            ) from exc

    @contextlib.contextmanager
    def _points_guard(self, item: dict[str, Any]) -> Any:
        """Name the stored objects whose points are not finite (the projector only sees a tensor)."""
        try:
            yield
        except NonFinitePointsError as exc:
            bad = [oid for oid, pts in zip(item["object_id"], item["points"]) if not torch.isfinite(pts).all()]
            raise ShardError(self.cfg.data.shards, f"object(s) {', '.join(map(str, bad))}: {exc}; "
                             "`clip2point inspect SHARDS verify` lists every such object") from exc

    def _check_finite(self, loss: torch.Tensor, step: int, epoch: int) -> None:
        value = float(loss.detach())
        if not math.isfinite(value):
            last = self.state.last_checkpoint or "none written yet"
            raise NonFiniteLossError(
                f"loss became {value} at step {step + 1} (epoch {epoch}); stopped before applying it. "
                f"Last good checkpoint: {last}. Lower --lr or use --precision fp32, then --resume auto"
            )

    # ------------------------------------------------------------------ outputs
    def _log(self, kind: str, values: dict[str, Any]) -> None:
        if self.metrics_log is not None:
            self.metrics_log.write(kind, self.state.progress.step, values)
        if kind != "train":
            log.info("step %d %s: %s", self.state.progress.step, kind, json.dumps(values, sort_keys=True))

    def _end_of_epoch(self, epoch: int) -> None:
        metrics = self.validator.run(self.model) if self.env.is_main else {}
        if self.state.epoch_losses:
            metrics["train_loss"] = float(np.mean(self.state.epoch_losses))
        self.state.metrics = metrics
        self._log("val", {**metrics, "epoch": epoch})
        is_best = self._update_best(metrics)
        self._save_checkpoint(best=is_best)
        barrier()

    def _update_best(self, metrics: dict[str, float]) -> bool:
        name = self.cfg.validation.selection_metric
        if name not in metrics:
            return False
        value, old = metrics[name], self.state.best.get("value")
        better = old is None or (value < old if name == "train_loss" else value > old)
        if better:
            self.state.best = {"metric": name, "value": value, "step": self.state.progress.step}
        return better

    def _save_checkpoint(self, *, best: bool = False) -> None:
        if not self.env.is_main:
            return
        ckpt = Checkpoint(
            config=self.cfg.to_dict(), base_weights=self.base_weights, model=self.model.trainable_state_dict(),
            progress=self.state.progress, optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict(), scaler=self.scaler.state_dict(), rng=capture_rng(),
            best=self.state.best, metrics=self.state.metrics, code_version=code_version(), shards=self.shards,
        )
        path = write_checkpoint(self.ckpt_dir / f"step-{self.state.progress.step:08d}.pt", ckpt)
        link_atomic(path, self.ckpt_dir / "last.pt")
        if best:
            link_atomic(path, self.ckpt_dir / "best.pt")
        prune_checkpoints(self.ckpt_dir, self.cfg.checkpoint.keep_last)
        self.state.last_checkpoint = path
        log.debug("checkpoint %s%s", path, " (best)" if best else "")
