"""The trainer's project error: a run that cannot start or continue because of its input (the run folder,
a checkpoint, the device asked for, the build), as one line naming it. ``ValueError`` (and
``FileNotFoundError``) stay its bases, so code that caught those still does."""

from __future__ import annotations

from rvm_data.errors import RvmDataError


class TrainError(RvmDataError, ValueError):
    """A run folder, checkpoint, device or build that the run cannot use."""


class TrainFileMissing(TrainError, FileNotFoundError):
    """A file the run needs is not there (a checkpoint to resume or start from)."""
