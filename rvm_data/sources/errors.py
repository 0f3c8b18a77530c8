"""The one error type the readers raise, so callers can tell bad data from bad code."""

from __future__ import annotations

import os

from rvm_data.errors import RvmDataError


class SourceError(RvmDataError, ValueError):
    """A source file or folder cannot be read as asked; ``path`` names it, ``frame`` the frame where known."""

    def __init__(self, path: str | os.PathLike[str], message: str, *, frame: int | None = None) -> None:
        self.path, self.frame, self.problem = os.fspath(path), frame, message
        where = self.path if frame is None else f"{self.path}: frame {frame}"
        super().__init__(f"{where}: {message}")
