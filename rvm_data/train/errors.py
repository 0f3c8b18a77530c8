"""The trainer's project error: a run that cannot start or continue because of its input (the run folder,
a checkpoint, the device asked for, the build), as one line naming it. ``ValueError`` (and
``FileNotFoundError``) stay its bases, so code that caught those still does."""

from __future__ import annotations

from rvm_data.errors import RvmDataError


class TrainError(RvmDataError, ValueError):
    """A run folder, checkpoint, device or build that the run cannot use."""


class TrainFileMissing(TrainError, FileNotFoundError):
    """A file the run needs is not there (a checkpoint to resume or start from)."""


class TrainInterrupted(RvmDataError):
    """Ctrl-C, or SIGTERM/SIGHUP where ``rvm-data train`` turns them into an interrupt (``signum``), stopped
    the run; says which step the last checkpoint holds, where --resume starts."""

    def __init__(self, out_dir: str, step: int, checkpoint_step: int | None, signum: int = 2) -> None:
        self.out_dir, self.step, self.checkpoint_step, self.signum = out_dir, step, checkpoint_step, signum
        if checkpoint_step is None:
            saved = "no checkpoint was written yet: run the command again without --resume to start over"
        else:
            saved = (f"the last checkpoint ({out_dir}/checkpoints/last.pt) holds step {checkpoint_step}: "
                     "--resume continues from there")
        super().__init__(f"interrupted at step {step}; {saved}")
