"""Memory for batch tensors, reused once the trainer is done with it.

Touching fresh memory costs a page fault per 4 KiB page, which at 512x512 is a fifth of the decode
time for private memory and more than the decode time for the shared memory a DataLoader worker hands
its batches over in. So batch memory is recycled, but only once nothing refers to it any more:

- in the process that iterates (no workers), an array is reused when the pool holds its only reference
  (every tensor and view of it keeps a reference);
- in a DataLoader worker, batches are made in shared memory (so the DataLoader does not copy them again)
  in one of a few slots; ShardLoader, in the main process, marks a slot free in a small shared flag
  table once every storage of the batch it received from that slot has been freed. Without ShardLoader
  (a bare DataLoader) no slot is ever freed and every batch gets fresh shared memory.

Two private torch APIs do the work: ``UntypedStorage._new_shared`` (shared memory without touching it
privately first) and ``StorageWeakRef`` (noticing in the main process that a storage is freed). Should a
torch version lack them, batches still load, only slower: fresh shared memory through the public
``share_memory_()``, and no slot reuse (as with a bare DataLoader).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

StorageWeakRef: Callable[[torch.UntypedStorage], Any] | None  # a weak reference with .expired()
try:
    from torch.multiprocessing.reductions import StorageWeakRef
except ImportError:  # private API (see the module docstring): slots are then never reused
    StorageWeakRef = None
# private API; None: share_memory_()
_NEW_SHARED: Callable[[int], torch.UntypedStorage] | None = getattr(torch.UntypedStorage, "_new_shared", None)

SLOT_KEY = "_slot"  # worker -> main process: (worker id, slot) the batch's memory belongs to
SLOTS_PER_WORKER = 4  # batches a worker may have in flight: prefetched, being pinned, held by the trainer


def _np_dtype(dtype: torch.dtype) -> np.dtype:
    return torch.empty(0, dtype=dtype).numpy().dtype


def _refs(pool: list[np.ndarray], i: int) -> int:
    """References to ``pool[i]`` (the pool's own one included), counted the same way every time."""
    return sys.getrefcount(pool[i])


class BatchMemory:
    """Allocates the tensors of one batch at a time; see the module docstring for the reuse rules.

    ``slots`` (worker only) is this worker's row of the shared flag table: 0 free, 1 in use.
    """

    per_shape = 4  # pooled arrays per shape and dtype in the iterating process

    def __init__(self, shared: bool, slots: torch.Tensor | None = None) -> None:
        self.shared, self.slots = shared, slots
        self.pool: list[np.ndarray] = []
        self.unused = 0  # references to a pooled array that only the pool holds (set on first use)
        self.slot_tensors: list[list[torch.Tensor]] = [[] for _ in range(len(slots))] if slots is not None else []
        self.slot: int | None = None
        self.used = 0
        self.made: list[tuple[np.ndarray, torch.Tensor]] = []

    def start_batch(self) -> int | None:
        """Begin a batch; in a worker, claim a free slot (None when all are in use)."""
        self.made.clear()
        self.used, self.slot = 0, None
        if self.slots is not None:
            free = torch.nonzero(self.slots == 0)
            if len(free):
                self.slot = int(free[0])
                self.slots[self.slot] = 1
        return self.slot

    def tensor(self, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        shape = tuple(shape)
        if not self.shared:
            return torch.from_numpy(self._pooled(shape, _np_dtype(dtype)))
        if self.slot is None:
            return _new_shared(shape, dtype)
        tensors = self.slot_tensors[self.slot]
        if self.used < len(tensors) and tensors[self.used].shape == shape and tensors[self.used].dtype == dtype:
            t = tensors[self.used]
        else:
            t = _new_shared(shape, dtype)
            tensors[self.used:self.used + 1] = [t]
        self.used += 1
        return t

    def _pooled(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        same = [i for i, arr in enumerate(self.pool) if arr.shape == shape and arr.dtype == dtype]
        for i in same:
            if _refs(self.pool, i) == self.unused:
                return self.pool[i]
        arr = np.empty(shape, dtype)
        if len(same) < self.per_shape:
            self.pool.append(arr)
            self.unused = _refs(self.pool, len(self.pool) - 1) - 1  # minus the local name ``arr``
        return arr

    def array(self, shape: tuple[int, ...]) -> np.ndarray:
        """A uint8 batch array to decode into; ``as_tensor`` gives back its tensor."""
        if not self.shared:
            return self._pooled(tuple(shape), np.dtype(np.uint8))
        t = self.tensor(shape, torch.uint8)
        self.made.append((t.numpy(), t))
        return self.made[-1][0]

    def as_tensor(self, arr: np.ndarray) -> torch.Tensor:
        for made, tensor in self.made:
            if made is arr:
                return tensor
        return torch.from_numpy(arr)


def _new_shared(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    if _NEW_SHARED is None:
        fresh = torch.empty(shape, dtype=dtype)
        fresh.share_memory_()  # type: ignore[no-untyped-call]  # torch leaves Tensor.share_memory_ unannotated
        return fresh
    nbytes = int(np.prod(shape)) * dtype.itemsize
    # torch's stub wants a stride with an offset and size; set_(storage, offset, size) is contiguous
    tensor: torch.Tensor = torch.empty(0, dtype=dtype).set_(_NEW_SHARED(nbytes), 0, shape)  # type: ignore[call-overload]
    return tensor


class SlotReleaser:
    """Main process: frees a worker's slot once every storage of the batch received from it is gone.

    ``table`` is None (workers claim no slots) where torch lacks ``StorageWeakRef``.
    """

    def __init__(self, workers: int) -> None:
        self.table: torch.Tensor | None = None
        if StorageWeakRef is not None:
            self.table = torch.zeros((workers, SLOTS_PER_WORKER), dtype=torch.int8)
            self.table.share_memory_()  # type: ignore[no-untyped-call]  # torch leaves it unannotated
        self.held: dict[tuple[int, int], list[Any]] = {}

    def received(self, batch: dict[str, Any]) -> None:
        """Release slots whose batches are gone, then watch this batch's slot (popped from the batch)."""
        for key, refs in list(self.held.items()):
            if all(ref.expired() for ref in refs):
                assert self.table is not None  # slots are held only where StorageWeakRef, and so the table, is
                self.table[key] = 0
                del self.held[key]
        slot = batch.pop(SLOT_KEY, None)
        if slot is not None:
            assert StorageWeakRef is not None  # workers claim slots only where the table is
            self.held[tuple(slot)] = [StorageWeakRef(v.untyped_storage()) for v in batch.values()
                                      if isinstance(v, torch.Tensor)]
