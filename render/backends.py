"""Where shards run: in this process, or through joblib on loky (local processes), Ray or Dask.

Only this module knows about the execution frameworks; the job hands it picklable shard tasks
and gets ``ShardOutcome``s back in completion order. Ray and Dask join an existing cluster when
``RAY_ADDRESS`` / ``DASK_SCHEDULER_ADDRESS`` is set, otherwise they start a local one of
``workers`` single-threaded processes and shut it down afterwards.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import Iterable, Iterator

import joblib

from clip2point.extras import require
from clip2point.render.worker import RenderWorker, ShardOutcome, ShardTask, run_shard_in_pool
from clip2point.validation import check_choice, check_int

log = logging.getLogger(__name__)

BACKENDS = ("loky", "ray", "dask")
BACKEND_MODULES = {"ray": ("ray",), "dask": ("distributed",)}  # what each needs beyond joblib


def check_execution(backend: str, workers: int) -> None:
    """Refuse a bad backend or worker count before any work (or any file) is done."""
    check_choice(backend, "--backend", BACKENDS)
    check_int(workers, "--workers", low=1)
    if backend in BACKEND_MODULES:
        require("cluster", f"--backend {backend}", BACKEND_MODULES[backend])


def threads_per_worker(workers: int) -> int:
    """Cores each worker's rasteriser may use so ``workers`` processes fill, not oversubscribe,
    the machine (llvmpipe otherwise starts one thread per core in every process)."""
    return max(1, (os.cpu_count() or 1) // workers)


def run_shards(worker: RenderWorker, tasks: Iterable[ShardTask], *, workers: int, backend: str) -> Iterator[ShardOutcome]:
    """Run ``tasks`` and yield outcomes as shards finish. One loky worker runs in this process
    (no pool to start, same code path as a pool worker's ``run_shard``)."""
    check_execution(backend, workers)
    if workers == 1 and backend == "loky":
        try:
            for task in tasks:
                yield worker.run_shard(task)
        finally:
            worker.close()
        return
    with _joblib_backend(backend, workers):
        if backend == "ray":
            yield from _in_waves(worker, tasks, workers)
            return
        parallel = joblib.Parallel(n_jobs=workers if backend == "loky" else -1, return_as="generator_unordered",
                                   pre_dispatch="2*n_jobs", batch_size=1)
        yield from parallel(joblib.delayed(run_shard_in_pool)(worker, task) for task in tasks)


def _in_waves(worker: RenderWorker, tasks: Iterable[ShardTask], workers: int) -> Iterator[ShardOutcome]:
    """Ray's joblib backend only returns whole lists; waves of a few shards per worker keep the
    progress bar moving at a small cost in stragglers at each wave's end."""
    pending, wave = list(tasks), 4 * workers
    parallel = joblib.Parallel(n_jobs=-1, batch_size=1)
    for start in range(0, len(pending), wave):
        yield from parallel(joblib.delayed(run_shard_in_pool)(worker, t) for t in pending[start:start + wave])


@contextmanager
def _joblib_backend(backend: str, workers: int) -> Iterator[None]:
    if backend == "loky":
        with joblib.parallel_config(backend="loky", n_jobs=workers):
            yield
    elif backend == "ray":
        with _ray_cluster(workers), joblib.parallel_config(backend="ray"):
            yield
    else:
        with _dask_client(workers), joblib.parallel_config(backend="dask"):
            yield


@contextmanager
def _ray_cluster(workers: int) -> Iterator[None]:
    import ray  # noqa: PLC0415  (optional dependency: the "cluster" extra)
    from ray.util.joblib import register_ray  # noqa: PLC0415

    register_ray()
    started = not ray.is_initialized()
    if started:
        if os.environ.get("RAY_ADDRESS"):
            ray.init(log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
    log.info("ray cluster: %s CPUs", ray.cluster_resources().get("CPU"))
    try:
        yield
    finally:
        if started:
            ray.shutdown()


@contextmanager
def _dask_client(workers: int) -> Iterator[None]:
    from distributed import Client, LocalCluster  # noqa: PLC0415  (optional dependency)

    address = os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        with Client(address):
            yield
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster):
        log.info("dask local cluster: %d workers", workers)
        yield
