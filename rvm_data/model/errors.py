"""The network's project errors: a weights file, an input clip or a setting it cannot use, named."""

from __future__ import annotations

from rvm_data.errors import RvmDataError


class ModelError(RvmDataError, ValueError):
    """A checkpoint or weights file that is not one, a clip that cannot be read or written, a setting
    out of range; ``ValueError`` stays a base, so code that caught it still does."""


class ModelFileMissing(ModelError, FileNotFoundError):
    """A weights file or an input clip that is not there."""
