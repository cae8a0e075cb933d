"""The one seed derivation keeps both stored schemes' values (computed by the two functions it
replaced, render.worker's 63-bit and datasets.pointsets' 31-bit ``derive_seed``)."""

from __future__ import annotations

import hashlib

import pytest

from clip2point.seeds import POINTSET_SEEDS, SHARD_SEEDS, derive_seed

CASES = [(0, "02691156-aaa"), (7, "x"), (123456789, "airplane_0627")]


@pytest.mark.parametrize(("seed", "object_id", "expected"), [
    (0, "02691156-aaa", 4230975360742985246), (7, "x", 837473507322300088),
    (123456789, "airplane_0627", 2960190017884085907)])
def test_shard_seeds_are_the_generation_jobs(seed, object_id, expected):
    assert derive_seed(seed, object_id, SHARD_SEEDS) == expected


@pytest.mark.parametrize(("seed", "object_id", "expected"), [
    (0, "02691156-aaa", 1319296540), (7, "x", 1796579548), (123456789, "airplane_0627", 453795279)])
def test_pointset_seeds_are_the_evaluation_sets(seed, object_id, expected):
    assert derive_seed(seed, object_id, POINTSET_SEEDS) == expected


@pytest.mark.parametrize(("seed", "object_id"), CASES)
def test_schemes_match_their_written_out_formulas(seed, object_id):
    """The slow, obvious versions of the two schemes (as the replaced functions wrote them)."""
    shard = hashlib.sha256(f"clip2point/{seed}/{object_id}".encode()).digest()
    point = hashlib.sha256(f"{seed}:{object_id}".encode()).digest()
    assert derive_seed(seed, object_id, SHARD_SEEDS) == int.from_bytes(shard[:8], "little") >> 1
    assert derive_seed(seed, object_id, POINTSET_SEEDS) == int.from_bytes(point[:4], "little") & 0x7FFFFFFF
    assert 0 <= derive_seed(seed, object_id, POINTSET_SEEDS) < 2 ** 31
