"""The loader's order as pure functions of (shard sizes, seed, epoch, rank, world size): which samples a
rank reads in an epoch, how its shuffle buffer mixes them, how they are cut into batches and which
DataLoader worker decodes which batch. :class:`rvm_data.shards.dataset.ShardDataset` only applies them.

1. :func:`epoch_order`: the shards are permuted by (seed, epoch) and concatenated into one sequence
   of S samples, which is rotated by a (seed, epoch) offset (a different one every epoch); rank r takes
   the contiguous slice [r·M, (r+1)·M) of the rotated sequence, M = S // world (:func:`rank_share`):
   whole shards where there are many, parts of shards where there are few, never a sample twice. The
   S mod world samples after the last slice are left out of that epoch (others each epoch, as the
   offset moves). Unshuffled, the sequence is the shards in listed order, not rotated.
2. :func:`buffer_shuffle`: a shuffle buffer seeded by (seed, epoch, rank) mixes the slice.
3. :func:`cut_batches`: consecutive batches of ``batch_size`` (the last one shorter when the rank's
   share does not fill it and partial batches are kept; :func:`batch_count`).
4. :func:`worker_owns`: worker w of W decodes the batches n with n % W == w, n counted from where the
   iteration starts, the order a DataLoader hands batches out in, so the batches do not depend on W.

The random streams are numpy's PCG64 seeded with ``[seed, epoch, 0]`` (permutation, then offset) and
``[seed, epoch, 1, rank]`` (shuffle buffer); changing them changes every existing training run's order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")
Span = tuple[int, int, int]  # (shard position in the listed shards, first sample, end sample) of one read


def rank_share(total: int, world: int) -> int:
    """Samples every rank reads per epoch: equal for all ranks, so they make the same number of batches."""
    return total // world


def batch_count(per_rank: int, batch_size: int | None, drop_last: bool) -> int:
    """Batches per rank and epoch (samples when ``batch_size`` is None)."""
    unit = batch_size or 1
    return per_rank // unit if drop_last else -(-per_rank // unit)


def epoch_order(shard_sizes: Sequence[int], seed: int, epoch: int, rank: int, world: int,
                shuffle: bool = True) -> list[Span]:
    """The sample ranges (shard position, first, end) that make up rank ``rank``'s slice of epoch
    ``epoch``, in reading order (see the module docstring)."""
    total = int(sum(shard_sizes))
    per_rank = rank_share(total, world)
    if total == 0 or per_rank == 0:
        return []
    if shuffle:
        rng = np.random.default_rng([seed, epoch, 0])
        order = rng.permutation(len(shard_sizes))
        pos = int(rng.integers(total)) + rank * per_rank
    else:
        order, pos = np.arange(len(shard_sizes)), rank * per_rank
    counts = np.array([shard_sizes[i] for i in order])
    ends = np.cumsum(counts)
    out: list[Span] = []
    left = per_rank
    while left:
        pos %= total
        k = int(np.searchsorted(ends, pos, side="right"))
        first = pos - int(ends[k] - counts[k])
        take = min(left, int(counts[k]) - first)
        if take:
            out.append((int(order[k]), first, first + take))
        left -= take
        pos += take
    return out


def buffer_shuffle(items: Iterable[T], size: int, seed: int, epoch: int, rank: int,
                   passthrough: Callable[[T], bool] = lambda item: False) -> Iterator[T]:
    """``items`` through a shuffle buffer of ``size`` seeded by (seed, epoch, rank): each item, once the
    buffer is full, takes the place of a random buffered one, which is yielded; the rest come out
    shuffled at the end. Items ``passthrough`` picks (problems to report) are yielded as they come,
    never buffered, and draw nothing from the stream."""
    rng = np.random.default_rng([seed, epoch, 1, rank])
    buf: list[T] = []
    for item in items:
        if passthrough(item):
            yield item
            continue
        if len(buf) < size:
            buf.append(item)
            continue
        i = int(rng.integers(len(buf)))
        yield buf[i]
        buf[i] = item
    rng.shuffle(buf)
    yield from buf


def cut_batches(items: Iterator[T], count: int, batch_size: int | None,
                passthrough: Callable[[T], bool] = lambda item: False) -> Iterator[tuple[list[T], list[T]]]:
    """``count`` batches of ``batch_size`` items (1 when None), each with the passthrough items met while
    it was formed; a batch the items run out in is the last and holds what is left."""
    unit = batch_size or 1
    items = iter(items)
    for _ in range(count):
        batch: list[T] = []
        passed: list[T] = []
        for item in items:
            (passed if passthrough(item) else batch).append(item)
            if len(batch) == unit:
                break
        if batch:
            yield batch, passed
        if len(batch) < unit:
            return


def worker_owns(n: int, workers: int, worker: int) -> bool:
    """Whether DataLoader worker ``worker`` of ``workers`` makes batch ``n`` of an iteration."""
    return n % workers == worker


def worker_next(epoch: int, batch: int, workers: int, num_batches: int, resample: bool) -> tuple[int, int]:
    """(epoch, batch) a worker that has just made ``batch`` of ``epoch`` makes next (its stride is the
    worker count); past the epoch's end a resampled stream goes on in the next epoch."""
    nxt = batch + workers
    return (epoch + nxt // num_batches, nxt % num_batches) if resample else (epoch, nxt)
