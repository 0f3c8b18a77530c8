"""ShardDataset: shards -> batches of tensors, split over DDP ranks and DataLoader workers, resumable;
and read_sample, one sample of a build by its index.

The order of an epoch is a pure function of (shard sizes, seed, epoch, rank, world size), written out
in :mod:`rvm_data.shards.order`: shards permuted and the whole rotated per epoch, a contiguous slice per
rank, a seeded shuffle buffer, batches, and worker w of W decoding every W-th batch (so the batches the
trainer sees do not depend on the number of workers). Every rank yields the same number of batches: the
S mod world_size samples left after the slices are dropped for this epoch (different ones each epoch),
and so is a partial last batch when ``drop_last``. Resuming needs only (epoch, batches delivered): the
scan of the skipped part reads tar headers, not data. What a problem does is the ``on_error`` handler's
choice (:mod:`rvm_data.shards.handlers`).

What every sample must look like (its fields and their T×C×H×W, the :data:`Layout`) is fixed when the
dataset is made: from the headers of the first readable sample of the first shard listed, checked against
the frames and size the manifest's recipe gives the output. A sample that differs is the bad one, whichever
sample comes first in a batch, and no frame is decoded before its header says it has the expected size.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from rvm_data.errors import RvmDataError
from rvm_data.shards.folder import BuildFolder, ShardFile, ShardSetError
from rvm_data.shards.handlers import Handler, error_handler
from rvm_data.shards.layout import index_key, is_shard_file, member_key, shard_output
from rvm_data.shards.manifest import Manifest
from rvm_data.shards.members import MemberCheck, read_index
from rvm_data.shards.memory import SLOT_KEY, BatchMemory, SlotReleaser
from rvm_data.shards.order import (
    batch_count,
    buffer_shuffle,
    cut_batches,
    epoch_order,
    rank_share,
    worker_next,
    worker_owns,
)
from rvm_data.shards.reader import (
    Layout,
    SampleRef,
    ShardError,
    allocate,
    check_memory,
    count_samples,
    decode_sample,
    decode_sample_into,
    decode_spec,
    load_sample,
    parse_sample,
    sample_layout,
    scan_shard,
)

SKIPPED_KEY = "_skipped"  # worker -> main process: messages of samples replaced in this batch
ERROR_KEY = "_error"  # worker -> main process: the project error that ended the worker, intact


__all__ = ["ShardDataset", "ShardFile", "ShardLoader", "ShardSetError", "composite", "read_sample", "resolve_shards"]


@dataclass(frozen=True)
class _Missing:
    """Placeholder for a sample of a shard that could not be scanned (the handler went on); ``warn``: its
    handler asked for a warning."""

    error: str
    warn: bool = True


@dataclass(frozen=True)
class _Problem:
    """A shard problem found after its samples were read (more samples than listed), the handler going
    on: reported with the batch being formed, by the one worker that loads that batch."""

    error: str
    warn: bool = True


def _is_problem(ref: object) -> bool:
    return isinstance(ref, _Problem)


ShardSource = str | os.PathLike[str] | Manifest | Sequence[str | os.PathLike[str] | ShardFile]
"""What a dataset reads: a build folder or its manifest.json, a Manifest (with ``root``), or a list of shards."""


def resolve_shards(source: ShardSource,
                   split: str | None = None, root: str | os.PathLike[str] | None = None,
                   output: str | None = None) -> list[ShardFile]:
    """Shards of a build folder / manifest.json (one split, one output) or of an explicit list of shards.

    List items are .tar paths (counted by a header scan) or ShardFile (count given, no scan).
    ``output`` picks one output of a recipe with several (shards ``<output>-NNNNNN.tar``).
    """
    return _shards(_folder(source, root), source, split, output)


def _shards(folder: BuildFolder | None, source: ShardSource,
            split: str | None, output: str | None) -> list[ShardFile]:
    if folder is not None:
        return folder.shards(split, output, "manifest" if isinstance(source, Manifest) else str(source))
    if isinstance(source, (list, tuple)):
        return [p if isinstance(p, ShardFile) else ShardFile(str(p), count_samples(str(p))) for p in source]
    # a Manifest always has a folder; a sequence other than a list or tuple fails in Path, as it always did
    path = Path(cast("str | os.PathLike[str]", source))
    if is_shard_file(path):
        return [ShardFile(str(path), count_samples(str(path)))]
    raise ShardSetError(f"{path}: not a build folder, manifest.json or .tar shard")


def _folder(source: ShardSource,
            root: str | os.PathLike[str] | None) -> BuildFolder | None:
    """The build folder ``source`` names (a folder, its manifest.json, or a Manifest with ``root``), or
    None for shards named one by one."""
    if isinstance(source, Manifest):
        if root is None:
            raise ValueError("a Manifest object needs root= (its build folder)")
        return BuildFolder(root, source)
    if isinstance(source, (str, os.PathLike)) and BuildFolder.is_folder(source):
        return BuildFolder(source)
    return None


def recipe_shape(folder: BuildFolder, shards: Sequence[ShardFile]) -> tuple[int, int, int] | None:
    """(T, H, W) the build's recipe gives the one output these shards belong to, where it says."""
    names = {shard_output(s.path) for s in shards}
    return folder.shape(next(iter(names))) if len(names) == 1 else None


def read_sample(source: str | os.PathLike[str], split: str | None, index: int,
                output: str | None = None) -> dict[str, Any]:
    """Sample ``index`` (its key) of one split and output of a build: ``{field: T×H×W×C uint8, "spec": dict}``.

    ``source`` is a build folder or its manifest.json; ``split`` and ``output`` are as for
    :func:`resolve_shards`. The manifest's counts say which shard holds the sample; its key is checked, so
    a build whose manifest lacks a shard (interrupted) gives an error rather than another sample.
    For looking at a few samples (previews, tests); training reads batches through :class:`ShardDataset`.
    Raises IndexError naming the build when ``index`` is out of range, ShardError naming shard and member.
    """
    shards = resolve_shards(source, split, output=output)
    total = sum(s.samples for s in shards)
    if not 0 <= index < total:
        chosen = " ".join(f"{what} {name!r}" for what, name in (("split", split), ("output", output)) if name)
        raise IndexError(f"{source}{': ' + chosen if chosen else ''} has {total} samples; "
                         f"index {index} is out of range")
    position = index
    for shard in shards:
        if position < shard.samples:
            break
        position -= shard.samples
    indexed = _indexed_ref(shard.path, position)
    seen = position if indexed else 0
    for ref in [indexed] if indexed else scan_shard(shard.path):
        if seen == position:
            if ref.key != index_key(index):
                raise ShardError(shard.path, ref.members[0][0], f"holds sample {ref.key} where the manifest's counts "
                                 f"put sample {index} (a shard missing from the manifest?)")
            with open(shard.path, "rb") as f:
                return load_sample(ref, f)
        seen += 1
    raise ShardError(shard.path, None, f"has {seen} samples, {shard.samples} listed (truncated?)")


def _indexed_ref(shard: str, position: int) -> SampleRef | None:
    """Sample ``position`` of a shard from its member index (offsets, no tar scan), or None without a
    usable index (then the caller scans). The bytes are still checked when decoded."""
    try:
        index = read_index(shard)
        if index.bytes != os.path.getsize(shard):  # not this shard's index (rewritten, truncated): scan
            return None
    except (ShardError, OSError):
        return None
    members = index.members
    keys: dict[str, list[tuple[str, int, int]]] = {}
    for name, offset, size, _ in members:
        keys.setdefault(member_key(name), []).append((name, offset, size))
    if position >= len(keys):
        return None
    key = list(keys)[position]
    return SampleRef(shard, key, tuple(keys[key]))


def _dist_rank_world() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1



def composite(fgr: np.ndarray, pha: np.ndarray, bgr: np.ndarray) -> np.ndarray:
    """``src = fgr·pha + bgr·(1−pha)`` of uint8 arrays, rounded to uint8: what ``with_src`` yields with
    ``decode="uint8"``, for code that holds decoded samples as numpy (the viewer, the eval-set export)."""
    a = pha.astype(np.float32) / 255.0
    src: np.ndarray = np.clip(bgr + (fgr.astype(np.float32) - bgr) * a + 0.5, 0, 255).astype(np.uint8)
    return src

class ShardDataset(IterableDataset[dict[str, Any]]):
    """Batches (dicts of B×T×C×H×W tensors) or single samples (T×C×H×W) from shards.

    ``source`` is a build folder (with ``split=`` and, for recipes with several outputs, ``output=``),
    a manifest.json, or a list of .tar paths / ShardFile. Fields are whatever the shards hold
    (fgr, pha, bgr or img, seg). ``decode="float"`` gives float32
    in [0, 1]; ``with_src`` adds ``src = fgr·pha + bgr·(1−pha)``; ``with_spec`` adds ``spec`` (a list of
    dicts per batch). ``resample=True`` is an endless stream of epochs, each reshuffled.
    ``on_error`` is the handler of shard problems (:mod:`rvm_data.shards.handlers`): ``"raise"`` (the
    default) stops with the ShardError; ``"skip"`` replaces an unreadable sample, or one whose fields or
    size are not the dataset's ``layout``, by a readable one of the same batch (the dataset's first readable
    sample when the batch has none), so shapes and batch counts stay equal across ranks; it warns and
    counts it in ``skipped``/``skip_messages``, as it does samples beyond a shard's listed count; a
    callable decides for itself (raise to stop, return True to skip and warn, False to skip quietly).
    ``rank``/``world_size`` default to torch.distributed's when it is initialised, else 0/1.
    ``verify_members=True`` checks each member read against the crc32 in its shard's member index
    (:mod:`rvm_data.shards.members`); a mismatch or a missing index is a ShardError under ``on_error``.
    Use ``loader(num_workers=...)`` rather than a bare DataLoader so that ``state_dict()`` knows how
    many batches the trainer has received.
    """

    def __init__(self, source: ShardSource, *,
                 split: str | None = None, output: str | None = None, root: str | os.PathLike[str] | None = None,
                 batch_size: int | None = None, shuffle: bool = True, seed: int = 0,
                 shuffle_buffer: int = 1000, decode: str = "uint8", with_spec: bool = False,
                 with_src: bool = False, resample: bool = False, drop_last: bool = True,
                 on_error: str | Handler = "raise", rank: int | None = None, world_size: int | None = None,
                 verify_members: bool = False) -> None:
        super().__init__()
        if decode not in ("uint8", "float"):
            raise ValueError(f"decode must be 'uint8' or 'float', got {decode!r}")
        self.handler = error_handler(on_error)
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 or None, got {batch_size}")
        if seed < 0 or shuffle_buffer < 1:
            raise ValueError("seed must be >= 0 and shuffle_buffer >= 1")
        folder = _folder(source, root)
        self.shards = _shards(folder, source, split, output)
        self.expected = recipe_shape(folder, self.shards) if folder is not None else None
        if (rank is None) != (world_size is None):
            raise ValueError("pass both rank and world_size, or neither")
        self.rank, self.world_size = ((rank, world_size) if rank is not None and world_size is not None
                                      else _dist_rank_world())  # both or neither, checked above
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"rank {self.rank} is not in [0, {self.world_size})")
        self.batch_size, self.shuffle, self.seed, self.shuffle_buffer = batch_size, shuffle, seed, shuffle_buffer
        self.decode, self.with_spec, self.with_src = decode, with_spec, with_src
        self.resample, self.drop_last, self.on_error = resample, drop_last, on_error
        self.member_check = MemberCheck() if verify_members else None  # crc32 of each member read, vs its index
        self.layout = self._find_layout()
        if with_src and not {"fgr", "pha", "bgr"} <= set(self.layout):
            raise ValueError(f"with_src needs fgr, pha and bgr; the shards hold {sorted(self.layout)}")
        self.total = sum(s.samples for s in self.shards)
        self.per_rank = rank_share(self.total, self.world_size)
        self.num_batches = batch_count(self.per_rank, batch_size, drop_last)
        if self.num_batches == 0:
            raise ShardSetError(f"{self.total} samples over {self.world_size} rank(s) give {self.per_rank} per rank, "
                             f"not one batch of {batch_size or 1}")
        self.epoch = 0
        self.batches = 0  # batches of self.epoch delivered to the trainer
        self.skipped = 0
        self.skip_messages: list[str] = []
        self._slots: torch.Tensor | None = None  # ShardLoader's slot table while it iterates with workers
        # torchdata's StatefulDataLoader saves each worker's state_dict() with each batch it hands out: a
        # worker's is the next batch *it* makes (it makes every num_workers-th), resumed with that stride.
        self._worker_pos: tuple[int, int] | None = None
        self._strided = False

    def _find_layout(self) -> Layout:
        """The layout of the first readable sample of the shards in listed order (headers only), which must
        have the manifest's frames and size and fit a batch in the memory limit; in skip mode a shard whose
        first sample does not is passed over."""
        problems = []
        for shard in self.shards:
            try:
                refs = scan_shard(shard.path)
                try:
                    ref = next(refs, None)
                finally:
                    refs.close()
                if ref is None:
                    raise ShardError(shard.path, None, "holds no samples")
                with open(shard.path, "rb") as f:
                    layout = sample_layout(ref, ref.read(f))
                first = ref.members[0][0]
                if self.expected is not None:
                    for field, (t, _, h, w) in layout.items():
                        if (t, h, w) != self.expected:
                            want = "x".join(map(str, self.expected))
                            raise ShardError(shard.path, first, f"field {field} is {t}x{h}x{w} (TxHxW), the "
                                             f"manifest's recipe makes {want}")
                check_memory(layout, self.batch_size or 1, shard.path, first)
                return layout
            except (ShardError, OSError) as exc:
                error = exc if isinstance(exc, ShardError) else ShardError(shard.path, None,
                                                                            f"cannot read: {exc.strerror or exc}")
                self.handler(error)
                problems.append(str(error))
        raise ShardError(self.shards[0].path if self.shards else "<no shards>", None,
                         f"no shard has a readable first sample ({'; '.join(problems)[:500]})")

    # ----- state -------------------------------------------------------------------------------
    def __len__(self) -> int:
        """Batches (or samples when batch_size is None) per rank and epoch."""
        if self.resample:
            raise TypeError("a resampled ShardDataset is endless and has no len()")
        return self.num_batches

    def set_epoch(self, epoch: int) -> None:
        """Start epoch ``epoch`` from its beginning (its order depends on seed and epoch)."""
        self.epoch, self.batches = int(epoch), 0

    def _fingerprint(self) -> dict[str, Any]:
        shards = hashlib.sha256(json.dumps([(Path(s.path).name, s.samples) for s in self.shards]).encode())
        return {"seed": self.seed, "world_size": self.world_size, "batch_size": self.batch_size,
                "shuffle": self.shuffle, "shuffle_buffer": self.shuffle_buffer, "drop_last": self.drop_last,
                "shards": shards.hexdigest()}

    def state_dict(self) -> dict[str, Any]:
        """Where the trainer is: epoch and batches received, plus what the order depends on. In a
        DataLoader worker (StatefulDataLoader asks there): the next batch this worker makes."""
        if self._worker_pos is not None or self._strided:
            epoch, batches = self._worker_pos or (self.epoch, self.batches)
            return {"epoch": epoch, "batches": batches, "worker_stride": True, **self._fingerprint()}
        return {"epoch": self.epoch, "batches": self.batches, **self._fingerprint()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue after the batches recorded in ``state`` (same shards, seed, world size, batch size)."""
        for key, value in self._fingerprint().items():
            if state.get(key) != value:
                raise ShardSetError(f"cannot resume: state has {key}={state.get(key)!r}, this dataset {value!r}")
        self.epoch, self.batches = int(state["epoch"]), int(state["batches"])
        self._strided = bool(state.get("worker_stride"))
        if self.batches >= self.num_batches and not self._strided:  # a worker past its epoch's end stays done
            self.epoch, self.batches = self.epoch + 1, 0

    def _delivered(self, messages: list[str]) -> None:
        """Main process: one more batch reached the trainer."""
        self.batches += 1
        if self.batches == self.num_batches:
            self.epoch, self.batches = self.epoch + 1, 0
        self.skipped += len(messages)
        self.skip_messages.extend(messages)

    def loader(self, num_workers: int = 0, **kwargs: Any) -> ShardLoader:
        """A DataLoader over this dataset that keeps ``state_dict()`` current (kwargs go to DataLoader)."""
        return ShardLoader(self, num_workers, **kwargs)

    # ----- order -------------------------------------------------------------------------------
    def _refs(self, epoch: int) -> Iterator[SampleRef | _Missing | _Problem]:
        """This rank's samples of the epoch, shuffled (problems pass the shuffle buffer straight away)."""
        spans = epoch_order([s.samples for s in self.shards], self.seed, epoch, self.rank, self.world_size,
                            self.shuffle)
        refs = (ref for k, first, end in spans for ref in self._shard_refs(self.shards[k], first, end))
        if not self.shuffle:
            return refs
        return buffer_shuffle(refs, self.shuffle_buffer, self.seed, epoch, self.rank, _is_problem)

    def _shard_refs(self, shard: ShardFile, first: int, end: int) -> Iterator[SampleRef | _Missing | _Problem]:
        """Samples [first, end) of a shard; when ``end`` is its last sample the whole tail is checked, so a
        count that is not the shard's real one is an error, never samples dropped or read twice.

        In skip mode a shard that stops being readable gives placeholders for its missing samples, and one
        with more samples than listed a problem that is counted with the batch being formed.
        """
        seen = 0
        try:
            refs = scan_shard(shard.path)
            for ref in refs:
                seen += 1
                if seen > end:
                    return
                if seen == shard.samples:  # the last listed sample: the shard must end with it, checked
                    problem = self._tail_problem(shard, refs)  # before it is handed on (a reader may not come back)
                    if problem is not None:
                        yield _Problem(f"shard problem after the samples read: {problem}", self.handler(problem))
                if seen > first:
                    yield ref
            if seen < end:
                raise ShardError(shard.path, None, f"has {seen} samples, {shard.samples} listed (truncated?)")
        except (ShardError, OSError) as exc:
            message = exc if isinstance(exc, ShardError) else ShardError(shard.path, None, f"cannot read: {exc}")
            warn = self.handler(message)
            missing = end - max(seen, first)
            if missing <= 0:
                yield _Problem(f"shard problem after the samples read: {message}", warn)
            for _ in range(missing):
                yield _Missing(str(message), warn)

    @staticmethod
    def _tail_problem(shard: ShardFile, refs: Iterator[SampleRef]) -> ShardError | None:
        """What follows a shard's last listed sample: nothing, or the problem (more samples, or damage)."""
        try:
            extra = next(refs, None)
        except ShardError as error:
            return error
        except OSError as error:
            return ShardError(shard.path, None, f"cannot read: {error}")
        if extra is None:
            return None
        return ShardError(shard.path, extra.members[0][0], f"more samples than the {shard.samples} listed")

    def _batches(self, epoch: int) -> Iterator[tuple[list[SampleRef | _Missing], list[_Problem]]]:
        """Each batch's samples, and the shard problems found while it was formed."""
        batches = cut_batches(self._refs(epoch), self.num_batches, self.batch_size, _is_problem)
        # _is_problem sends every _Problem, and only those, to the second list
        return cast("Iterator[tuple[list[SampleRef | _Missing], list[_Problem]]]", batches)

    # ----- iteration ---------------------------------------------------------------------------
    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = get_worker_info()
        workers, worker = (1, 0) if info is None else (info.num_workers, info.id)
        epoch, start = self.epoch, self.batches
        own = 0 if self._strided else worker  # a resumed worker's state starts at its own next batch
        self._worker_pos, self._strided = None, False
        files = _FileCache()
        alloc = BatchMemory(shared=info is not None,
                            slots=None if info is None or self._slots is None else self._slots[worker])
        stand_in: dict[str, Any] | None = None  # for batches with no readable sample (skip mode)
        n = 0  # batches of this iteration (the DataLoader hands them out round robin)
        try:
            while True:
                batches = self._batches(epoch)
                for j in range(self.num_batches):
                    try:
                        refs, problems = next(batches)
                        if j < start:
                            continue
                        mine, n = worker_owns(n, workers, own), n + 1
                        if not mine:
                            continue
                        slot = alloc.start_batch()
                        batch, messages, stand_in = self._load(refs, files, alloc, stand_in)
                    except RvmDataError as error:
                        if info is None:
                            raise
                        # torch would re-raise it in the main process as its own exception holding the
                        # worker's traceback as text; ShardLoader raises this one, intact, instead.
                        yield {ERROR_KEY: error}
                        return
                    for problem in problems:
                        if problem.warn:
                            warnings.warn(problem.error, RuntimeWarning, stacklevel=2)
                    messages = [problem.error for problem in problems] + messages
                    if info is None:
                        self._delivered(messages)
                    else:
                        if messages:
                            batch[SKIPPED_KEY] = messages
                        if slot is not None:
                            batch[SLOT_KEY] = (worker, slot)
                        # this worker's next batch, for state_dict() while it waits
                        self._worker_pos = worker_next(epoch, j, workers, self.num_batches, self.resample)
                    yield batch
                if not self.resample:
                    return
                epoch, start = epoch + 1, 0
        finally:
            files.close()

    def _load(self, refs: list[SampleRef | _Missing], files: _FileCache, alloc: BatchMemory,
              stand_in: dict[str, Any] | None) -> tuple[dict[str, Any], list[str], dict[str, Any] | None]:
        """Decode one batch; in skip mode, rows that fail are filled with a readable row of the batch, or
        where there is none with the dataset's first readable sample (the same whatever the worker)."""
        arrays = allocate(self.layout, len(refs), alloc.array)
        specs: list[Any] = [None] * len(refs)
        bad: dict[int, str] = {}
        warn: list[str] = []
        for b, ref in enumerate(refs):
            if isinstance(ref, _Missing):
                bad[b] = ref.error
                warn += [ref.error] if ref.warn else []
                continue
            try:
                data = ref.read(files.get(ref.shard))
                if self.member_check is not None:
                    self.member_check.check(ref, data)
                decode_sample_into(ref, data, arrays, b)
                if self.with_spec:
                    specs[b] = decode_spec(ref, data, parse_sample(ref)[1])
            except ShardError as exc:
                warn += [str(exc)] if self.handler(exc) else []
                bad[b] = str(exc)
        good = [b for b in range(len(refs)) if b not in bad]
        for message in warn:
            warnings.warn(f"skipping unreadable sample: {message}", RuntimeWarning, stacklevel=2)
        if good:
            for b in bad:
                for arr in arrays.values():
                    arr[b] = arr[good[0]]
                specs[b] = specs[good[0]]
        else:
            stand_in = stand_in or self._stand_in(files, next(iter(bad.values())))
            for k, arr in arrays.items():
                arr[:] = stand_in["arrays"][k]
            specs = [stand_in["spec"]] * len(refs)
        return self._to_tensors(arrays, specs, alloc), list(bad.values()), stand_in

    def _stand_in(self, files: _FileCache, error: str) -> dict[str, Any]:
        """The first readable sample of the shards (in their listed order), for a batch with none."""
        for shard in self.shards:
            try:
                for ref in scan_shard(shard.path):
                    try:
                        data = ref.read(files.get(ref.shard))
                        if self.member_check is not None:
                            self.member_check.check(ref, data)
                        arrays = decode_sample(ref, data, self.layout)
                        spec = decode_spec(ref, data, parse_sample(ref)[1]) if self.with_spec else None
                    except ShardError:
                        continue
                    return {"arrays": arrays, "spec": spec}
            except (ShardError, OSError):
                continue
        raise ShardError(error, None, "and no shard has a readable sample to stand in for it")

    def _to_tensors(self, arrays: dict[str, np.ndarray], specs: list[Any], alloc: BatchMemory) -> dict[str, Any]:
        batch: dict[str, Any] = {k: alloc.as_tensor(v) for k, v in arrays.items()}
        if self.with_src:
            alpha = batch["pha"].float() / 255
            bgr = batch["bgr"].float()
            src = bgr.add_((batch["fgr"].float() - bgr).mul_(alpha))
            batch["src"] = src.round_() if self.decode == "uint8" else src.div_(255)
        for k, v in batch.items():
            dtype = torch.float32 if self.decode == "float" else torch.uint8
            if v.dtype != dtype or k == "src":
                out = alloc.tensor(v.shape, dtype).copy_(v)
                batch[k] = out.div_(255) if self.decode == "float" and k != "src" else out
        if self.batch_size is None:
            batch = {k: v[0] for k, v in batch.items()}
        if self.with_spec:
            batch["spec"] = specs if self.batch_size is not None else specs[0]
        return batch


class _FileCache:
    """A few open shard files per worker (reads jump between the shards the shuffle buffer spans)."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self.files: OrderedDict[str, BinaryIO] = OrderedDict()

    def get(self, path: str) -> BinaryIO:
        f = self.files.pop(path, None)
        if f is None:
            try:
                f = open(path, "rb", buffering=0)
            except OSError as exc:
                raise ShardError(path, None, f"cannot read: {exc.strerror or exc}") from None
            if len(self.files) >= self.size:
                self.files.popitem(last=False)[1].close()
        self.files[path] = f
        return f

    def close(self) -> None:
        for f in self.files.values():
            f.close()
        self.files.clear()


class ShardLoader:
    """Iterates a ShardDataset through a DataLoader (``batch_size=None``: the dataset batches) and tells
    the dataset each batch the trainer receives, so ``dataset.state_dict()`` is right with workers too.
    Each ``iter()`` starts the workers afresh from the dataset's current epoch and position."""

    def __init__(self, dataset: ShardDataset, num_workers: int = 0, **kwargs: Any) -> None:
        fixed = {"batch_size", "sampler", "batch_sampler"} & set(kwargs)
        if fixed or kwargs.get("persistent_workers") or kwargs.get("in_order") is False:
            raise ValueError("ShardLoader takes neither batch_size, sampler, batch_sampler, persistent_workers=True "
                             "nor in_order=False: the dataset batches and orders itself, and every iter() starts "
                             "the workers from the dataset's position")
        self.dataset, self.num_workers, self.kwargs = dataset, num_workers, kwargs

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self.num_workers == 0:
            yield from self.dataset
            return
        releaser = SlotReleaser(self.num_workers)
        self.dataset._slots = releaser.table
        try:
            loader = iter(DataLoader(self.dataset, batch_size=None, num_workers=self.num_workers, **self.kwargs))
        finally:
            self.dataset._slots = None
        for batch in loader:
            if ERROR_KEY in batch:
                raise batch[ERROR_KEY]
            releaser.received(batch)
            self.dataset._delivered(batch.pop(SKIPPED_KEY, []))
            yield batch
