"""Which build folder a training stream reads in each epoch, and a build of the next epochs beside training.

A build folder can hold several epochs of its recipe's sample space (``rvm-data build --epochs A:B``:
epoch 0 is the folder, epoch e >= 1 its ``epochs/NNNN``). Epoch e of training reads epoch e's train
samples; where fewer epochs were built it cycles through those there are, and says so once. With a
:class:`RollingBuild` (``rvm-data train --build-ahead K``) epochs e+1 .. e+K are built while epoch e
trains; a stream that reaches an epoch still being built waits for it and reports how long, with the
frames per second training needed and the build delivered. ``--keep-epochs N`` deletes the epoch
folders (never epoch 0) that training has left N epochs behind.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

from rvm_data.shards.folder import BuildFolder
from rvm_data.shards.layout import TRAIN_SPLIT, built_epochs, epoch_root
from rvm_data.shards.manifest import ManifestError
from rvm_data.train.errors import TrainError


def complete(root: Path, epoch: int, output: str, samples: int) -> bool:
    """Whether epoch ``epoch`` of the build at ``root`` lists all ``samples`` train samples of ``output``."""
    try:
        return BuildFolder(epoch_root(root, epoch)).count(TRAIN_SPLIT, output) == samples
    except (OSError, ManifestError):  # not there yet, or its manifest is being replaced
        return False


class RollingBuild:
    """``rvm-data build ROOT --epochs A:B`` run in the background, one range at a time, into the folder
    training reads; :meth:`request` asks for epochs up to an end, :meth:`wait_for` blocks on one."""

    def __init__(self, root: Path, *, ahead: int, workers: int = 1, keep: int | None = None,
                 scheduler: str | None = None, launch: bool = True) -> None:
        if ahead < 1:
            raise TrainError(f"--build-ahead must be >= 1, got {ahead}")
        if keep is not None and keep < 1:
            raise TrainError(f"--keep-epochs must be >= 1, got {keep}")
        self.root, self.ahead, self.workers, self.keep, self.scheduler = root, ahead, workers, keep, scheduler
        self.launch = launch  # False on DDP ranks other than the main one: they wait for its builds
        self.requested = 1  # epochs below this were asked for (epoch 0 is the folder itself)
        self._process: subprocess.Popen[bytes] | None = None
        self._queue: list[range] = []
        self._started: float | None = None  # when the first background build began
        self.sources: list[EpochSource] = []  # the streams reading this build (none loses an epoch it reads)

    def _command(self, epochs: range) -> list[str]:
        """``rvm-data build ROOT --epochs A:B``: the recipe the folder records, so the epochs are of that build."""
        command = [sys.executable, "-c", "import sys; from rvm_data.cli import main; sys.exit(main())",
                   "build", str(self.root), "--epochs", f"{epochs.start}:{epochs.stop}", "--no-progress"]
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
        """Training is at ``epoch``: have epochs up to ``epoch + ahead`` built, and drop old ones."""
        end = epoch + self.ahead + 1
        if end > self.requested:
            self._queue.append(range(self.requested, end))
            self.requested = end
        self._pump()
        if self.keep is not None and self.launch:
            reading = {source.reading for source in self.sources}
            for old in built_epochs(self.root):
                if old <= epoch - self.keep and old not in reading:  # finished, `keep` behind, read by none
                    shutil.rmtree(epoch_root(self.root, old), ignore_errors=True)

    def will_build(self, epoch: int) -> bool:
        return 1 <= epoch < self.requested

    def epochs_per_s(self, output: str, samples: int) -> float:
        """Epochs completed per second since the background builds began."""
        if self._started is None:
            return 0.0
        done = sum(complete(self.root, e, output, samples) for e in range(1, self.requested))
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
                 frames: int = 1, follow: EpochSource | None = None) -> None:
        self.root, self.output, self.samples, self.builder = root, output, samples, builder
        self.frames_per_epoch = samples * frames
        self.follow = follow
        self.reading: int | None = None  # the epoch this stream reads now (kept from deletion)
        self._cycling_said = False
        self._pass_started: float | None = None  # when the pass before this one began (training's pace)
        if builder is not None:
            builder.sources.append(self)

    def ready(self, epoch: int) -> None:
        """Resuming on ``epoch``'s samples: have them (build them again where a rolling build can)."""
        self.reading = epoch
        if complete(self.root, epoch, self.output, self.samples):
            return
        if self.builder is not None and epoch >= 1:
            self.builder.request(epoch)
            self.builder.wait_for(epoch, self.output, self.samples)
            return
        raise TrainError(f"{epoch_root(self.root, epoch)}: the run was reading epoch {epoch}'s samples, which are not "
                         f"(all) there; build them again: rvm-data build {self.root} --epochs {epoch}")

    def built(self) -> list[int]:
        """The complete epochs, 0 first."""
        return [0] + [e for e in built_epochs(self.root) if complete(self.root, e, self.output, self.samples)]

    def epoch_for(self, epoch: int) -> int:
        """The built epoch pass ``epoch`` reads, recorded in ``reading`` (the pass before is over, so the
        epoch it read is no longer kept for this stream while the choice is made)."""
        self.reading = None
        self.reading = self._choose(epoch)
        return self.reading

    def _choose(self, epoch: int) -> int:
        """Its own where it is built (waiting for a rolling build that is making it), else the built ones
        in turn; a follower reads what its leader reads, where this output is complete there."""
        if self.follow is not None:
            led = self.follow.reading if self.follow.reading is not None else 0
            return led if complete(self.root, led, self.output, self.samples) else 0
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
        if epoch in built:
            return epoch
        chosen = built[epoch % len(built)]
        if not self._cycling_said:
            self._cycling_said = True
            warnings.warn(f"{self.root}: {len(built)} epoch(s) of {self.output!r} built ({_ranges(built)}): training "
                          f"epoch {epoch} reuses epoch {chosen}'s samples, and so on in turn (build more with "
                          "`rvm-data build RECIPE --epochs A:B`, or train with --build-ahead)", stacklevel=2)
        return chosen


def _ranges(epochs: list[int]) -> str:
    return ", ".join(str(e) for e in epochs) if len(epochs) < 6 else f"{epochs[0]}..{epochs[-1]}"
