"""Per-object seeds: one function turns (base seed, stable object id) into an integer seed, so an
object's randomness never depends on which other objects ran, in which order, or where.

Python's ``hash`` is salted per process, so the seed comes from SHA-256. Two schemes exist, and
both stay as they are because their values are already stored: ``SHARD_SEEDS`` (63 bits) seeds
the generation job's surface sampling, lights and depth subsets, whose bytes sit in shard files;
``POINTSET_SEEDS`` (31 bits) seeds the evaluation sets' point sampling, whose clouds sit in
caches. Changing either would silently change data that re-runs must rebuild bit for bit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class SeedScheme:
    """How the digest of ``key`` (formatted with ``seed`` and ``object_id``) becomes ``bits``
    bits: ``keep="high"`` drops the low bit of the first ``bits + 1`` bits' bytes, ``keep="low"``
    masks off the top bit."""

    key: str
    bits: Literal[31, 63]
    keep: Literal["high", "low"]


SHARD_SEEDS = SeedScheme(key="clip2point/{seed}/{object_id}", bits=63, keep="high")
POINTSET_SEEDS = SeedScheme(key="{seed}:{object_id}", bits=31, keep="low")


def derive_seed(seed: int, object_id: str, scheme: SeedScheme) -> int:
    """A stable seed in ``[0, 2**scheme.bits)`` for (``seed``, ``object_id``)."""
    digest = hashlib.sha256(scheme.key.format(seed=seed, object_id=object_id).encode()).digest()
    value = int.from_bytes(digest[: (scheme.bits + 1) // 8], "little")
    return value >> 1 if scheme.keep == "high" else value & ((1 << scheme.bits) - 1)
