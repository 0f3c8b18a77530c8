"""Which build folder a training stream reads in each epoch, and a build of the next epochs beside training.

A build folder can hold several epochs of its recipe's sample space (``rvm-data build --epochs A:B``:
epoch 0 is the folder, epoch e >= 1 its ``epochs/NNNN``). Epoch e of training reads epoch e's train
samples; where fewer epochs were built it cycles through those there are, and says so once. With a
:class:`RollingBuild` (``rvm-data train --build-ahead K``) epochs e+1 .. e+K are built while epoch e
trains; a stream that reaches an epoch still being built waits for it and reports how long, with the
frames per second training needed and the build delivered. ``--keep-epochs N`` deletes the epoch
folders (never epoch 0, never one a stream of this or another process reads or a build is writing) that
training has left N epochs behind. An epoch folder made from another recipe, rvm-data version, library
stack or sources than epoch 0 is refused, never read.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from rvm_data.buildfolder import FolderError, FolderLock, ReadHold, move_away_unread
from rvm_data.shards.folder import BuildFolder
from rvm_data.shards.layout import EPOCHS_DIR, MANIFEST_NAME, TRAIN_SPLIT, built_epochs, epoch_root
from rvm_data.shards.manifest import Manifest, ManifestError
from rvm_data.train.errors import TrainError

SEE_EPOCH_TIMEOUT_S = 60.0  # how long a DDP rank waits to see the epoch the main rank chose (NFS caches)
_DELETING = ".deleting-"  # an epoch folder renamed out of the way before it is removed


def complete(root: Path, epoch: int, output: str, samples: int) -> bool:
    """Whether epoch ``epoch`` of the build at ``root`` lists all ``samples`` train samples of ``output``;
    a TrainError where that folder was made otherwise than epoch 0 (another recipe, version or stack, or
    a manifest recording another epoch), which training must never read."""
    try:
        folder = BuildFolder(epoch_root(root, epoch))
        count = folder.count(TRAIN_SPLIT, output)
    except (OSError, ManifestError):  # not there yet, or its manifest is being replaced
        return False
    if epoch:
        _check_same_build(root, folder, epoch)
    return count == samples


@functools.lru_cache(maxsize=8)
def _read_epoch_zero(root: Path, stamp: tuple[int, int]) -> Manifest:
    """Epoch 0's manifest, read once per version of the file (``stamp``: its mtime and size), not on every
    poll of a stream waiting for an epoch: at stage 1 it lists thousands of shards."""
    return BuildFolder(root).manifest


def _epoch_zero(root: Path) -> Manifest:
    try:
        stat = (root / MANIFEST_NAME).stat()
    except FileNotFoundError:
        return BuildFolder(root).manifest  # the manifest's own error, naming the folder
    return _read_epoch_zero(root, (stat.st_mtime_ns, stat.st_size))


def _check_same_build(root: Path, folder: BuildFolder, epoch: int) -> None:
    made, first = folder.manifest, _epoch_zero(root)
    both = sorted(made.sources.keys() & first.sources.keys())  # the catalogs both record a fingerprint of

    def drawn_from(manifest: Manifest) -> dict[str, str]:
        return {key: manifest.sources[key]["sha256"][:12] for key in both}

    differences = [f"{what} {mine!r} (epoch 0: {theirs!r})" for what, mine, theirs in (
        ("epoch", made.epoch, epoch), ("recipe hash", made.recipe_hash, first.recipe_hash),
        ("rvm_data version", made.version, first.version), ("library stack", made.stack, first.stack),
        ("sources", drawn_from(made), drawn_from(first))) if mine != theirs]
    if differences:
        raise TrainError(f"{folder.root}: this epoch was not made by epoch 0's build ({'; '.join(differences)}), so "
                         "its samples are not of this recipe's sample space; remove the folder or rebuild it "
                         f"with `rvm-data build {root} --epochs {epoch}`")


def check_whole(root: Path) -> None:
    """Refuse a rolling build beside an epoch 0 built in part (``--limit``): it builds whole epochs, whose
    counts would never be epoch 0's, so training would wait on them in vain."""
    from rvm_data.build import recipe_of_build  # the build machinery, only where a rolling build is made

    folder = BuildFolder(root)
    for name, output in recipe_of_build(root).all_outputs().items():
        whole, built = output.samples.get(TRAIN_SPLIT, 0), folder.count(TRAIN_SPLIT, name)
        if built and built != whole:
            raise TrainError(f"{root}: epoch 0 holds {built} of the recipe's {whole} train samples of {name!r} (built "
                             "with --limit); --build-ahead builds whole epochs: build epoch 0 whole first, or "
                             f"build the epochs you want by hand (`rvm-data build {root} --epochs A:B --limit N`)")


def _runs(epochs: list[int]) -> list[tuple[int, int]]:
    """Sorted epochs as (first, last) runs of consecutive ones: [1, 2, 4] -> [(1, 2), (4, 4)]."""
    runs: list[tuple[int, int]] = []
    for e in epochs:
        if runs and runs[-1][1] == e - 1:
            runs[-1] = (runs[-1][0], e)
        else:
            runs.append((e, e))
    return runs


def build_beside(parent: int) -> int:
    """The background build's entry point (``rvm-data build`` with training's pid before its arguments): it
    stops like Ctrl-C when training dies (SIGKILL, out of memory), so no orphan build holds the folders a
    resumed run builds into."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)  # the build's own handler: temporaries removed, one line

    threading.Thread(target=watch, name="rvm-data-training-watch", daemon=True).start()
    from rvm_data.cli import main

    return main()


class RollingBuild:
    """``rvm-data build ROOT --epochs A:B`` run in the background, one range at a time, into the folder
    training reads; :meth:`request` asks for epochs up to an end, :meth:`wait_for` blocks on one."""

    def __init__(self, root: Path, *, ahead: int, workers: int = 1, keep: int | None = None,
                 scheduler: str | None = None, launch: bool = True) -> None:
        if ahead < 1:
            raise TrainError(f"--build-ahead must be >= 1, got {ahead}")
        if keep is not None and keep < 1:
            raise TrainError(f"--keep-epochs must be >= 1, got {keep}")
        if workers < 1:
            raise TrainError(f"--build-workers must be >= 1, got {workers}")
        self.root, self.ahead, self.workers, self.keep, self.scheduler = root, ahead, workers, keep, scheduler
        self.launch = launch  # False on DDP ranks other than the main one: they wait for its builds
        self.epochs: int | None = None  # epochs training runs (0 .. epochs - 1); none is built past them
        self.requested = 1  # epochs below this were asked for (epoch 0 is the folder itself)
        self.training = 0  # the latest epoch training asked for
        self.building: list[int] = []  # the epochs this run has queued (what its delivery rate counts)
        self._process: subprocess.Popen[bytes] | None = None
        self._queue: list[range] = []
        self._started: float | None = None  # when the first background build began
        self.sources: list[EpochSource] = []  # the streams reading this build (none loses an epoch it reads)
        self._kept_said: set[int] = set()  # epochs kept because another process read them, said once each

    def _command(self, epochs: range) -> list[str]:
        """``rvm-data build ROOT --epochs A:B``: the recipe the folder records, so the epochs are of that build."""
        code = f"import sys; from rvm_data.train.epochs import build_beside; sys.exit(build_beside({os.getpid()}))"
        command = [sys.executable, "-c", code, "build", str(self.root), "--epochs", f"{epochs.start}:{epochs.stop}",
                   "--no-progress"]
        return command + (["--scheduler", self.scheduler] if self.scheduler else ["--workers", str(self.workers)])

    def _pump(self) -> None:
        """Start the next requested range once the running build has finished; a failed build is an error."""
        if not self.launch:
            self._queue.clear()
            return
        if self._process is not None:
            code = self._process.poll()
            if code is None:
                return
            if code != 0:
                raise TrainError(f"the background build of epochs into {self.root} failed (exit {code}); "
                                 f"run `rvm-data build {self.root} --epochs ...` to see why")
            self._process = None
        if self._queue:
            self._process = subprocess.Popen(self._command(self._queue.pop(0)), stdout=subprocess.DEVNULL)
            self._started = self._started or time.perf_counter()

    def request(self, epoch: int) -> None:
        """Training is at ``epoch``: have epochs up to ``epoch + ahead`` built (those not complete yet, none
        past the run's last); :meth:`drop_finished` then deletes the old ones."""
        end = epoch + self.ahead + 1 if self.epochs is None else min(epoch + self.ahead + 1, self.epochs)
        start = max(self.requested, epoch)  # never an epoch training has left (a resumed run starts on its own)
        if end > start:
            missing = [e for e in range(start, end) if not self._complete(e)]
            for first, last in _runs(missing):
                self._queue.append(range(first, last + 1))
            self.building += missing
            self.requested = end
        self._pump()
        self.training = max(self.training, epoch)

    def drop_finished(self) -> None:
        """With ``keep``: delete the epochs training has left ``keep`` behind that no stream reads (called as
        each stream moves on: a follower still reading the epoch before keeps it until its next pass; never
        while a resumed run's streams are made ready, before the followers say what they read)."""
        if self.keep is not None and self.launch:
            reading = {source.reading for source in self.sources}
            for old in built_epochs(self.root):
                if old <= self.training - self.keep and old not in reading:  # finished, `keep` behind, read by none
                    self._delete(old)
            for leftover in (self.root / EPOCHS_DIR).glob(f"{_DELETING}*"):  # a removal cut short
                shutil.rmtree(leftover, ignore_errors=True)

    def _complete(self, epoch: int) -> bool:
        """Every stream reading this build has its output complete in ``epoch``."""
        return bool(self.sources) and all(complete(self.root, epoch, s.output, s.samples) for s in self.sources)

    def _delete(self, epoch: int) -> None:
        """Remove a finished epoch's folder, unless a build holds it (a hand-run one, or a stopping one):
        renamed out of the way under its lock first, so no reader ever sees it half removed."""
        folder = epoch_root(self.root, epoch)
        away = folder.parent / f"{_DELETING}{folder.name}-{os.getpid()}"
        try:
            with FolderLock(folder, doing="deleting this epoch, which training has finished (--keep-epochs)"):
                try:
                    move_away_unread(folder, away)
                except FolderError as read:
                    if epoch not in self._kept_said:
                        self._kept_said.add(epoch)
                        warnings.warn(f"{folder}: kept for now (--keep-epochs): {read.reason}; it is deleted at a "
                                      "later epoch, once no process reads it", stacklevel=3)
                    return
        except (FolderError, OSError):  # held by a build, or gone already: left for a later pass
            return
        shutil.rmtree(away, ignore_errors=True)

    def will_build(self, epoch: int) -> bool:
        return 1 <= epoch < self.requested and (self.epochs is None or epoch < self.epochs)

    def epochs_per_s(self, output: str, samples: int) -> float:
        """Epochs this run's background builds completed per second since they began."""
        if self._started is None:
            return 0.0
        done = sum(complete(self.root, e, output, samples) for e in self.building)
        return done / max(time.perf_counter() - self._started, 1e-9)

    def wait_for(self, epoch: int, output: str, samples: int) -> float:
        """Block until ``epoch`` is complete; the seconds waited."""
        started = time.perf_counter()
        while not complete(self.root, epoch, output, samples):
            self._pump()
            if self.launch and self._process is None and not self._queue:
                if complete(self.root, epoch, output, samples):
                    break
                raise TrainError(f"{epoch_root(self.root, epoch)}: the background build ended without it")
            time.sleep(0.2)
        return time.perf_counter() - started

    def close(self) -> None:
        """Stop a build still running (its complete shards stay; a later run resumes it)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait()
        self._process = None


class EpochSource:
    """Which epoch's folder of the build at ``root`` a stream of ``output`` reads in each of its passes:
    the pass's own epoch, or, with ``follow`` (the low-res stream's source: other outputs of the same
    build run through many passes per epoch), the epoch that one reads now."""

    def __init__(self, root: Path, output: str, samples: int, builder: RollingBuild | None = None,
                 frames: int = 1, follow: EpochSource | None = None,
                 agree: Callable[[int], int] | None = None, hold: bool = True) -> None:
        self.root, self.output, self.samples, self.builder = root, output, samples, builder
        self.frames_per_epoch = samples * frames
        self.follow = follow
        self.agree = agree  # under DDP the main rank's choice, which every rank then reads (see epoch_for)
        self.reading: int | None = None  # the epoch this stream reads now (kept from deletion)
        # Whether it holds the epoch it reads against other processes' --keep-epochs. Under DDP the main rank's
        # hold keeps it for every rank: another rank's, released a moment after the main rank's next choice,
        # would keep the main rank's own --keep-epochs off the epoch all ranks have just finished.
        self.hold = hold
        self._hold: ReadHold | None = None
        self._cycling_said = self._fallback_said = False
        self._pass_started: float | None = None  # when the pass before this one began (training's pace)
        if builder is not None:
            builder.sources.append(self)

    def ready(self, epoch: int) -> None:
        """Resuming on ``epoch``'s samples: have them (build them again where a rolling build can)."""
        self.reading = epoch
        if complete(self.root, epoch, self.output, self.samples) and self._hold_on(epoch):
            return
        if self.builder is not None and epoch >= 1:
            self.builder.request(epoch)
            self.builder.wait_for(epoch, self.output, self.samples)
            if self._hold_on(epoch):
                return
        raise TrainError(f"{epoch_root(self.root, epoch)}: the run was reading epoch {epoch}'s samples, which are not "
                         f"(all) there; build them again: rvm-data build {self.root} --epochs {epoch}")

    def built(self) -> list[int]:
        """The complete epochs, 0 first."""
        return [0] + [e for e in built_epochs(self.root) if complete(self.root, e, self.output, self.samples)]

    def epoch_for(self, epoch: int) -> int:
        """The built epoch pass ``epoch`` reads, recorded in ``reading`` (the pass before is over, so the
        epoch it read is no longer kept for this stream while the choice is made).

        Under DDP every rank reads the main rank's choice (``agree``): a rank that looked at the folder a
        moment earlier, while another build was finishing an epoch, would read another epoch's part of
        the samples, and a resumed run (which restores the main rank's streams everywhere) would not
        continue what it read."""
        self.reading = None
        self.release()
        chosen = self._choose(epoch)
        while not self._hold_on(chosen):  # removed between the choice and the hold (another run's --keep-epochs)
            chosen = self._choose(epoch)
        agreed = chosen if self.agree is None else self.agree(chosen)
        if agreed != chosen:
            self.release()
            deadline = time.monotonic() + SEE_EPOCH_TIMEOUT_S  # shared storage may show the main rank's view late
            while not complete(self.root, agreed, self.output, self.samples):
                if time.monotonic() > deadline:
                    raise TrainError(f"{epoch_root(self.root, agreed)}: the main rank reads this epoch's "
                                     f"{self.output!r} shards in this pass but this process has not seen them all "
                                     f"within {SEE_EPOCH_TIMEOUT_S:g} s: every rank must read the same build "
                                     "folder (shared storage)")
                time.sleep(0.2)
        self.reading = agreed
        if self.builder is not None:  # it has let go of the epoch before
            self.builder.drop_finished()
        return agreed

    def _hold_on(self, epoch: int) -> bool:
        """Hold ``epoch`` against removal by other processes (epoch 0 is never removed); False when one removed
        it after it was chosen."""
        if epoch < 1 or not self.hold:
            return True
        hold = ReadHold(epoch_root(self.root, epoch))
        try:
            hold.take()
        except FolderError:
            return False
        self._hold = hold
        return True

    def release(self) -> None:
        """Hold no epoch (the pass is over, or the run)."""
        if self._hold is not None:
            self._hold.release()
            self._hold = None

    def _choose(self, epoch: int) -> int:
        """Its own where it is built (waiting for a rolling build that is making it), else the built ones
        in turn; a follower reads what its leader reads, where this output is complete there."""
        if self.follow is not None:
            led = self.follow.reading if self.follow.reading is not None else 0
            if complete(self.root, led, self.output, self.samples):
                return led
            if self.builder is not None and self.builder.will_build(led):  # built after the leader's output
                self.builder.wait_for(led, self.output, self.samples)
                return led
            if not self._fallback_said:
                self._fallback_said = True
                warnings.warn(f"{epoch_root(self.root, led)}: the low-res stream reads this epoch but it has no "
                              f"complete {self.output!r} shards, so that stream reads epoch 0's (and so in every "
                              "such epoch)", stacklevel=2)
            return 0
        now = time.perf_counter()
        pass_s, self._pass_started = (now - self._pass_started if self._pass_started else None), now
        if self.builder is not None:
            self.builder.request(epoch)
            if self.builder.will_build(epoch):
                if not complete(self.root, epoch, self.output, self.samples):
                    waited = self.builder.wait_for(epoch, self.output, self.samples)
                    self._pass_started = time.perf_counter()
                    if waited > 1.0:
                        delivered = self.builder.epochs_per_s(self.output, self.samples) * self.frames_per_epoch
                        needed = f"training reads {self.frames_per_epoch / pass_s:.0f} frames/s, " if pass_s else ""
                        warnings.warn(f"waited {waited:.1f} s for epoch {epoch}'s {self.output!r} shards: {needed}"
                                      f"the background build delivers {delivered:.0f} frames/s (give it more "
                                      "--build-workers, a larger --build-ahead, or a dask cluster)", stacklevel=2)
                return epoch
        built = self.built()
        chosen = reused_epoch(epoch, built)
        if chosen == epoch:
            return epoch
        if not self._cycling_said:
            self._cycling_said = True
            warnings.warn(f"{self.root}: {len(built)} epoch(s) of {self.output!r} built ({_ranges(built)}): training "
                          f"epoch {epoch} reuses epoch {chosen}'s samples, and so on in turn (build more with "
                          "`rvm-data build RECIPE --epochs A:B`, or train with --build-ahead)", stacklevel=2)
        return chosen


def reused_epoch(epoch: int, built: list[int]) -> int:
    """The built epoch training epoch ``epoch`` reads: its own where built, else the built ones in turn over
    the epochs that are not (so each is reused as often as the others, wherever the gaps are; with epochs
    0 .. n-1 built, epoch e reads e mod n)."""
    if epoch in built:
        return epoch
    unbuilt_before = epoch - sum(1 for e in built if e < epoch)
    return built[unbuilt_before % len(built)]


def _ranges(epochs: list[int]) -> str:
    return ", ".join(str(e) for e in epochs) if len(epochs) < 6 else f"{epochs[0]}..{epochs[-1]}"
