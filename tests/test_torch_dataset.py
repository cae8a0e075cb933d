"""ShardDataset: shapes, values, view selection, splits, samplers, workers, pickling, memory."""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler

from clip2point.datasets.shards import build_index, write_shard
from shard_fixtures import synthetic_object
from clip2point.datasets.batch_loader import _SlotRing, batch_loader
from clip2point.datasets.torch_dataset import ShardDataset, counter_hash
from clip2point.errors import ConfigError, ShardError

V, S, N = 3, 16, 32
NAMES = ["airplane", "bag", "chair"]


def objects(ids: range) -> list:
    return [synthetic_object(f"obj-{i:03d}", label=i % 3, synset=f"s{i % 3}", split="test" if i % 4 == 3 else "train",
                             views=V, size=S, num_points=N, seed=i) for i in ids]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shards")
    for shard, ids in enumerate((range(0, 4), range(4, 7), range(7, 12))):
        write_shard(root, shard, objects(ids), [], attrs={"config": {"v": V}, "class_names": NAMES})
    build_index(root)
    return root


def test_items_match_what_was_written(folder: Path) -> None:
    ds = ShardDataset(folder, view=1, fields=("rgb", "depth", "points"))
    assert len(ds) == 12 and ds.class_names == NAMES and ds.num_views == V
    np.testing.assert_array_equal(ds.labels, np.arange(12) % 3)
    for i, ref in enumerate(objects(range(12))):
        item = ds[i]
        assert item["object_id"] == ref.object_id and item["synset"] == ref.synset
        assert item["rgb"].dtype == torch.uint8 and item["rgb"].shape == (S, S, 3)
        assert item["depth"].dtype == torch.float32 and item["depth"].shape == (S, S)
        assert item["points"].dtype == torch.float32 and item["points"].shape == (N, 3)
        np.testing.assert_array_equal(item["rgb"].numpy(), ref.rgb[1])
        np.testing.assert_array_equal(item["depth"].numpy(), ref.depth[1])
        np.testing.assert_array_equal(item["points"].numpy(), ref.points)
        assert item["view"].item() == 1 and item["label"].dtype == torch.int64 and item["label"].item() == ref.label
        assert (item["elev"].item(), item["azim"].item(), item["dist"].item()) == (ref.elev[1], ref.azim[1], ref.dist[1])


def test_all_views_and_field_subset(folder: Path) -> None:
    ds = ShardDataset(folder, view="all", fields=("depth",))
    item = ds[5]
    ref = objects(range(5, 6))[0]
    assert set(item) == {"depth", "view", "elev", "azim", "dist", "label", "synset", "object_id"}
    np.testing.assert_array_equal(item["depth"].numpy(), ref.depth)
    assert item["view"].tolist() == list(range(V)) and item["elev"].shape == (V,)


def test_random_view_is_reproducible_per_seed_epoch_index(folder: Path) -> None:
    ds = ShardDataset(folder, seed=3)
    first = [ds.view_of(i) for i in range(len(ds))]
    assert first == [ShardDataset(folder, seed=3).view_of(i) for i in range(len(ds))]
    assert [ds[i]["view"].item() for i in range(len(ds))] == first
    ref = objects(range(12))
    for i in range(len(ds)):
        np.testing.assert_array_equal(ds[i]["rgb"].numpy(), ref[i].rgb[first[i]])
    epochs = []
    for epoch in range(6):
        ds.set_epoch(epoch)
        epochs.append([ds.view_of(i) for i in range(len(ds))])
    assert epochs[0] == first and len({tuple(e) for e in epochs}) == 6
    assert {v for e in epochs for v in e} == set(range(V))
    assert [ShardDataset(folder, seed=4).view_of(i) for i in range(len(ds))] != first


def test_counter_hash_views_are_uniform_and_independent() -> None:
    views = np.array([counter_hash(0, 0, i) % 10 for i in range(20000)])
    counts = np.bincount(views, minlength=10)
    assert counts.min() > 1800 and counts.max() < 2200  # 2000 expected, ±4.5 sigma
    next_epoch = np.array([counter_hash(0, 1, i) % 10 for i in range(20000)])
    assert 0.08 < np.mean(views == next_epoch) < 0.12  # epochs draw independently (0.1 expected)
    assert counter_hash(1, 2, 3) != counter_hash(3, 2, 1)


def test_split_filter_and_errors(folder: Path) -> None:
    test = ShardDataset(folder, split="test")
    assert list(test.object_ids) == ["obj-003", "obj-007", "obj-011"]
    assert len(ShardDataset(folder, split="train")) == 9
    with pytest.raises(ConfigError, match=r"no object in split 'val'; the folder has splits \['test', 'train'\]"):
        ShardDataset(folder, split="val")
    with pytest.raises(ConfigError, match=r'view must be "random", "all" or an int in \[0, 3\); got 3'):
        ShardDataset(folder, view=3)
    with pytest.raises(ConfigError, match=r"fields must be a non-empty subset of \('rgb', 'depth', 'points'\)"):
        ShardDataset(folder, fields=("normals",))
    with pytest.raises(IndexError, match="index 12 out of range"):
        ShardDataset(folder)[12]


def test_distributed_sampler_partitions_the_objects(folder: Path) -> None:
    ds = ShardDataset(folder)
    parts = [list(DistributedSampler(ds, num_replicas=3, rank=r, shuffle=True, seed=1)) for r in range(3)]
    assert all(len(p) == 4 for p in parts)
    assert sorted(i for p in parts for i in p) == list(range(12))


def test_dataloader_with_two_workers_matches_in_process(folder: Path) -> None:
    ds = ShardDataset(folder, seed=7, max_open_files=1)
    ds[0]  # a handle open in the parent must not leak into the forked workers
    ds.set_epoch(2)

    def run(workers: int) -> dict[str, list]:
        loader = DataLoader(ds, batch_size=5, num_workers=workers, shuffle=False)
        out: dict[str, list] = {"ids": [], "views": [], "rgb": []}
        for batch in loader:
            assert batch["rgb"].shape[1:] == (S, S, 3) and batch["points"].shape[1:] == (N, 3)
            out["ids"] += batch["object_id"]
            out["views"] += batch["view"].tolist()
            out["rgb"].append(batch["rgb"])
        return out

    inproc, workers = run(0), run(2)
    assert workers["ids"] == inproc["ids"] == list(ds.object_ids)
    assert workers["views"] == inproc["views"] == [ds.view_of(i) for i in range(12)]
    assert torch.equal(torch.cat(workers["rgb"]), torch.cat(inproc["rgb"]))


def _assert_same_batches(expected: list[dict], got: list[dict]) -> None:
    assert len(got) == len(expected) > 0
    for want, have in zip(expected, got):
        assert set(have) == set(want)
        for key, value in want.items():
            if isinstance(value, torch.Tensor):
                assert have[key].dtype == value.dtype and torch.equal(have[key], value), key
            else:
                assert have[key] == value, key


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("view,fields", [("random", ("rgb", "points")), ("all", ("rgb", "depth", "points")),
                                         (2, ("depth",))])
def test_batch_loader_equals_default_collate(folder: Path, workers: int, view: str | int, fields: tuple) -> None:
    ds = ShardDataset(folder, view=view, fields=fields, seed=5, max_open_files=1)
    ds.set_epoch(3)
    kwargs = dict(batch_size=5, shuffle=True, num_workers=workers)
    expected = list(DataLoader(ds, generator=torch.Generator().manual_seed(2), **kwargs))
    got = list(batch_loader(ds, generator=torch.Generator().manual_seed(2), **kwargs))
    _assert_same_batches(expected, got)  # all kept: a slot reused later never changes a batch handed out


@pytest.mark.parametrize("persistent", [True, False])
def test_batch_loader_slots_survive_abandoned_epochs_and_a_slow_consumer(folder: Path, persistent: bool,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    take = _SlotRing.take

    def slow_take(self: _SlotRing, batch: dict, pin: bool) -> dict:
        time.sleep(0.03)  # time enough for a worker to overwrite the slot, were it handed out too early
        return take(self, batch, pin)

    monkeypatch.setattr(_SlotRing, "take", slow_take)
    ds = ShardDataset(folder, view="all", fields=("rgb", "points"))
    loader = batch_loader(ds, batch_size=2, shuffle=False, num_workers=2, prefetch_factor=1,
                          persistent_workers=persistent)
    expected = list(DataLoader(ds, batch_size=2, shuffle=False))
    first = iter(loader)
    next(first)  # abandoned mid-epoch with batches prefetched into slots
    for _ in range(2):
        got = []
        for batch in loader:
            time.sleep(0.02)  # the workers run ahead as far as the loader lets them
            got.append(batch)
        _assert_same_batches(expected, got)
    assert not got[0]["rgb"].is_shared()  # a private copy: the caller may keep it as long as it likes
    with pytest.raises(ConfigError, match="in_order"):
        batch_loader(ds, batch_size=2, num_workers=2, in_order=False)


def test_batch_loader_without_room_in_shared_memory_says_how_much_it_needs(folder: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def full(self: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("unable to write to file </torch_1_2>: No space left on device (28)")

    monkeypatch.setattr(torch.Tensor, "share_memory_", full)
    ds = ShardDataset(folder, view=0, fields=("rgb", "points"))
    need = 2 * 4 * 5 * (S * S * 3 + N * 3 * 4) / 2**20  # 2 workers x (prefetch 2 + 2) slots x batch 5
    with pytest.raises(ConfigError, match=rf"needs {need:.1f} MiB of shared memory .*No space left.*--shm-size"):
        next(iter(batch_loader(ds, batch_size=5, num_workers=2)))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback of a machine without CUDA")
def test_batch_loader_asked_to_pin_without_cuda_warns_and_loads(folder: Path) -> None:
    ds = ShardDataset(folder, view=0, fields=("rgb",))
    with pytest.warns(UserWarning, match="pin_memory=True without a CUDA device"):
        loader = batch_loader(ds, batch_size=4, num_workers=2, pin_memory=True)
    _assert_same_batches(list(DataLoader(ds, batch_size=4)), list(loader))


def test_batch_loader_with_a_distributed_sampler_and_drop_last(folder: Path) -> None:
    ds = ShardDataset(folder)
    sampler = DistributedSampler(ds, num_replicas=2, rank=1, shuffle=True, seed=4)
    expected = list(DataLoader(ds, batch_size=4, sampler=sampler, drop_last=True))
    got = list(batch_loader(ds, batch_size=4, sampler=sampler, drop_last=True))
    _assert_same_batches(expected, got)
    assert [len(b["object_id"]) for b in got] == [4]  # 6 objects on this rank, the last 2 dropped
    with pytest.raises(ConfigError, match="sampler or shuffle"):
        batch_loader(ds, batch_size=4, sampler=sampler, shuffle=True)


def test_read_batch_names_the_shard_of_a_bad_read(tmp_path: Path) -> None:
    for shard, points in enumerate((N, N + 8)):  # a folder that mixes clouds of two sizes
        write_shard(tmp_path, shard, [synthetic_object(f"p{shard}", views=V, size=S, num_points=points, seed=shard)],
                    [], attrs={"config": {}})
    build_index(tmp_path)
    ds = ShardDataset(tmp_path, view=0, fields=("points",))
    assert ds.read_batch([0])["points"].shape == (1, N, 3)
    with pytest.raises(ShardError, match=r"shard-00001\.h5.*points of p1 is \(40, 3\), unlike the batch.s \(32, 3\)"):
        ds.read_batch([0, 1])
    with pytest.raises(ValueError, match="at least one"):
        ds.read_batch([])


def test_pickling_drops_handles(folder: Path) -> None:
    ds = ShardDataset(folder, view=0)
    before = ds[4]
    assert len(ds._handles) == 1
    clone = pickle.loads(pickle.dumps(ds))
    assert len(clone._handles) == 0
    assert torch.equal(clone[4]["rgb"], before["rgb"])


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096


def test_memory_stays_flat_over_epochs(tmp_path: Path) -> None:
    for shard in range(4):
        write_shard(tmp_path, shard, [synthetic_object(f"m{shard}-{i}", views=4, size=64, num_points=512, seed=i)
                                      for i in range(10)], [], attrs={"config": {}})
    ds = ShardDataset(tmp_path, fields=("rgb", "depth", "points"), max_open_files=2)
    rss = []
    for epoch in range(6):
        ds.set_epoch(epoch)
        for i in np.random.default_rng(epoch).permutation(len(ds)):
            ds[int(i)]
        rss.append(_rss_bytes())
        assert len(ds._handles) <= 2
    growth = rss[-1] - rss[1]  # after the first epoch warmed the allocator and HDF5
    assert growth < 8 * 2**20, f"RSS grew by {growth / 2**20:.1f} MiB over 4 epochs of 40 objects"
