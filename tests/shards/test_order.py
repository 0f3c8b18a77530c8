"""The loader's order as pure functions (rvm_data.shards.order): what each rank reads per epoch, the
shuffle buffer, batches and the worker split, checked on the functions themselves."""

from collections import Counter

import numpy as np
import pytest

from rvm_data.shards.order import (
    batch_count,
    buffer_shuffle,
    cut_batches,
    epoch_order,
    rank_share,
    worker_next,
    worker_owns,
)

SIZES = [[5, 5, 4], [3, 4, 3, 2, 2], [14], [1] * 12, [7, 1, 9, 3, 6, 2]]


def samples(shard_sizes, spans):
    """(shard, sample) pairs that spans read, in order."""
    return [(k, i) for k, first, end in spans for i in range(first, end)]


def sequence(shard_sizes, seed, epoch):
    """The epoch's sequence as the module docstring defines it: shards permuted by the [seed, epoch, 0]
    stream, concatenated, rotated by the next draw of that stream."""
    rng = np.random.default_rng([seed, epoch, 0])
    order = rng.permutation(len(shard_sizes))
    offset = int(rng.integers(sum(shard_sizes)))
    seq = [(int(k), i) for k in order for i in range(shard_sizes[k])]
    return seq[offset:] + seq[:offset]


@pytest.mark.parametrize("shard_sizes", SIZES)
@pytest.mark.parametrize("world", [1, 2, 3, 4, 6])
def test_every_sample_once_per_epoch_across_ranks_when_the_split_is_even(shard_sizes, world):
    total = sum(shard_sizes)
    for seed, epoch in [(0, 0), (0, 1), (7, 3)]:
        read = [s for rank in range(world) for s in samples(shard_sizes, epoch_order(shard_sizes, seed, epoch,
                                                                                        rank, world))]
        per_rank = rank_share(total, world)
        assert len(read) == per_rank * world and len(set(read)) == len(read)
        if total % world == 0:
            assert sorted(read) == sorted((k, i) for k, n in enumerate(shard_sizes) for i in range(n))


@pytest.mark.parametrize("shard_sizes", SIZES)
def test_ranks_take_consecutive_slices_of_the_rotated_sequence(shard_sizes):
    """Rank r reads [r*M, (r+1)*M) of the permuted, rotated sequence; the S mod world samples after the last
    slice sit the epoch out."""
    world = 4
    per_rank = rank_share(sum(shard_sizes), world)
    for seed, epoch in [(0, 0), (3, 2)]:
        seq = sequence(shard_sizes, seed, epoch)
        for rank in range(world):
            got = samples(shard_sizes, epoch_order(shard_sizes, seed, epoch, rank, world))
            assert got == seq[rank * per_rank:(rank + 1) * per_rank]


def test_the_rotation_moves_every_epoch_so_other_samples_sit_out():
    shard_sizes = [5, 5, 4]  # 14 samples over 4 ranks: 2 sit out each epoch
    out_per_epoch = []
    for epoch in range(6):
        read = {s for rank in range(4) for s in samples(shard_sizes, epoch_order(shard_sizes, 0, epoch, rank, 4))}
        out_per_epoch.append(frozenset(set(sequence(shard_sizes, 0, epoch)) - read))
    assert all(len(out) == 2 for out in out_per_epoch)
    assert len(set(out_per_epoch)) > 1


def test_unshuffled_is_the_listed_order_split_by_rank():
    shard_sizes = [3, 4, 3]
    assert epoch_order(shard_sizes, 5, 9, 0, 1, shuffle=False) == [(0, 0, 3), (1, 0, 4), (2, 0, 3)]
    assert epoch_order(shard_sizes, 5, 9, 1, 2, shuffle=False) == [(1, 2, 4), (2, 0, 3)]
    assert epoch_order(shard_sizes, 0, 0, 2, 3, shuffle=False) == [(1, 3, 4), (2, 0, 2)]  # sample 9 sits out


def test_order_is_deterministic_and_depends_on_seed_and_epoch():
    shard_sizes = [5, 5, 4, 6, 2]
    assert epoch_order(shard_sizes, 1, 2, 0, 2) == epoch_order(list(shard_sizes), 1, 2, 0, 2)
    assert epoch_order(shard_sizes, 1, 2, 0, 2) != epoch_order(shard_sizes, 1, 3, 0, 2)
    assert epoch_order(shard_sizes, 1, 2, 0, 2) != epoch_order(shard_sizes, 2, 2, 0, 2)


def test_too_few_samples_for_the_ranks_read_nothing():
    assert epoch_order([1, 1], 0, 0, 1, 3) == [] and epoch_order([], 0, 0, 0, 1) == []
    assert rank_share(2, 3) == 0


def test_the_shuffle_buffer_yields_each_item_once_seeded_by_seed_epoch_rank():
    items = list(range(50))
    out = list(buffer_shuffle(items, 8, seed=1, epoch=2, rank=0))
    assert sorted(out) == items and out != items
    assert out == list(buffer_shuffle(items, 8, 1, 2, 0))
    assert out != list(buffer_shuffle(items, 8, 1, 2, 1)) and out != list(buffer_shuffle(items, 8, 1, 3, 0))
    assert list(buffer_shuffle(items, 1, 1, 2, 0)) == items  # a buffer of one changes nothing
    assert sorted(buffer_shuffle(items, 1000, 1, 2, 0)) == items  # larger than the stream: one shuffle


def test_passthrough_items_come_straight_through_once_and_draw_nothing():
    items = list(range(30))
    plain = list(buffer_shuffle(items, 5, 0, 0, 0))
    marked = items[:12] + ["problem"] + items[12:]
    out = list(buffer_shuffle(marked, 5, 0, 0, 0, passthrough=lambda x: x == "problem"))
    assert out.count("problem") == 1
    assert [x for x in out if x != "problem"] == plain
    assert out.index("problem") == 12 - 5  # after the items that left the buffer before it came


def test_batches_are_cut_with_a_short_last_one_and_their_passthrough_items():
    items = iter([0, 1, "p", 2, 3, 4, "q", 5, 6])
    got = list(cut_batches(items, 3, 3, passthrough=lambda x: isinstance(x, str)))
    assert got == [([0, 1, 2], ["p"]), ([3, 4, 5], ["q"]), ([6], [])]
    assert list(cut_batches(iter(range(7)), 2, 3)) == [([0, 1, 2], []), ([3, 4, 5], [])]  # drop_last: 2 batches
    assert list(cut_batches(iter(range(3)), 3, None)) == [([0], []), ([1], []), ([2], [])]


@pytest.mark.parametrize("per_rank, size, drop_last, count", [(7, 2, True, 3), (7, 2, False, 4), (6, 3, False, 2),
                                                               (5, None, True, 5), (1, 2, True, 0)])
def test_batch_count(per_rank, size, drop_last, count):
    assert batch_count(per_rank, size, drop_last) == count


@pytest.mark.parametrize("workers", [1, 2, 3, 5])
def test_each_batch_has_exactly_one_worker_and_workers_stride(workers):
    owners = Counter(w for n in range(40) for w in range(workers) if worker_owns(n, workers, w))
    assert sum(owners.values()) == 40 and set(owners) == set(range(workers))
    assert [n for n in range(12) if worker_owns(n, workers, 0)] == list(range(0, 12, workers))


def test_worker_next_goes_on_in_the_next_epoch_only_when_resampled():
    assert worker_next(2, 5, 3, 10, resample=False) == (2, 8)
    assert worker_next(2, 8, 3, 10, resample=False) == (2, 11)  # past the end: that worker is done
    assert worker_next(2, 8, 3, 10, resample=True) == (3, 1)
