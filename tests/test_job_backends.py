"""Execution backends: Ray and Dask local clusters give the same objects as one in-process worker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from job_helpers import object_hashes, small_config, synthetic_cache

from clip2point.errors import ConfigError
from clip2point.render.backends import threads_per_worker
from clip2point.render.job.run import run_render_job

__all__ = ["synthetic_cache"]

LIMIT = 4  # two shards of two objects


@pytest.fixture
def reference(tmp_path: Path) -> dict[str, str]:
    run_render_job(small_config(tmp_path / "reference", limit=LIMIT, objects_per_shard=2), progress=False)
    return object_hashes(tmp_path / "reference")


@pytest.mark.cluster
@pytest.mark.parametrize("backend", ["dask", "ray"])
@pytest.mark.slow  # ~30-50 s each: starts a Dask or Ray cluster
def test_cluster_backend_matches_in_process(tmp_path: Path, reference: dict[str, str], backend: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("RAY_ADDRESS", "DASK_SCHEDULER_ADDRESS"):
        monkeypatch.delenv(variable, raising=False)  # a local cluster, never a user's one
    out = tmp_path / backend
    report = run_render_job(small_config(out, limit=LIMIT, objects_per_shard=2), workers=2, backend=backend,
                            progress=False)
    assert (report.backend, report.shards_run, report.rendered, report.failed) == (backend, 2, LIMIT, 0)
    assert object_hashes(out) == reference


def test_unknown_backend_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--backend must be one of loky, ray, dask; got 'spark'"):
        run_render_job(small_config(tmp_path / "out", limit=1), backend="spark", progress=False)


def test_worker_count_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--workers must be an integer >= 1; got 0"):
        run_render_job(small_config(tmp_path / "out", limit=1), workers=0, progress=False)


@pytest.mark.parametrize(("num_nodes", "node_rank", "message"), [
    (0, 0, r"--num-nodes must be an integer >= 1; got 0$"),
    (2, 2, r"--node-rank must be an integer in \[0, 1\]; got 2 \(a rank of --num-nodes 2\)"),
    (2, -1, r"--node-rank must be an integer in \[0, 1\]; got -1 \(a rank of --num-nodes 2\)"),
])
def test_node_split_is_validated_before_any_file_is_written(tmp_path: Path, num_nodes: int, node_rank: int,
                                                            message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        run_render_job(small_config(tmp_path / "out"), num_nodes=num_nodes, node_rank=node_rank, progress=False)
    assert not (tmp_path / "out").exists()


def test_retry_failed_needs_the_merged_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--retry-failed runs on one node over the merged folder"):
        run_render_job(small_config(tmp_path / "out"), num_nodes=2, retry_failed=True, progress=False)


@pytest.mark.parametrize(("cores", "workers", "threads"), [(16, 1, 16), (16, 2, 8), (16, 3, 5), (16, 64, 1), (2, 2, 1)])
def test_rasteriser_threads_share_the_cores(monkeypatch: pytest.MonkeyPatch, cores: int, workers: int,
                                            threads: int) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert threads_per_worker(workers) == threads
