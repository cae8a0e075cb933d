"""The per-process half of the generation job: one shard of meshes in, one written shard out.

A ``RenderWorker`` is cheap to pickle (settings only); the GL context is created lazily in the
process that runs it and kept for every later shard (a context costs far more than an object).
Every object ends as a ``RenderedObject`` or an ``ObjectFailure`` with a reason: the errors a
bad input can cause (``MeshLoadError``, a timeout, a GL error) are caught here and turned into
data, so one broken mesh never stops a job; anything else is a bug and propagates.

Determinism: an object's arrays depend only on its id, the configuration and the seed. The
surface sample, the light directions and the 1,024-point depth subset all derive from
``clip2point.seeds.derive_seed(seed, object_id, SHARD_SEEDS)``, and depth is projected from the
stored points, so neither worker count, order, node split nor resumption can change a byte.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
import torch

from clip2point.datasets.mesh_io import load_mesh
from clip2point.datasets.sampling import sample_surface
from clip2point.datasets.shapenet import ShapeNetEntry
from clip2point.datasets.shards import ObjectFailure, RenderedObject, write_shard
from clip2point.errors import MeshLoadError
from clip2point.render.cameras import ViewPreset, get_view_preset
from clip2point.render.depth import project_depth
from clip2point.render.gl import import_pyrender
from clip2point.render.job.config import RenderJobConfig
from clip2point.render.rgb import RGBRenderer
from clip2point.seeds import SHARD_SEEDS, derive_seed

log = logging.getLogger(__name__)

STAGES = ("load", "sample", "rgb", "depth", "write")
DEPTH_BATCH = 16  # objects per depth projection call: amortises torch overhead, bounds memory


class ObjectTimeout(BaseException):
    """Raised by SIGALRM inside a render. A BaseException so no library's ``except Exception``
    can swallow it and turn a timeout into a misleading parse error."""


def depth_subset(points: np.ndarray, n: int, seed: int) -> np.ndarray:
    """The ``n`` points the depth maps are projected from (the stored cloud's seeded subset)."""
    index = np.random.default_rng(seed).choice(len(points), size=n, replace=False)
    return points[np.sort(index)]


@dataclass(frozen=True)
class ShardTask:
    """One unit of work. ``failures`` were decided before rendering (mesh absent...);
    ``retry_of`` maps each re-rendered object to the shard whose failure it supersedes."""

    shard_id: int
    entries: tuple[ShapeNetEntry, ...]
    failures: tuple[ObjectFailure, ...] = ()
    retry_of: tuple[tuple[str, int], ...] = ()

    @property
    def num_objects(self) -> int:
        return len(self.entries) + len(self.failures)


@dataclass(frozen=True)
class ShardOutcome:
    """What a worker reports back for one shard (small: no arrays cross the process boundary)."""

    shard_id: int
    num_rendered: int
    failures: tuple[ObjectFailure, ...]
    bytes: int
    seconds: dict[str, float]
    gl_rebuilds: int = 0
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def num_failed(self) -> int:
        return sum(f.status == "failed" for f in self.failures)


@dataclass
class _Drawn:
    """An object after the GL stages, waiting for its batched depth projection."""

    entry: ShapeNetEntry
    points: np.ndarray
    rgb: np.ndarray
    depth_points: np.ndarray
    texture: tuple[str, str]  # (texture_status, texture_detail) from the loader


@dataclass
class _StageClock:
    """Wall and CPU seconds per stage. CPU is the process's (all its threads: llvmpipe's
    rasteriser threads bill the RGB stage): on a shared machine wall time measures the
    neighbours, and on a GPU node the CPU left outside RGB is what bounds the job. A backend
    that runs several workers as threads of one process bills each stage the others' CPU too;
    the loky default runs one worker per process."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    cpu_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - start
            self.cpu_seconds[name] += time.process_time() - cpu_start


@contextmanager
def _torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` intra-op threads, restoring the caller's setting."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Interrupt the block with ``ObjectTimeout`` after ``seconds`` (main thread only: signals
    cannot target other threads; there the caller's elapsed-time check still applies)."""
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _expire(signum: int, frame: Any) -> None:
        raise ObjectTimeout(seconds)

    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _gl_errors() -> tuple[type[BaseException], ...]:
    """PyOpenGL's error base; pyrender first, because OpenGL picks its platform on first import."""
    import_pyrender()
    from OpenGL.error import Error  # noqa: PLC0415

    return (Error,)


class RenderWorker:
    """Renders and writes shards. Picklable; owns one ``RGBRenderer`` in the process that runs it."""

    def __init__(self, config: RenderJobConfig, *, attrs: dict[str, Any], threads: int = 1) -> None:
        self.config = config
        self.attrs = attrs
        self.threads = threads
        self.views: ViewPreset = get_view_preset(config.num_views)
        self._renderer: RGBRenderer | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_renderer": None}

    def close(self) -> None:
        """Free the GL context; a broken context may fail to close, which is then moot."""
        renderer, self._renderer = self._renderer, None
        if renderer is not None:
            try:
                renderer.close()
            except _gl_errors() as exc:
                log.debug("closing a broken GL context: %s", exc)

    def run_shard(self, task: ShardTask) -> ShardOutcome:
        """Render every object of ``task`` and write the shard (atomically, marker last)."""
        clock, drawn, failures, rebuilds = _StageClock(), [], list(task.failures), 0
        for entry in task.entries:
            result, rebuilt = self._draw_with_recovery(entry, clock)
            rebuilds += rebuilt
            (failures if isinstance(result, ObjectFailure) else drawn).append(result)
        with clock.stage("depth"):
            objects = self._with_depth(drawn)
        stats = {"seconds": {k: v for k, v in clock.seconds.items() if k != "write"},
                 "policy": self.config.policy(), "gl_rebuilds": rebuilds, "retry_of": dict(task.retry_of),
                 "gl": self._renderer.gl_info if self._renderer is not None else None}
        with clock.stage("write"):
            written = write_shard(self.config.out, task.shard_id, objects, failures, attrs=self.attrs, stats=stats)
        return ShardOutcome(task.shard_id, len(objects), tuple(failures), written.bytes, dict(clock.seconds), rebuilds,
                            dict(clock.cpu_seconds))

    def _draw_with_recovery(self, entry: ShapeNetEntry, clock: _StageClock) -> tuple[_Drawn | ObjectFailure, int]:
        """Draw one object; a GL error rebuilds the context and retries once before failing."""
        try:
            return self._draw_timed(entry, clock), 0
        except _gl_errors() as exc:
            log.warning("%s: GL error (%s); rebuilding the GL context and retrying once", entry.object_id, exc)
            self.close()
        try:
            return self._draw_timed(entry, clock), 1
        except _gl_errors() as exc:
            self.close()
            return self._failure(entry, f"GL error while rendering, twice: {exc}"), 1

    def _draw_timed(self, entry: ShapeNetEntry, clock: _StageClock) -> _Drawn | ObjectFailure:
        timeout, start = self.config.timeout_s, time.perf_counter()
        try:
            with deadline(timeout):
                drawn = self._draw(entry, clock)
        except ObjectTimeout:
            self.close()  # the context may have been interrupted mid-frame
            return self._failure(entry, f"render timeout: more than {timeout:g} s (--timeout)")
        except MeshLoadError as exc:
            return self._failure(entry, exc.reason)
        if timeout is not None and time.perf_counter() - start > timeout:
            return self._failure(entry, f"render timeout: more than {timeout:g} s (--timeout)")
        return drawn

    def _draw(self, entry: ShapeNetEntry, clock: _StageClock) -> _Drawn | ObjectFailure:
        """Load, sample and render RGB (the GL part); depth is batched per shard afterwards."""
        seed = derive_seed(self.config.seed, entry.object_id, SHARD_SEEDS)
        with clock.stage("load"):
            mesh = load_mesh(entry.mesh_path, max_faces=self.config.max_faces, asset_root=entry.asset_root,
                             budget=self.config.budget())
        with clock.stage("sample"):
            points = sample_surface(mesh.mesh, self.config.num_points, seed=seed)
            if not np.isfinite(points).all():
                return self._failure(entry, "NaN or infinite coordinates in the sampled points")
            subset = depth_subset(points, self.config.depth_points, seed)
        renderer = self._ensure_renderer()  # a new context is set-up cost, not RGB stage time
        with clock.stage("rgb"):
            views = renderer.render(mesh, self.views, light_seed=seed)
        if not views.mask.any():
            return self._failure(entry, "degenerate: the mesh covers no pixel in any view")
        return _Drawn(entry, points, views.rgb, subset, (mesh.texture_status, mesh.texture_detail))

    def _with_depth(self, drawn: list[_Drawn]) -> list[RenderedObject]:
        """Depth maps for all drawn objects, projected in batches on one thread: batched it is
        cheap next to RGB (~4 ms/object), while torch's thread pool on a busy machine can make
        it 10x slower -- parallelism comes from the workers, not from inside one."""
        preset = self.views
        elev = np.asarray(preset.elev, dtype=np.float32)
        azim = np.asarray(preset.azim, dtype=np.float32)
        dist = np.full(preset.num_views, preset.dist, dtype=np.float32)
        objects = []
        for start in range(0, len(drawn), DEPTH_BATCH):
            batch = drawn[start:start + DEPTH_BATCH]
            clouds = torch.from_numpy(np.stack([d.depth_points for d in batch]))
            with _torch_threads(1):
                maps = project_depth(clouds, torch.from_numpy(elev), torch.from_numpy(azim),
                                     torch.from_numpy(dist), size=self.config.size)
            depth = maps.depth.numpy().astype(np.float32, copy=False)
            for item, item_depth in zip(batch, depth):
                e = item.entry
                objects.append(RenderedObject(e.object_id, e.synset, e.label, e.split, item.rgb,
                                              np.ascontiguousarray(item_depth), item.points, elev, azim, dist,
                                              *item.texture, json.dumps(dict(e.metadata)) if e.metadata else ""))
        return objects

    def _ensure_renderer(self) -> RGBRenderer:
        if self._renderer is None:
            # llvmpipe reads this when its first context is made; N workers x all cores would
            # oversubscribe the machine. An explicit user setting wins.
            os.environ.setdefault("LP_NUM_THREADS", str(self.threads))
            self._renderer = RGBRenderer(self.config.size, light=self.config.light, shading=self.config.shading)
        return self._renderer

    @staticmethod
    def _failure(entry: ShapeNetEntry, reason: str) -> ObjectFailure:
        return ObjectFailure(entry.object_id, entry.synset, entry.split, "failed", reason)


_PROCESS_WORKER: dict[int, tuple[str, RenderWorker]] = {}


def run_shard_in_pool(worker: RenderWorker, task: ShardTask) -> ShardOutcome:
    """Entry point for pool processes: reuse this thread's worker (and its GL context) across
    shards of the same job; joblib unpickles a fresh copy of ``worker`` with every task."""
    key = f"{worker.config!r}/{worker.threads}"
    thread = threading.get_ident()
    cached = _PROCESS_WORKER.get(thread)
    if cached is None or cached[0] != key:
        if cached is not None:
            cached[1].close()
        _PROCESS_WORKER[thread] = cached = (key, worker)
    return cached[1].run_shard(task)
