"""The one error type the readers raise, so callers can tell bad data from bad code."""

from __future__ import annotations

import os


class SourceError(ValueError):
    """A source file or folder cannot be read as asked; ``path`` names it."""

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        self.path = os.fspath(path)
        super().__init__(f"{self.path}: {message}")
