"""Writing ``index.json`` without holding it: the bytes ``json.dumps(obj, indent=1,
sort_keys=True)`` would give, produced piece by piece, and a duplicate-id check in 8 bytes per id.

Why: at Objaverse's scale (800,000 objects) the index held as dicts plus its JSON text cost
~2.6 KB per object at the peak (tracemalloc). Here the lists that grow with the folder go to
anonymous temporary files as their records arrive (one shard's worth in memory), and the
top-level object is assembled from them in ``json.dumps``'s own layout, so readers of
``index.json`` see the same bytes as before.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from array import array
from collections import Counter
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator, Mapping

import numpy as np

__all__ = ["json_text", "ListSpool", "write_sorted_object", "IdHashes", "IndexTally", "WrittenIndex"]


def json_text(value: Any, depth: int = 0) -> str:
    """``value`` as ``json.dumps(obj, indent=1, sort_keys=True)`` writes it ``depth`` levels deep
    in ``obj``: continuation lines carry ``depth`` more spaces (an encoded string never holds a
    raw newline, so every newline is a line break)."""
    text = json.dumps(value, indent=1, sort_keys=True)
    return text.replace("\n", "\n" + " " * depth) if depth else text


class ListSpool:
    """A JSON list member of the top-level object, its items encoded as they are added into an
    anonymous temporary file in ``folder`` (no name to leave behind on a crash)."""

    def __init__(self, folder: Path) -> None:
        self._file: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", dir=folder)
        self.count = 0

    def add(self, item: Any) -> None:
        self._file.write((",\n  " if self.count else "  ") + json_text(item, 2))
        self.count += 1

    def extend(self, items: Iterable[Any]) -> None:
        for item in items:
            self.add(item)

    def copy_to(self, out: IO[str]) -> None:
        """The list as ``json.dumps`` writes a member's value: ``[]``, or one item a line."""
        if not self.count:
            out.write("[]")
            return
        out.write("[\n")
        self._file.seek(0)
        shutil.copyfileobj(self._file, out, 1 << 16)
        out.write("\n ]")

    def close(self) -> None:
        self._file.close()


def write_sorted_object(out: IO[str], members: Mapping[str, Any]) -> None:
    """``json.dumps(members, indent=1, sort_keys=True) + "\\n"``, with :class:`ListSpool` members
    copied from their files instead of held."""
    out.write("{")
    for number, key in enumerate(sorted(members)):
        out.write(("," if number else "") + "\n " + json.dumps(key) + ": ")
        value = members[key]
        if isinstance(value, ListSpool):
            value.copy_to(out)
        else:
            out.write(json_text(value, 1))
    out.write("\n}\n" if members else "}\n")


class IdHashes:
    """Object ids seen, as 8-byte hashes (a set of the strings costs ~110 bytes per id). Equal
    hashes are only suspects: :meth:`suspects` names them, and the caller checks those ids
    exactly (two different ids share a 64-bit hash with probability ~N²/2⁶⁵)."""

    def __init__(self) -> None:
        self._hashes = array("q")

    def add(self, object_id: str) -> None:
        self._hashes.append(hash(object_id))

    def __len__(self) -> int:
        return len(self._hashes)

    def suspects(self) -> set[int]:
        """The hashes seen more than once."""
        ordered = np.sort(np.frombuffer(self._hashes, dtype=np.int64)) if self._hashes else np.zeros(0, np.int64)
        return {int(h) for h in ordered[1:][ordered[1:] == ordered[:-1]]}


class IndexTally:
    """What the index counts, fed one shard at a time, and the hashes of every id it lists
    (objects, failures, skips) for the duplicate check."""

    def __init__(self, skipped: Iterable[dict[str, Any]]) -> None:
        self.shards = self.objects = self.failed = self.bytes = 0
        self.splits: Counter[str] = Counter()
        self.synsets: Counter[str] = Counter()
        self.skipped = list(skipped)
        self.class_names: Any = None
        self.ids = IdHashes()

    def add(self, shard: Mapping[str, Any], objects: list[dict[str, Any]], failures: list[dict[str, Any]],
            class_names: Any) -> list[dict[str, Any]]:
        """Count one shard; returns its failures the index lists (status ``failed``). Its
        ``skipped`` records join the folder's skip list."""
        self.shards += 1
        self.bytes += int(shard["bytes"] or 0)
        self.class_names = class_names or self.class_names
        self.objects += len(objects)
        for record in objects:
            self.splits[str(record["split"])] += 1
            self.synsets[str(record["synset"])] += 1
            self.ids.add(record["object_id"])
        self.skipped += [f for f in failures if f["status"] == "skipped"]
        failed = [f for f in failures if f["status"] == "failed"]
        self.failed += len(failed)
        for record in failed:
            self.ids.add(record["object_id"])
        return failed

    def sorted_skipped(self) -> list[dict[str, Any]]:
        return sorted(self.skipped, key=lambda s: s["object_id"])

    def counts(self) -> dict[str, Any]:
        return {"shards": self.shards, "objects": self.objects, "failed": self.failed, "skipped": len(self.skipped),
                "splits": dict(sorted(self.splits.items())), "synsets": dict(sorted(self.synsets.items())),
                "bytes": self.bytes}

    def duplicate_suspects(self) -> set[int]:
        """Hashes of ids listed more than once, the skip list included (see :class:`IdHashes`)."""
        for record in self.skipped:
            self.ids.add(record["object_id"])
        return self.ids.suspects()


class WrittenIndex(Mapping[str, Any]):
    """The index ``build_index`` wrote: everything but the per-shard and per-object lists is held
    (counts, configuration, class names, skips); those lists are read back from the file, by
    ``load``, the first time one is asked for, so a caller that wants the counts pays nothing."""

    def __init__(self, head: Mapping[str, Any], lists: tuple[str, ...], load: Callable[[], dict[str, Any]]) -> None:
        self._head, self._keys, self._load = dict(head), tuple(sorted([*head, *lists])), load
        self._full: dict[str, Any] | None = None

    def __getitem__(self, key: str) -> Any:
        if key in self._head:
            return self._head[key]
        if key not in self._keys:
            raise KeyError(key)
        if self._full is None:
            self._full = self._load()
        return self._full[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)
