"""Build: render a recipe's samples into shards, one job per shard, locally or on a dask cluster.

Job ``j`` of an (output, split) renders samples ``[j*S, (j+1)*S)`` and writes
``<out>/<split>/<output>-<j:06d>.tar`` through ShardWriter (temporary name, then rename). Every
sample is a pure function of (recipe, split, index), so the bytes of a shard do not depend on the
worker count, the backend, the order of work or an interruption in between.

Resume: ``manifest.json`` is rewritten after every finished shard. A rerun keeps each listed shard
whose file still has the recorded size and sha256 and renders only the rest; a manifest made from
another recipe (different hash) is refused rather than mixed.

A build only adds to its folder: it never removes a listed shard, never rewrites an intact one, and
lists only shards whose bytes are what the full build writes at that path.

- ``limit`` N builds the first ``ceil(N / S)`` shards of each output and split, the limit rounded up
  to whole shards, so every shard it writes is a shard of the full build, byte for byte; shards the
  folder already lists beyond them are kept as they are (a later full build verifies them). A folder
  listing a shard whose sample count differs from the full build's (a partial last shard of an
  older limited build) is refused, not rewritten.
- ``splits`` renders only those splits; the other splits' shards are kept as they are.
- One writer per folder (:class:`rvm_data.buildfolder.FolderLock`): the lock is taken before the
  manifest is read or a stale temporary removed, so a second build into the folder is refused at once.
- Stopping: Ctrl-C, SIGTERM (``timeout``, ``scancel``, ``docker stop``) or SIGHUP stops the workers,
  removes the temporaries and raises BuildInterrupted (the CLI exits 128 + the signal: 130, 143, 129);
  a SIGKILLed main process takes its loky workers with it (they watch their parent and exit, removing
  their temporaries); a dead worker, a full disk or an unwritable folder is a one-line
  FolderError/BuildError, the manifest still listing only intact shards. Dask tasks already running
  when a build stops run to their end on the cluster (dask cannot stop them); what they write is unlisted.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import secrets
import signal
import socket
import threading
import time
import warnings
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
from tqdm import tqdm

from rvm_data import __version__
from rvm_data.buildfolder import BuildError, FolderError, FolderLock, prepare_folder, remove_made, writing
from rvm_data.buildprogress import SampleBar, Tick, remote_ticker
from rvm_data.compose import BadClipError
from rvm_data.kinds import KINDS, ShardResult
from rvm_data.recipe import Recipe, RecipeError, parse_recipe
from rvm_data.segmentation.readers import SegCatalog
from rvm_data.shards.layout import (
    EPOCH_LIMIT,
    LOCK_NAME,
    SHARD_TEMP_GLOB,
    TEMP_GLOB,
    TRAIN_SPLIT,
    epoch_root,
    index_path,
    shard_path,
    temp_parts,
)
from rvm_data.shards.manifest import MANIFEST_NAME, Manifest, ShardEntry, read_manifest, shard_output, write_manifest
from rvm_data.shards.wids import write_wids_indices
from rvm_data.sources import Catalog, SourceError
from rvm_data.sources.catalog import SkippedClip
from rvm_data.sources.fingerprint import fingerprint
from rvm_data.stack import pixel_stack, stack_differences
from rvm_data.units import byte_size


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP turned into an interrupt, so it stops a build as Ctrl-C does."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class BuildInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a build; completed shards are in the manifest, ``summary`` says how many.
    ``signum`` is the signal (SIGINT for Ctrl-C)."""

    def __init__(self, summary: BuildSummary, signum: int = signal.SIGINT):
        how = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
        super().__init__(
            f"{how}: {summary.shards} complete shards are kept in {summary.out_dir}; "
            "rerun the same command to finish the rest"
        )
        self.summary = summary
        self.signum = signum


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Stopped` in the main thread while a build runs (each where nobody
    else has claimed it: a default handler), so ``timeout``/``scancel``/``docker stop`` or a closed
    terminal get Ctrl-C's clean stop instead of a dead build whose workers render on. Signals after
    the first (SIGINT included) are ignored until the build has cleaned up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    stopping = False

    def stop(signum: int, frame: object) -> None:
        # Only the first signal stops the build: another one (a second Ctrl-C, `timeout` sending
        # TERM twice) would break into the cleanup that records the finished shards.
        nonlocal stopping
        if not stopping:
            stopping = True
            raise Stopped(signum) if signum != signal.SIGINT else KeyboardInterrupt

    claimed = [s for s in STOP_SIGNALS if signal.getsignal(s) is signal.SIG_DFL]
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        claimed.append(signal.SIGINT)
    for signum in claimed:
        signal.signal(signum, stop)
    try:
        yield
    finally:
        for signum in claimed:
            signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL)


@dataclass(frozen=True)
class ShardJob:
    """One unit of work: samples ``[start, stop)`` of one output and split, into one shard."""

    output: str
    split: str
    shard: int
    start: int
    stop: int
    kind: str = "matting"  # its SampleKind's name (rvm_data.kinds.KINDS)
    epoch: int = 0  # which epoch of the recipe's sample space (its seeds: Recipe.output_seed)

    @property
    def catalog(self) -> str:
        """Which catalog the job reads: its kind's of its split (the split itself for matting)."""
        return KINDS[self.kind].catalog_key(self.split)

    @property
    def path(self) -> str:
        """The shard's path relative to the build folder (the manifest's key)."""
        return shard_path(self.split, self.output, self.shard)

    @property
    def samples(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class BuildSummary:
    """What the build folder holds after a build, and how fast this run rendered its part."""

    out_dir: Path
    samples: int
    shards: int
    bytes: int
    rendered_shards: int = 0
    rendered_samples: int = 0
    rendered_frames: int = 0
    kept_shards: int = 0
    seconds: float = 0.0
    runner: str = "1 worker"
    skipped_clips: int = 0

    @property
    def frames_per_s(self) -> float:
        return self.rendered_frames / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        """The one-line summary printed at the end of ``rvm-data build``."""
        kept = f", {self.kept_shards} kept from before" if self.kept_shards else ""
        bad = (f"; skipped {self.skipped_clips} bad clip{'s' if self.skipped_clips > 1 else ''} "
               f"(listed in {MANIFEST_NAME})") if self.skipped_clips else ""
        head = f"{self.out_dir}: {self.samples} samples in {self.shards} shards, {byte_size(self.bytes)}; "
        if not self.rendered_shards:
            return head + "every shard already complete, nothing rendered" + bad
        return (
            head + f"rendered {self.rendered_shards} shards ({self.rendered_frames} frames) in "
            f"{self.seconds:.1f} s = {self.frames_per_s:.0f} frames/s on {self.runner}{kept}{bad}"
        )


# ---------------------------------------------------------------------------------------------
# Jobs and the work one job does
# ---------------------------------------------------------------------------------------------


def plan_jobs(recipe: Recipe, splits: Sequence[str] | None = None, limit: int | None = None,
              epoch: int = 0) -> list[ShardJob]:
    """Every shard job of the recipe, for the chosen splits; with ``limit``, only the first shards of each
    output and split that hold ``limit`` samples, rounded up to whole shards (so each job is a job of the
    full build, with the same samples)."""
    per_shard = recipe.shards.samples_per_shard
    jobs = []
    for split in splits or recipe.splits:
        for kind in KINDS.values():  # matting outputs, then segmentation ones: the recipe's output order
            for name, output in kind.outputs(recipe).items():
                count = output.samples.get(split, 0)
                count = count if limit is None else min(count, -(-limit // per_shard) * per_shard)
                jobs += [
                    ShardJob(name, split, j, j * per_shard, min((j + 1) * per_shard, count), kind.name, epoch)
                    for j in range(-(-count // per_shard))
                ]
    return jobs


def render_shard(job: ShardJob, recipe: Recipe, catalog: Catalog | SegCatalog, out_dir: str,
                 on_sample: Tick | None = None) -> ShardResult:
    """Plan, render and write one shard through its kind's ``render_shard`` (``on_sample()`` after each
    sample). One job is one core's work, so OpenCV runs single-threaded."""
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        return KINDS[job.kind].render_shard(Path(out_dir) / job.path, recipe, job.output, job.split, job.start,
                                            job.stop, catalog, job.epoch, on_sample)
    finally:
        cv2.setNumThreads(threads)


def _run_local(jobs: list[ShardJob], recipe: Recipe, catalogs: dict[str, Catalog | SegCatalog], out_dir: str,
               workers: int, bar: SampleBar) -> Generator[tuple[ShardJob, ShardResult], None, None]:
    if workers == 1:
        for job in jobs:
            yield _tagged(job, recipe, catalogs[job.catalog], out_dir, functools.partial(bar.tick, job.path))
        return
    from joblib import Parallel, delayed
    from joblib.parallel import LokyBackend

    backend = LokyBackend(initializer=_follow_parent, initargs=(os.getpid(), out_dir))
    parallel = Parallel(n_jobs=workers, backend=backend, return_as="generator_unordered")
    yield from parallel(delayed(_tagged_reporting)(job, recipe, catalogs[job.catalog], out_dir, bar.address)
                        for job in jobs)


def _follow_parent(parent: int, out_dir: str) -> None:
    """Loky worker initializer: when the build process dies (SIGKILL, out of memory) its workers would
    render on into the folder for minutes; instead each notices (its parent changes), removes its own
    temporaries and exits within a fraction of a second."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        mine = str(os.getpid())
        for tmp in Path(out_dir).glob("*/.*.tmp-*"):  # .<shard>.tmp-<pid> and its index's .tmp-<pid>.json
            if (temp_parts(tmp.name) or ("", ""))[1] == mine:
                tmp.unlink(missing_ok=True)
        os._exit(1)

    threading.Thread(target=watch, name="rvm-data-parent-watch", daemon=True).start()


def _tagged(job: ShardJob, recipe: Recipe, catalog: Catalog | SegCatalog, out_dir: str,
            on_sample: Tick | None = None) -> tuple[ShardJob, ShardResult]:
    """Run one job; an OSError that says the folder cannot be written (full disk, read-only) becomes a
    FolderError naming the shard (the write itself does not name it). A job whose folder was removed (its
    lock file gone) writes nothing: its shard writer would make the folder again."""
    if not (Path(out_dir) / LOCK_NAME).is_file():
        raise FolderError(out_dir, FOLDER_REMOVED)
    with writing(Path(out_dir) / job.path, Path(out_dir)):
        return job, render_shard(job, recipe, catalog, out_dir, on_sample)


def _tagged_reporting(job: ShardJob, recipe: Recipe, catalog: Catalog | SegCatalog, out_dir: str,
                      bar_address: bytes | None) -> tuple[ShardJob, ShardResult]:
    """:func:`_tagged` in a worker process, ticking the build's bar per sample."""
    tick, release = remote_ticker(bar_address, job.path)
    try:
        return _tagged(job, recipe, catalog, out_dir, tick)
    finally:
        release()


def _run_dask(jobs: list[ShardJob], recipe: Recipe, catalogs: dict[str, Catalog | SegCatalog], out_dir: str,
              scheduler: str) -> Generator[tuple[ShardJob, ShardResult], None, None]:
    """The same jobs on a dask.distributed cluster; workers write to ``out_dir`` on shared storage."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise BuildError("--scheduler needs dask.distributed: pip install 'rvm-data[cluster]'") from None
    try:
        client = Client(scheduler, set_as_default=False, timeout="20s")  # type: ignore[no-untyped-call]
    except OSError as error:
        raise BuildError(f"cannot reach the dask scheduler at {scheduler}: {error}") from None
    from distributed import Event

    with client, client.as_current():
        # distributed leaves Client.__init__, scatter, as_completed, cancel and Event unannotated
        shared = {key: client.scatter(catalog, broadcast=True)  # type: ignore[no-untyped-call]
                  for key, catalog in catalogs.items()}
        stop = Event(f"rvm-data-stop-{os.getpid()}-{secrets.token_hex(8)}")  # type: ignore[no-untyped-call]
        futures = [client.submit(_tagged_on_cluster, job, recipe, shared[job.catalog], out_dir, stop.name,
                                 pixel_stack(), pure=False) for job in jobs]
        try:
            for future in as_completed(futures):  # type: ignore[no-untyped-call]
                yield future.result()
        finally:
            # Jobs already running go on after a cancel: ask them to stop too, and hold the folder
            # until each has left (removed its temporary, or renamed a shard it had just finished).
            if not all(future.done() for future in futures):  # type: ignore[no-untyped-call]
                stop.set()  # type: ignore[no-untyped-call]
                client.cancel(futures)  # type: ignore[no-untyped-call]
                _wait_for_writers(Path(out_dir), CLUSTER_STOP_WAIT_S)


CLUSTER_STOP_WAIT_S = 120.0
"""How long a stopped cluster build waits for its running jobs to leave the folder."""


class JobStopped(BuildError):
    """A cluster job that stopped at a sample because its build had stopped."""


def _tagged_on_cluster(job: ShardJob, recipe: Recipe, catalog: Catalog | SegCatalog, out_dir: str,
                       stop: str, stack: dict[str, str]) -> tuple[ShardJob, ShardResult]:
    """:func:`_tagged` on a dask worker, which stops at its next sample (its temporary removed) once the
    build's ``stop`` event is set: a cancel alone leaves a running task to write into the folder after
    the build has let go of it. The event is asked at most four times a second. A worker whose
    libraries or machine kind differ from the build's (``stack``) writes nothing."""
    from distributed import Event

    if differences := stack_differences(stack, pixel_stack(), where="the worker has"):
        raise BuildError(f"{job.path}: dask worker {socket.gethostname()} differs from the build's machine in "
                         f"{', '.join(differences)}: its samples' bytes could differ, so it writes none; give "
                         "every worker the build machine's libraries")

    event = Event(stop)  # type: ignore[no-untyped-call]
    asked = time.monotonic()

    def check() -> None:
        nonlocal asked
        if time.monotonic() - asked >= 0.25:
            asked = time.monotonic()
            if event.is_set():  # type: ignore[no-untyped-call]
                raise JobStopped(f"{job.path}: the build stopped")

    if event.is_set():  # type: ignore[no-untyped-call]
        raise JobStopped(f"{job.path}: the build stopped")
    return _tagged(job, recipe, catalog, out_dir, check)


def _wait_for_writers(out: Path, timeout: float) -> None:
    """Until no job has a shard temporary in ``out`` (after a moment for jobs that are just starting)."""
    time.sleep(0.5)
    deadline = time.monotonic() + timeout
    while any(out.glob(f"*/{SHARD_TEMP_GLOB}")) and time.monotonic() < deadline:
        time.sleep(0.2)


# ---------------------------------------------------------------------------------------------
# Resume bookkeeping
# ---------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _recipe_diff(old: Any, new: Any, key: str = "") -> list[str]:
    """Key paths where two recipe dicts differ (for the refusal message)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [p for k in sorted(set(old) | set(new), key=str)
                for p in _recipe_diff(old.get(k), new.get(k), f"{key}.{k}" if key else str(k))]
    return [] if old == new else [key or "(top level)"]


def _other_build(manifest: Manifest, recipe: Recipe, shown: str) -> str | None:
    """Why the build ``manifest`` records (in ``shown``) is not one that ``recipe`` on this machine may add to:
    another rvm_data, library stack or recipe would make other samples; None when it may."""
    if manifest.version != __version__:
        return f"{shown} was built by rvm_data {manifest.version}, this is {__version__}: samples could differ"
    if differences := stack_differences(manifest.stack, pixel_stack()):
        return f"{shown} was made with {', '.join(differences)}: its samples' bytes could differ from this machine's"
    if manifest.recipe_hash != recipe.hash:
        diff = _recipe_diff(manifest.recipe, recipe.to_dict())
        keys = ", ".join(diff[:4]) + (f" and {len(diff) - 4} more" if len(diff) > 4 else "")
        return (f"{shown} holds a build of another recipe ({manifest.recipe.get('name')!r}, hash "
                f"{manifest.recipe_hash[:12]}; this one is {recipe.hash[:12]}, differing in {keys or 'content'})")
    return None


def _existing_manifest(out: Path, recipe: Recipe, shown: Path, epoch: int = 0) -> Manifest | None:
    """The folder's manifest if it is one of this recipe's builds; a refusal naming ``shown`` (the
    folder as the user gave it) otherwise."""
    if not (out / MANIFEST_NAME).exists():
        return None
    try:
        manifest = read_manifest(out)
    except ValueError as error:
        raise BuildError(f"{error}; delete it (the shards are then rebuilt) or build into a new --out") from None
    if why := _other_build(manifest, recipe, str(shown)):
        raise BuildError(f"{why}; refusing to mix them: build into a new --out DIR, or delete the folder")
    if manifest.epoch != epoch:
        raise BuildError(f"{shown} holds epoch {manifest.epoch} of the recipe's samples, not epoch {epoch}; "
                         "refusing to mix them: build each epoch into its own folder (--epochs does)")
    return manifest


def _check_epoch_zero(root: Path, recipe: Recipe, epoch: int) -> None:
    """Epoch ``epoch`` >= 1 is more of the build in ``root`` (a training run reads epoch 0, then the others in
    turn): it is made only from the recipe, by the rvm_data and on the stack epoch 0 was, or the run would
    read samples of two builds. Checked before the epoch's folder is made."""
    try:
        zero = read_manifest(root)
    except FileNotFoundError:  # ManifestMissingError
        raise BuildError(f"{root} has no epoch 0 yet (no {MANIFEST_NAME}): epoch {epoch} is more of the build "
                         f"there; build epoch 0 first (--epochs 0:{epoch + 1} builds it, then the others)") from None
    except ValueError as error:  # ManifestError
        raise BuildError(f"{error}; epoch {epoch} is more of the build there, which cannot be read") from None
    why = _other_build(zero, recipe, f"{root} (epoch 0)")
    if why is None and zero.epoch != 0:
        why = f"{root} holds epoch {zero.epoch}, not epoch 0"
    if why:
        raise BuildError(f"{why}; epoch {epoch} is built only where epoch 0 was, from its recipe, so a training "
                         f"run never reads samples of two builds: rvm-data build {root} --epochs A:B builds more "
                         "of that build, a new --out DIR holds this one")


def _check_sources(out: Path, root: Path, recipe: Recipe, shown: Path, epoch: int,
                   sources: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Refuse to add to a build whose shards (or, for an epoch >= 1, epoch 0's) were drawn from other sources
    than the recipe's paths hold now (``sources``: their fingerprints): the same sample indices would draw
    other clips, and one folder or run would hold samples of two datasets. A folder of another recipe is
    left to the recipe check, which names what differs. Returns the fingerprints to record: none for a
    folder whose shards were made before fingerprints were recorded (that would vouch for what was never
    checked)."""
    recorded = [(out, "its")] + ([(root, "epoch 0's")] if epoch else [])
    vouched = sources
    for folder, whose in recorded:
        try:
            made = read_manifest(folder)
        except (OSError, ValueError):  # none yet, or one the recipe checks report
            continue
        if made.recipe_hash != recipe.hash:
            continue
        if not made.sources and any(made.splits.values()):
            warnings.warn(f"{shown}: {whose} manifest records no fingerprint of the sources its shards were drawn "
                          "from (made before rvm-data recorded one), so whether the recipe's paths still hold that "
                          "data is not checked", stacklevel=3)
            if folder == out:
                vouched = {}
        for key, now in sources.items():
            then = made.sources.get(key)
            if then is not None and then["sha256"] != now["sha256"]:
                raise BuildError(f"{shown}: {whose} {key!r} shards were drawn from other sources than the recipe's "
                                 f"paths hold now ({_clip_counts(then)} then; {_clip_counts(now)} now), so more "
                                 "shards would mix samples of two datasets: point the recipe's sources back at that "
                                 f"data (a relative path is read from the working directory, now {os.getcwd()}), "
                                 "or build into a new --out DIR")
    return vouched


def _clip_counts(record: dict[str, Any]) -> str:
    return ", ".join(f"{collection.replace('_', ' ')} {count}" for collection, count in sorted(record["clips"].items()))


def _reusable(out: Path, job: ShardJob, entry: ShardEntry | None) -> bool:
    path = out / job.path
    return (
        entry is not None and entry.samples == job.samples and path.is_file()
        and path.stat().st_size == entry.bytes and _sha256(path) == entry.sha256
    )


def _remove_stale_temporaries(out: Path, splits: Iterable[str]) -> None:
    """Temporary shard and manifest files left by a killed build (never read; a rerun's folder would
    otherwise differ from an uninterrupted build's). Only under the folder's lock: then no live build
    owns them."""
    for tmp in out.glob(f".{MANIFEST_NAME}.tmp-*"):
        tmp.unlink(missing_ok=True)
    for split in splits:
        for tmp in (out / split).glob(TEMP_GLOB):
            tmp.unlink(missing_ok=True)


FOLDER_REMOVED = ("the folder was removed while the build was writing it (by another process); nothing of this "
                  "build is left there: rerun the same command to build it again")


@dataclass(frozen=True)
class _LockedFolder:
    """The folder a build locked, told apart from one made where it was after it was removed (a shard writer
    and the manifest make the folders they miss): its lock file is this build's, the same inode."""

    out: Path
    root: Path  # the build's epoch-0 folder: ``out`` or above it
    lock_file: tuple[int, int]

    @classmethod
    def held(cls, out: Path, root: Path) -> _LockedFolder:
        """``out``, whose lock this build has just taken."""
        stat = os.stat(out / LOCK_NAME)
        return cls(out, root, (stat.st_dev, stat.st_ino))

    def there(self) -> bool:
        try:
            stat = os.stat(self.out / LOCK_NAME)
        except OSError:  # removed (or replaced by a file)
            return False
        return (stat.st_dev, stat.st_ino) == self.lock_file

    def clear_remnant(self, todo: list[ShardJob]) -> None:
        """Remove what this build put where its removed folder was (its shards, their indices, its manifest and
        the folders made for them, up to ``root``), so no half build stands there; a folder another build has
        locked meanwhile is left alone."""
        if (self.out / LOCK_NAME).exists():
            return
        for job in todo:
            for path in (self.out / job.path, index_path(self.out / job.path)):
                path.unlink(missing_ok=True)
        (self.out / MANIFEST_NAME).unlink(missing_ok=True)
        for split in {job.split for job in todo}:
            with suppress(OSError):  # not there, or holding what is not this build's
                (self.out / split).rmdir()
        for folder in (self.out, *self.out.parents):  # an epoch's folder, then epochs/ and the root, while empty
            if not folder.is_relative_to(self.root):
                return
            try:
                folder.rmdir()
            except OSError:
                return


@dataclass
class _Ledger:
    """The manifest as it grows: entries outside this build's scope, kept ones, new ones."""

    recipe: Recipe
    folder: _LockedFolder
    scope: list[ShardJob]
    other: dict[str, list[ShardEntry]]
    done: dict[str, ShardEntry] = field(default_factory=dict)
    skipped: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)  # (split, collection, name)
    epoch: int = 0
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # catalog -> fingerprint (sources/fingerprint)

    def add(self, job: ShardJob, result: ShardResult) -> None:
        info = result.info
        self.done[job.path] = ShardEntry(job.path, info.samples, info.bytes, info.sha256)
        for clip in result.skipped:
            self.skip(job.split, clip, "rendering")["samples"] += 1

    def skip(self, split: str, clip: SkippedClip, found: str) -> dict[str, Any]:
        """The record of a skipped clip (a clip skipped at indexing stays so). Of the bad files of one
        clip it names the first by path, so the record does not depend on the order shards finish in."""
        record = self.skipped.setdefault((split, clip.collection, clip.name), {
            "split": split, "collection": clip.collection, "name": clip.name, "path": clip.path,
            "reason": clip.reason, "found": found, "samples": 0})
        if record["found"] == found and clip.path < record["path"]:
            record.update(path=clip.path, reason=clip.reason)
        return record

    def manifest(self) -> Manifest:
        """Entries in a fixed order (split, output, shard) whatever order the jobs finished in."""
        splits = {split: list(entries) for split, entries in self.other.items()}
        for job in self.scope:
            if job.path in self.done:
                splits.setdefault(job.split, []).append(self.done[job.path])
        order = {split: i for i, split in enumerate(self.recipe.splits)}
        outputs = {name: i for i, name in enumerate(self.recipe.all_outputs())}

        def rank(entry: ShardEntry) -> tuple[int, str, str]:
            output = shard_output(entry.path)
            return outputs.get(output, len(outputs)), output, entry.path  # within an output: by shard number

        ordered = sorted(splits, key=lambda s: (order.get(s, len(order)), s))
        return Manifest(recipe=self.recipe.to_dict(), recipe_hash=self.recipe.hash,
                        splits={s: sorted(splits[s], key=rank) for s in ordered if splits[s]},
                        skipped=[self.skipped[k] for k in sorted(self.skipped)], epoch=self.epoch,
                        stack=pixel_stack(), sources={k: self.sources[k] for k in sorted(self.sources)})

    def write(self) -> Manifest:
        """Write the manifest into the locked folder, never into one made where it was: looked at before (the
        manifest's writer would make a removed folder again) and after (it was removed in between)."""
        out = self.folder.out
        manifest = self.manifest()
        if self.folder.there():
            with writing(out / MANIFEST_NAME, out):
                write_manifest(out, manifest)
            if self.folder.there():
                return manifest
        raise FolderError(out, FOLDER_REMOVED)


def _listed_as_built(out: Path, entry: ShardEntry, full: dict[str, ShardJob]) -> None:
    """Refuse a folder listing a shard that the full build does not write (a partial last shard of a
    limited build from before limits were rounded to whole shards): a build never rewrites a listed shard."""
    job = full.get(entry.path)
    if job is None or job.samples != entry.samples:
        wanted = f"{job.samples} samples" if job else "no such shard"
        raise FolderError(out, f"the manifest lists {entry.path} with {entry.samples} samples, the full build "
                               f"of this recipe has {wanted} there (an older --limit build?); a build never "
                               "rewrites a listed shard: build into a new --out DIR, or delete the folder")


def _ledger(folder: _LockedFolder, recipe: Recipe, jobs: list[ShardJob], shown: Path,
            epoch: int = 0) -> tuple[_Ledger, list[ShardJob]]:
    """Split the jobs into shards to keep (recorded and intact) and shards to render; listed shards
    that are not among the jobs (other splits, beyond a limit) stay listed as they are."""
    out = folder.out
    old = _existing_manifest(out, recipe, shown, epoch)
    full = {job.path: job for job in plan_jobs(recipe, epoch=epoch)}
    ours = {job.path for job in jobs}
    ledger = _Ledger(recipe, folder, jobs, other={}, epoch=epoch, sources=dict(old.sources) if old else {})
    for record in old.skipped if old else []:  # what earlier runs skipped stays on record with their shards
        ledger.skipped[(record["split"], record["collection"], record["name"])] = dict(record)
    entries: dict[str, ShardEntry] = {}
    for split, split_entries in (old.splits.items() if old else []):
        for entry in split_entries:
            _listed_as_built(out, entry, full)
            if entry.path in ours:
                entries[entry.path] = entry
            else:
                ledger.other.setdefault(split, []).append(entry)
    todo = []
    for job in jobs:
        if _reusable(out, job, entries.get(job.path)):
            ledger.done[job.path] = entries[job.path]
        else:
            todo.append(job)
    return ledger, todo


# ---------------------------------------------------------------------------------------------
# The build
# ---------------------------------------------------------------------------------------------


def recipe_of_build(folder: str | os.PathLike[str]) -> Recipe:
    """The recipe a build folder's manifest records, validated again (its hash is the folder's), so more of
    the same build (another epoch, another split) can be made without its YAML file or ``--set`` values."""
    manifest = read_manifest(folder)
    recipe = parse_recipe(manifest.recipe, str(Path(folder) / MANIFEST_NAME))
    if recipe.hash != manifest.recipe_hash:
        raise BuildError(f"{folder}: the recipe its manifest records hashes to {recipe.hash[:12]}, not "
                         f"{manifest.recipe_hash[:12]} (made by another rvm_data?); build from the recipe file")
    return recipe


def default_out_dir(recipe: Recipe) -> Path:
    return Path("shards") / recipe.name


def catalogs_for(recipe: Recipe, jobs: Iterable[ShardJob]) -> dict[str, Catalog | SegCatalog]:
    """Index the sources the jobs read, once per split and kind (they are shipped to every worker)."""
    catalogs: dict[str, Catalog | SegCatalog] = {}
    for job in jobs:
        if job.catalog in catalogs:
            continue
        kind = KINDS[job.kind]
        try:
            catalogs[job.catalog] = kind.catalog(recipe, job.split)
        except SourceError as error:
            hint = kind.source_hint(recipe, job.split, error)
            raise RecipeError(recipe.origin, kind.sources_key(job.split), f"{error}{hint}") from None
    return catalogs


def _skipped_at_indexing(jobs: Iterable[ShardJob], catalogs: dict[str, Catalog | SegCatalog]
                         ) -> Iterator[tuple[str, SkippedClip]]:
    """(catalog key, clip) of each clip a catalog the jobs read left out when it was indexed."""
    kinds = {job.catalog: KINDS[job.kind] for job in jobs}
    for key, catalog in catalogs.items():
        yield from ((key, clip) for clip in kinds[key].skipped(catalog))


def build_splits(recipe: Recipe, splits: Sequence[str] | None, epoch: int) -> list[str]:
    """The splits a build of ``epoch`` renders (``splits``; else all for epoch 0, train for the others), or a
    BuildError for an epoch or split it cannot build: asked for every epoch of a range before any is built."""
    if not 0 <= epoch < EPOCH_LIMIT:
        raise BuildError(f"--epochs: epochs are 0 to {EPOCH_LIMIT - 1} (DIR/epochs/NNNN), got {epoch}")
    chosen = list(splits) if splits else recipe.splits if epoch == 0 else [TRAIN_SPLIT]
    unknown = [s for s in chosen if s not in recipe.splits]
    if unknown:
        raise BuildError(f"{recipe.origin}: no split {unknown[0]!r} (the recipe has: {', '.join(recipe.splits)})")
    if epoch and chosen != [TRAIN_SPLIT]:
        raise BuildError(f"epoch {epoch}: epochs >= 1 hold the {TRAIN_SPLIT!r} split only (validation is one "
                         "fixed set, epoch 0's)")
    return chosen


def build(recipe: Recipe, out_dir: str | os.PathLike[str] | None = None, *, workers: int = 1,
          limit: int | None = None, splits: Sequence[str] | None = None, scheduler: str | None = None,
          progress: bool = True, epoch: int = 0) -> BuildSummary:
    """Render every missing shard of ``recipe`` into ``out_dir`` and write its manifest.

    ``epoch`` >= 1 builds that epoch of the recipe's train samples (each sample drawn afresh: see
    :meth:`Recipe.output_seed`) into ``out_dir/epochs/NNNN``, a build folder of its own; validation
    stays one fixed set, epoch 0's.

    ``workers`` loky processes on this machine, or the dask cluster at ``scheduler``
    (``tcp://host:port``; ``out_dir`` must then be on storage the workers share).
    ``limit`` builds only the first shards of every output and split, enough for ``limit`` samples
    (rounded up to whole shards; see the module docstring: a build never shrinks or rewrites a folder).
    Raises BuildError / RecipeError / FolderError with a one-line message; Ctrl-C or SIGTERM raises
    BuildInterrupted after recording the shards that completed.
    """
    if workers < 1:
        raise BuildError(f"--workers must be >= 1, got {workers}")
    if limit is not None and limit < 0:
        raise BuildError(f"--limit must be >= 0, got {limit}")
    jobs = plan_jobs(recipe, build_splits(recipe, splits, epoch), limit, epoch)
    root = Path(out_dir) if out_dir is not None else default_out_dir(recipe)
    if epoch:
        _check_epoch_zero(root, recipe, epoch)
    shown = epoch_root(root, epoch)
    out = shown.resolve()  # absolute: dask workers elsewhere write to the same shared path
    made = prepare_folder(out)
    with stop_signals_interrupt(), FolderLock(out) as lock:  # before anything is read, removed or written
        try:
            catalogs = catalogs_for(recipe, jobs)
            sources = {key: fingerprint(catalog) for key, catalog in catalogs.items()}
            sources = _check_sources(out, root, recipe, shown, epoch, sources)
        except BaseException:
            if made:  # bad or other sources: leave no empty folder behind
                lock.discard()
                remove_made(made)
            raise
        folder = _LockedFolder.held(out, root.resolve())
        return _build_locked(recipe, jobs, catalogs, sources, shown, folder, workers, scheduler, progress, epoch)


def _build_locked(recipe: Recipe, jobs: list[ShardJob], catalogs: dict[str, Catalog | SegCatalog],
                  sources: dict[str, dict[str, Any]], shown: Path, folder: _LockedFolder, workers: int,
                  scheduler: str | None, progress: bool, epoch: int) -> BuildSummary:
    """The build proper, holding the folder's lock; ``sources``: the fingerprints of ``catalogs`` to record."""
    out = folder.out
    ledger, todo = _ledger(folder, recipe, jobs, shown, epoch)
    ledger.sources.update(sources)
    for split, clip in _skipped_at_indexing(jobs, catalogs):
        ledger.skip(split, clip, "indexing")
    kept = len(ledger.done)
    _remove_stale_temporaries(out, recipe.splits)

    started = time.perf_counter()
    rendered = frames = samples = 0
    workers = max(1, min(workers, len(todo)))
    bar = SampleBar(tqdm(total=sum(j.samples for j in todo), unit="sample", disable=not progress or not todo,
                         dynamic_ncols=True, desc=recipe.name), listen=workers > 1 and not scheduler)
    runner = f"dask {scheduler}" if scheduler else f"{workers} worker{'s' if workers > 1 else ''}"
    run = (_run_dask(todo, recipe, catalogs, str(out), scheduler) if scheduler
           else _run_local(todo, recipe, catalogs, str(out), workers, bar))

    def summary() -> BuildSummary:
        totals = ledger.manifest().totals()["all"]
        return BuildSummary(shown, totals["samples"], totals["shards"], totals["bytes"], rendered, samples, frames,
                            kept, time.perf_counter() - started, runner, len(ledger.skipped))

    try:
        ledger.write()  # records the recipe first, so a build killed before its first shard still refuses others
        for job, result in run:
            if not folder.there():  # its writer made the folder again (removed after the job looked)
                raise FolderError(out, FOLDER_REMOVED)
            ledger.add(job, result)
            ledger.write()
            rendered += 1
            samples += result.info.samples
            frames += result.info.samples * recipe.frames(job.output)
            bar.shard_done(job.path, result.info.samples)
        write_wids_indices(out, ledger.manifest())  # wids.ShardListDataset(<split>/<output>.wids.json)
    except BaseException as error:
        # Whatever stopped the build, the workers stop, the manifest lists what completed and no
        # temporary stays; then the reason is reported in one line (or surfaces as the bug it is).
        with warnings.catch_warnings():
            # joblib warns that it cancelled the running tasks: that is what stopping asked for.
            warnings.filterwarnings("ignore", message=".*tasks which were still being processed", category=UserWarning)
            run.close()
        bar.close()
        in_flight = _in_flight(out, recipe.splits)
        if folder.there():
            _remove_unrecorded(out, todo, ledger)
            try:
                ledger.write()
            except FolderError:
                pass  # e.g. the disk is full: the manifest there already lists only complete, intact shards
            _remove_stale_temporaries(out, recipe.splits)
        removed = not folder.there()
        if removed:
            folder.clear_remnant(todo)
        raise _reported(error, summary(), in_flight, removed) from None
    bar.close()
    return summary()


def _remove_unrecorded(out: Path, todo: list[ShardJob], ledger: _Ledger) -> None:
    """Shards this build's own jobs renamed into place after it stopped collecting them (a worker that
    finished as it was stopped): not in the manifest, and their records of replaced samples went with
    them, so they are not left beside it; a rerun renders them again, byte-identical. Every such path
    was to be (re)written by this build anyway."""
    for job in todo:
        if job.path not in ledger.done:
            for path in (out / job.path, index_path(out / job.path)):
                path.unlink(missing_ok=True)


def _in_flight(out: Path, splits: Iterable[str]) -> list[str]:
    """The shards being written when a build stopped, from their temporaries (``.<name>.tmp-<pid>``)."""
    return sorted({f"{split}/{parts[0]}" for split in splits for tmp in (out / split).glob(SHARD_TEMP_GLOB)
                   if (parts := temp_parts(tmp.name)) is not None})  # the glob matches temporaries only


def _reported(error: BaseException, summary: BuildSummary, in_flight: list[str], removed: bool) -> BaseException:
    """What a stopped build raises: BuildInterrupted for Ctrl-C/SIGTERM, a one-line project error for a
    bad clip, a dead worker, a folder that cannot take more or one ``removed`` while it was written (whatever
    failed then: a missing file, a manifest that could not be written); any other error unchanged."""
    kept = f"the {summary.shards} complete shards are kept in {summary.out_dir}"
    if isinstance(error, KeyboardInterrupt):
        return BuildInterrupted(summary, getattr(error, "signum", signal.SIGINT))
    if removed:
        return FolderError(summary.out_dir, FOLDER_REMOVED)
    if isinstance(error, BadClipError):
        return BuildError(f"{error}; {kept}; with on_bad_clip: skip in the recipe's sources, the samples that "
                          "read a bad clip are replaced")
    if isinstance(error, FolderError):
        return FolderError(error.path, f"{error.reason}; {kept}; rerun the same command to resume")
    from joblib.externals.loky.process_executor import BrokenProcessPool

    if isinstance(error, BrokenProcessPool):  # a worker killed from outside (out of memory, kill -9)
        codes = re.search(r"exit codes of the workers are (\{[^}]*\})", str(error))
        how = f" (exit codes {codes.group(1)})" if codes else ""
        where = " while rendering " + " or ".join(in_flight) if in_flight else ""
        return BuildError(f"a worker process died{how}{where}, killed from outside (e.g. for lack of memory); "
                          f"{kept}; rerun the same command to resume (with fewer --workers if memory ran out)")
    return error
