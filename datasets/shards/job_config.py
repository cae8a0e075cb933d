"""A shard folder's pinned configuration: ``config.json`` records the job configuration (and
code version) the shards were made with, and a job refuses to add shards made with another one.

``ensure_job_config`` writes it on first use and compares it on every resume; when it is missing
but shards exist, ``restore_job_config`` rebuilds it from the ``config`` attribute the shard
files carry, and refuses anything ambiguous. The file itself is read and written by the folder's
owner (:class:`~clip2point.datasets.shards.folder.ShardFolder`); this module is the policy.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Mapping

from clip2point.datasets.shards.folder import ShardFolder
from clip2point.datasets.shards.file_format import open_shard, read_json_attr
from clip2point.datasets.shards.records import CONFIG_NAME
from clip2point.errors import ConfigError, ShardError
from clip2point.provenance import code_version, to_jsonable

log = logging.getLogger(__name__)


def normalise_config(config: Any) -> Any:
    """Plain JSON types (tuples become lists), so a config compares equal to its reloaded self."""
    return json.loads(json.dumps(to_jsonable(config), sort_keys=True))


def config_differences(stored: Any, given: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ, with both values (for a message a person can act on)."""
    if isinstance(stored, dict) and isinstance(given, dict):
        out: list[str] = []
        for key in sorted(set(stored) | set(given)):
            out += config_differences(stored.get(key, "<absent>"), given.get(key, "<absent>"), f"{prefix}{key}.")
        return out
    return [] if stored == given else [f"{prefix.rstrip('.')}: folder has {stored!r}, given {given!r}"]


def shard_configs(folder: Path) -> dict[str, tuple[Any, Any]]:
    """The job configurations the folder's shard files record in their ``config`` attribute:
    ``{canonical JSON: (config, code_version)}``; unreadable files are left out."""
    found: dict[str, tuple[Any, Any]] = {}
    for path in sorted(folder.glob("shard-*.h5")):
        try:
            with open_shard(path) as h5:
                config, code = read_json_attr(h5, "config"), read_json_attr(h5, "code_version")
        except (ShardError, OSError, ValueError):
            continue
        if config is not None:
            found.setdefault(json.dumps(normalise_config(config), sort_keys=True), (normalise_config(config), code))
    return found


def restore_job_config(folder: Path, given: Any) -> dict[str, Any] | None:
    """``config.json`` rebuilt from the shards' own ``config`` attribute when it is missing but
    shards exist (None for a folder without shards). Writing the given flags instead would label
    existing shards with settings they were not made with, so anything but one recorded
    configuration equal to ``given`` is a ``ConfigError`` saying how to proceed."""
    if not ShardFolder(folder).holds_shards():
        return None
    configs = shard_configs(folder)
    how = f"restore {folder / CONFIG_NAME} from a backup or render into a new folder"
    if not configs:
        raise ConfigError(f"{folder} holds shards but {CONFIG_NAME} is missing and no readable shard file records "
                          f"its configuration; {how}")
    if len(configs) > 1:
        raise ConfigError(f"{folder} holds shards of {len(configs)} different configurations and no {CONFIG_NAME}; "
                          f"{how}")
    stored, code = next(iter(configs.values()))
    diffs = config_differences(stored, given)
    if diffs:
        raise ConfigError(f"{folder / CONFIG_NAME} is missing and the shards in {folder} were made with another "
                          f"configuration ({len(diffs)} keys differ: {'; '.join(diffs[:6])}); rerun with the "
                          f"shards' settings to resume (config.json is then restored from them), or {how}")
    data = {"config": stored, "code_version": code}
    ShardFolder(folder).write_config(data)
    log.warning("%s was missing; restored it from the configuration its shard files record", folder / CONFIG_NAME)
    return data


def ensure_job_config(folder: str | Path, config: Mapping[str, Any]) -> Path:
    """Write ``config.json`` on first use; refuse to mix configurations in one folder (a missing
    ``config.json`` next to shards is restored from them, see :func:`restore_job_config`)."""
    folder = Path(folder)
    given = normalise_config(dict(config))
    existing = ShardFolder(folder).config() or restore_job_config(folder, given)
    if existing is not None:
        diffs = config_differences(existing["config"], given)
        if diffs:
            raise ConfigError(
                f"{folder / CONFIG_NAME} holds shards made with another configuration "
                f"({len(diffs)} keys differ: {'; '.join(diffs[:6])}); rerun with the same flags to resume, "
                "or choose a new output folder"
            )
        return folder / CONFIG_NAME
    return ShardFolder(folder).write_config({"config": given, "code_version": code_version()})
