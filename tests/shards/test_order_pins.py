"""Pins of the loader's documented epoch order, through ShardDataset: the shards permuted by
(seed, epoch) and joined, the sequence rotated by a (seed, epoch) offset, rank r reading the slice
[r·M, (r+1)·M) of it (M = S // world size), then a shuffle buffer seeded by (seed, epoch, rank).

The streams are numpy's PCG64 seeded ``[seed, epoch, 0]`` (the permutation, then the offset) and
``[seed, epoch, 1, rank]`` (the buffer); an existing training run's order depends on them exactly.
A shuffle buffer of one keeps the slice's order, so it shows the rotation alone.
"""

from __future__ import annotations

import numpy as np
import pytest
from shard_helpers import make_build

from rvm_data.shards import ShardDataset


def rotated_slice(sizes: list[int], seed: int, epoch: int, rank: int, world: int) -> list[int]:
    """Sample indices of rank ``rank``'s slice, before the shuffle buffer (make_build numbers the samples
    consecutively through the shards in listed order)."""
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rng = np.random.default_rng([seed, epoch, 0])
    order = rng.permutation(len(sizes))
    offset = int(rng.integers(sum(sizes)))
    sequence = [int(starts[k]) + i for k in order for i in range(sizes[k])]
    share = len(sequence) // world
    return [sequence[(offset + rank * share + j) % len(sequence)] for j in range(share)]


def buffered(refs: list[int], seed: int, epoch: int, rank: int, size: int) -> list[int]:
    """The shuffle buffer: full, each new sample takes the place of a random one that is let out; at the
    end the rest leave in a shuffled order."""
    rng = np.random.default_rng([seed, epoch, 1, rank])
    buf: list[int] = []
    out = []
    for ref in refs:
        if len(buf) < size:
            buf.append(ref)
            continue
        i = int(rng.integers(len(buf)))
        out.append(buf[i])
        buf[i] = ref
    rng.shuffle(buf)
    return out + buf


def loaded(root, epoch: int, **kwargs) -> list[int]:
    ds = ShardDataset(root, with_spec=True, **kwargs)
    ds.set_epoch(epoch)
    return [sample["spec"]["index"] for sample in ds]


SIZES = [[5, 5, 4], [3, 4, 3, 2, 2]]


@pytest.mark.parametrize("sizes", SIZES, ids=["3 shards", "5 shards"])
@pytest.mark.parametrize("world", [1, 2, 3])
def test_each_epoch_is_the_permuted_shards_rotated_by_its_own_offset(tmp_path, sizes, world):
    root = make_build(tmp_path / "build", sizes, frames=1, size=(4, 4))
    for seed in (0, 7):
        for epoch in range(4):
            for rank in range(world):
                got = loaded(root, epoch, seed=seed, shuffle_buffer=1, rank=rank, world_size=world)
                assert got == rotated_slice(sizes, seed, epoch, rank, world), (seed, epoch, rank)


@pytest.mark.parametrize("sizes", SIZES, ids=["3 shards", "5 shards"])
def test_the_shuffle_buffer_mixes_the_slice_with_its_own_stream(tmp_path, sizes):
    root = make_build(tmp_path / "build", sizes, frames=1, size=(4, 4))
    for epoch in range(3):
        for rank in range(2):
            got = loaded(root, epoch, seed=3, shuffle_buffer=4, rank=rank, world_size=2)
            assert got == buffered(rotated_slice(sizes, 3, epoch, rank, 2), 3, epoch, rank, 4), (epoch, rank)


def test_the_offset_moves_every_epoch_so_other_samples_sit_out(tmp_path):
    """14 samples on 3 ranks: 2 sit out each epoch, and which two changes with the epoch's offset
    (the shard permutation alone could not move them off the end of a shard)."""
    sizes = [5, 5, 4]
    root = make_build(tmp_path / "build", sizes, frames=1, size=(4, 4))
    left_out = []
    for epoch in range(6):
        seen = [i for rank in range(3) for i in loaded(root, epoch, seed=0, rank=rank, world_size=3)]
        assert len(seen) == len(set(seen)) == 12
        left_out.append(frozenset(range(14)) - set(seen))
    assert len(set(left_out)) >= 4, left_out
    firsts = {loaded(root, epoch, seed=0, shuffle_buffer=1)[0] for epoch in range(6)}
    starts = {0, 5, 10}
    assert firsts - starts, "every epoch began at a shard's first sample: no rotation"


def test_unshuffled_is_the_listed_order_without_rotation(tmp_path):
    root = make_build(tmp_path / "build", [5, 5, 4], frames=1, size=(4, 4))
    for epoch in range(3):
        assert loaded(root, epoch, shuffle=False) == list(range(14))
        assert loaded(root, epoch, shuffle=False, rank=1, world_size=2) == list(range(7, 14))
