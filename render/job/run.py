"""The generation job: meshes to HDF5 shards, planned, partitioned, run, indexed and reported.

plan    every split entry is to-render, skipped (a rule) or failed before rendering (no mesh);
        to-render and pre-failed objects are sorted by id and chunked into shards, so a shard's
        content is fixed by the configuration alone;
partition  shard k belongs to node k % num_nodes; shards with a completion marker are done,
        once their file is checked against the marker (a damaged one is set aside and re-rendered);
        the folder's state (markers, set-aside shards, superseded failures, skip list, pinned
        configuration) is ``datasets.shards.folder.ShardFolder``'s: the job asks it;
run     the pending shards go to workers (``render.backends``); each writes its own shard
        atomically, marker last, so a crash at any moment leaves only whole shards behind;
index   ``index.json`` aggregates the markers; ``report.json`` says what this run did.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from tqdm import tqdm

from clip2point.atomic_io import NO_SPACE, write_json_atomic
from clip2point.datasets.mesh_collections import build_manifest_index, build_objaverse_index
from clip2point.datasets.shapenet import ExcludedEntry, ShapeNetIndex, build_shapenet_index
from clip2point.datasets.shards.job_config import ensure_job_config
from clip2point.datasets.shards.folder import ShardFolder, source_record
from clip2point.datasets.shards import ObjectFailure, build_index
from clip2point.datasets.taxonomy import CLASS_NAMES
from clip2point.errors import ConfigError
from clip2point.provenance import to_jsonable
from clip2point.render.backends import check_execution, run_shards, threads_per_worker
from clip2point.render.job.config import RenderJobConfig, default_cache_dir
from clip2point.render.retry import RetryLookup, retry_shard_tasks
from clip2point.render.worker import STAGES, RenderWorker, ShardOutcome, ShardTask
from clip2point.validation import check_int

__all__ = ["RenderJobConfig", "JobPlan", "JobReport", "plan_job", "node_tasks", "run_render_job", "synthetic_source"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobPlan:
    """Every shard of the whole job (all nodes) plus the objects a rule skipped."""

    root: Path
    tasks: tuple[ShardTask, ...]
    skipped: tuple[ObjectFailure, ...]
    class_names: tuple[str, ...] = ()

    @property
    def num_objects(self) -> int:
        return sum(t.num_objects for t in self.tasks)

    def lookup(self) -> RetryLookup:
        """Every planned object by id, for ``--retry-failed``: made when asked, since two dicts
        over an 800,000-object plan would be held by every run for the few that retry."""
        return RetryLookup((e for t in self.tasks for e in t.entries), (f for t in self.tasks for f in t.failures))


@dataclass
class JobReport:
    """What one run did (this node), plus the folder's index counts after it."""

    out: str
    source: str
    node_rank: int
    num_nodes: int
    workers: int
    backend: str
    listed: int
    skipped: int
    node_objects: int
    shards_planned: int
    shards_already_done: int
    shards_run: int = 0
    rendered: int = 0
    failed: int = 0
    bytes: int = 0
    gl_rebuilds: int = 0
    wall_seconds: float = 0.0
    objects_per_s: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    stage_cpu_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    failures: list[dict[str, str]] = field(default_factory=list)
    set_aside: list[str] = field(default_factory=list)
    index_counts: dict[str, Any] = field(default_factory=dict)

    def add(self, outcome: ShardOutcome) -> None:
        self.shards_run += 1
        self.rendered += outcome.num_rendered
        self.failed += outcome.num_failed
        self.bytes += outcome.bytes
        self.gl_rebuilds += outcome.gl_rebuilds
        for stage, seconds in outcome.seconds.items():
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + seconds
        for stage, seconds in outcome.cpu_seconds.items():
            self.stage_cpu_seconds[stage] = self.stage_cpu_seconds.get(stage, 0.0) + seconds
        self.failures += [{"object_id": f.object_id, "reason": f.reason} for f in outcome.failures
                          if f.status == "failed"]


def synthetic_source(config: RenderJobConfig) -> Path:
    """The built-in synthetic set for this seed and size, written once into the cache folder
    (``default_cache_dir()/synthetic-v{generator}-c{classes}-seed{S}-per{N}``) and reused by every
    later job; the generator version and class count in the name keep an upgrade from reusing it."""
    from clip2point.datasets.synthetic import GENERATOR_VERSION, SYNTHETIC_SYNSETS, ensure_synthetic_set  # noqa: PLC0415

    folder = default_cache_dir() / (f"synthetic-v{GENERATOR_VERSION}-c{len(SYNTHETIC_SYNSETS)}"
                                    f"-seed{config.seed}-per{config.synthetic_per_class}")
    return ensure_synthetic_set(folder, config.synthetic_per_class, config.seed)


def plan_job(config: RenderJobConfig) -> JobPlan:
    """Index the source and chunk the sorted to-render + pre-failed objects into shards."""
    index, class_names = source_index(config)
    pre_failed = [_failure(x, "failed") for x in index.failed]
    items: list[Any] = sorted([*index.entries, *pre_failed], key=lambda item: item.object_id)
    if config.limit is not None:
        items = items[:config.limit]
    tasks = []
    for shard_id, start in enumerate(range(0, len(items), config.objects_per_shard)):
        chunk = items[start:start + config.objects_per_shard]
        tasks.append(ShardTask(shard_id, tuple(i for i in chunk if not isinstance(i, ObjectFailure)),
                               tuple(i for i in chunk if isinstance(i, ObjectFailure))))
    skipped = tuple(_failure(x, "skipped") for x in index.skipped)
    return JobPlan(index.root, tuple(tasks), skipped, class_names)


def source_index(config: RenderJobConfig) -> tuple[ShapeNetIndex, tuple[str, ...]]:
    """The configured source's index and class names (labels index them)."""
    if config.manifest is not None:
        return build_manifest_index(config.manifest)
    if config.objaverse_root is not None:
        return build_objaverse_index(config.objaverse_root, lvis=config.lvis)
    root = synthetic_source(config) if config.shapenet_root is None else config.shapenet_root
    return build_shapenet_index(root, config.split_dir), tuple(CLASS_NAMES)


def job_source(config: RenderJobConfig, plan: JobPlan) -> dict[str, Any]:
    """What ``config.json`` records of the source (see ``datasets.shards.folder``)."""
    items = itertools.chain((i for task in plan.tasks for i in (*task.entries, *task.failures)), plan.skipped)
    return source_record(config.source, config.source_root, ((item.object_id, item.split) for item in items))


def _failure(entry: ExcludedEntry, status: str) -> ObjectFailure:
    return ObjectFailure(entry.object_id, entry.synset, entry.split, status, entry.reason)  # type: ignore[arg-type]


def check_nodes(num_nodes: int, node_rank: int) -> None:
    """``--num-nodes`` >= 1 and ``--node-rank`` one of its ranks (the common sentences)."""
    check_int(num_nodes, "--num-nodes", low=1)
    check_int(node_rank, "--node-rank", low=0, high=num_nodes - 1, hint=f"a rank of --num-nodes {num_nodes}")


def node_tasks(tasks: Iterable[ShardTask], *, num_nodes: int, node_rank: int) -> list[ShardTask]:
    """This node's share: shard k runs on node k % num_nodes."""
    check_nodes(num_nodes, node_rank)
    return [t for t in tasks if t.shard_id % num_nodes == node_rank]


def run_render_job(
    config: RenderJobConfig,
    *,
    workers: int = 1,
    backend: str = "loky",
    num_nodes: int = 1,
    node_rank: int = 0,
    retry_failed: bool = False,
    progress: bool = True,
    checksums: bool = True,
) -> JobReport:
    """Render what this node still owes into ``config.out``; rerunning resumes.

    ``retry_failed`` then re-renders the folder's recorded failures into new shards (one node only).
    Done shards are checked against their markers first (``checksums``: each file's checksum, see
    ``shard_problem`` for the cost). Raises ``ConfigError`` when ``config.out`` holds another
    configuration."""
    check_execution(backend, workers)
    check_nodes(num_nodes, node_rank)
    if retry_failed and num_nodes != 1:
        raise ConfigError("--retry-failed runs on one node over the merged folder; drop --num-nodes/--node-rank")
    out, folder = config.out, ShardFolder(config.out)
    folder.refuse_foreign_files()
    plan = plan_job(config)
    source = job_source(config, plan)
    folder.check_source(source)  # another dataset: said before any configuration difference it implies
    ensure_job_config(out, config.identity())
    folder.check_source(source, keys=tuple(source))
    folder.record_source(source)
    folder.write_skipped(plan.skipped)
    folder.supersede_retried()
    mine = node_tasks(plan.tasks, num_nodes=num_nodes, node_rank=node_rank)
    set_aside = _check_done_shards(out, _shards_to_check(folder, plan, mine, num_nodes), checksums=checksums)
    done = folder.done_ids()
    pending = [t for t in mine if t.shard_id not in done]
    report = JobReport(str(out), config.source, node_rank, num_nodes, workers, backend,
                       listed=plan.num_objects + len(plan.skipped), skipped=len(plan.skipped),
                       node_objects=sum(t.num_objects for t in mine), shards_planned=len(mine),
                       shards_already_done=len(mine) - len(pending), set_aside=set_aside)
    log.info("%s job -> %s: %d objects listed, %d skipped by rule; node %d/%d owns %d objects in %d shards, "
             "%d shards already done; rendering %d objects in %d shards with %d %s workers",
             config.source, out, report.listed, report.skipped, node_rank, num_nodes, report.node_objects,
             len(mine), report.shards_already_done, sum(t.num_objects for t in pending), len(pending),
             workers, backend)
    worker = RenderWorker(config, attrs={"config": config.identity(), "class_names": list(plan.class_names)},
                          threads=threads_per_worker(workers))
    start = time.perf_counter()
    _execute(worker, pending, report, workers=workers, backend=backend, progress=progress)
    if retry_failed:
        first_id = max([t.shard_id for t in plan.tasks] + sorted(folder.done_ids()), default=-1) + 1
        retries = retry_shard_tasks(folder, plan.lookup(), first_id=first_id, objects_per_shard=config.objects_per_shard)
        log.info("retrying %d failed objects in %d new shards", sum(t.num_objects for t in retries), len(retries))
        _execute(worker, retries, report, workers=workers, backend=backend, progress=progress)
    folder.supersede_retried()  # also after re-rendering a set-aside shard whose failures a retry shard superseded
    report.wall_seconds = time.perf_counter() - start
    report.objects_per_s = (report.rendered + report.failed) / report.wall_seconds if report.wall_seconds else 0.0
    report.index_counts = build_index(out)["counts"]
    write_json_atomic(out / _report_name(num_nodes, node_rank), to_jsonable(report))
    _log_summary(report)
    return report


def _shards_to_check(folder: ShardFolder, plan: JobPlan, mine: list[ShardTask], num_nodes: int) -> list[int]:
    """This node's done shards, plus (one node only) the retry shards beyond the plan."""
    planned, done = {t.shard_id for t in plan.tasks}, folder.done_ids()
    extra = done - planned if num_nodes == 1 else set()
    return sorted(({t.shard_id for t in mine} | extra) & done)


def _check_done_shards(out: Path, shard_ids: list[int], *, checksums: bool) -> list[str]:
    """Set aside every done shard whose file no longer matches its marker, so it is rendered
    again instead of trusted (with the retry shards of its failures, whose superseded failures
    come back: ``ShardFolder.set_aside_damaged``); log why and return the new names. A marker
    alone proves only that the file was whole once; trusting it would index objects whose data
    is gone."""
    folder = ShardFolder(out)
    moved, restored = folder.set_aside_damaged(shard_ids, checksum=checksums)
    for record in moved:
        if record.problem is not None:
            log.warning("%s: %s; the shard will be rendered again", folder.shard_path(record.shard_id), record.problem)
    for record in moved:
        why = "damaged" if record.problem is not None else "it holds retries of a shard set aside"
        log.warning("shard %d set aside (%s): renamed to %s", record.shard_id, why, " and ".join(record.names))
    for shard_id, back in restored.items():
        log.warning("%d objects of set-aside retry shards are failures of shard %d again; rerun with "
                    "--retry-failed to render them", len(back), shard_id)
    return [name for record in moved for name in record.names]


def _execute(worker: RenderWorker, tasks: list[ShardTask], report: JobReport, *, workers: int, backend: str,
             progress: bool) -> None:
    """Run ``tasks``; on Ctrl-C say what is safe (only whole shards exist) and how to resume."""
    if not tasks:
        return
    bar = tqdm(total=sum(t.num_objects for t in tasks), unit="obj", desc="render", disable=not progress,
               dynamic_ncols=True, smoothing=0.05)
    try:
        for outcome in run_shards(worker, tasks, workers=workers, backend=backend):
            report.add(outcome)
            bar.update(outcome.num_rendered + len(outcome.failures))
            bar.set_postfix(failed=report.failed, refresh=False)
    except KeyboardInterrupt:
        finished = ShardFolder(worker.config.out).done_ids() & {t.shard_id for t in tasks}
        log.warning("interrupted with %d of this run's %d shards complete; completed shards are whole and no "
                    "partial shard is visible; rerun the same command to resume", len(finished), len(tasks))
        raise
    except OSError as exc:
        if exc.errno not in NO_SPACE:
            raise
        # One line for the CLI: where, how much (the writer's message), and that resuming is safe.
        finished = ShardFolder(worker.config.out).done_ids() & {t.shard_id for t in tasks}
        raise OSError(exc.errno, f"{exc.strerror}; {len(finished)} of this run's {len(tasks)} shards are complete "
                                 "and whole: free some space and rerun the same command to resume",
                      exc.filename) from exc
    finally:
        bar.close()


def _report_name(num_nodes: int, node_rank: int) -> str:
    return "report.json" if num_nodes == 1 else f"report-node{node_rank:03d}.json"


def _log_summary(report: JobReport, limit: int = 10) -> None:
    """The run in one line, then each failed object with its reason (the first ``limit``; the
    rest are in index.json), so a person can act on the log alone."""
    counts = report.index_counts
    log.info("run: %d shards, %d rendered, %d failed in %.1f s (%.2f objects/s, %.1f MB); folder: %d objects, "
             "%d failed, %d skipped", report.shards_run, report.rendered, report.failed, report.wall_seconds,
             report.objects_per_s, report.bytes / 1e6, counts.get("objects", 0), counts.get("failed", 0),
             counts.get("skipped", 0))
    for failure in report.failures[:limit]:
        log.warning("failed %s: %s", failure["object_id"], failure["reason"])
    if len(report.failures) > limit:
        log.warning("... and %d more failed objects, see %s", len(report.failures) - limit,
                    Path(report.out) / "index.json")
