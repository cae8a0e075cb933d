"""Spreading independent calls over local processes, for the stages below the generation job
(sampling evaluation meshes, drawing gallery pictures).

With ``render.backends`` (the job runner: loky, Ray, Dask, results as shards finish) this is one
of the two modules that know joblib (``tests/test_architecture.py`` holds it to that); callers
say how many processes and get results in input order.
"""

from __future__ import annotations

from typing import Callable, Sequence, TypeVar

R = TypeVar("R")


def map_in_processes(fn: Callable[..., R], jobs: Sequence[tuple], *, workers: int) -> list[R]:
    """``[fn(*job) for job in jobs]`` in input order; ``workers`` > 1 and more than one job run in
    up to ``workers`` loky processes (``fn`` and the jobs must pickle), otherwise in this process."""
    if workers > 1 and len(jobs) > 1:
        from joblib import Parallel, delayed  # noqa: PLC0415  (starts no pool until called)

        return Parallel(n_jobs=min(workers, len(jobs)))(delayed(fn)(*job) for job in jobs)
    return [fn(*job) for job in jobs]
