"""The one base of every rvm-data error, so the CLI (and callers) can tell bad input from bad code.

Project errors cross process boundaries (loky workers, dask), so they must pickle with everything
they carry. ``Exception``'s own pickling re-calls ``__init__`` with ``self.args``, which breaks as soon
as a subclass takes other arguments than the message; :class:`RvmDataError` pickles its message and
its attributes instead, so every subclass round-trips intact without code of its own.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


class RvmDataError(Exception):
    """Bad input, a bad folder or a bad file: one line for the user, naming what is wrong."""

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (type(self), str(self), dict(self.__dict__))


class ConfigError(RvmDataError, ValueError):
    """A bad setting of a config dataclass: ``key`` is its path below that config (``augment.noise.prob``,
    ``quality``), ``problem`` what is wrong. The message is ``"<key>: <problem>"``; the recipe loader puts
    the config's own path in front (``outputs.lr.compose.``, ``shards.codec.``) and the file."""

    def __init__(self, key: str, problem: str) -> None:
        self.key, self.problem = key, problem
        super().__init__(f"{key}: {problem}" if key else problem)


def did_you_mean(name: str, known: Iterable[str], listing: str | None = "known") -> str:
    """The tail of a message about an unknown ``name``: ``"; did you mean 'x'?"`` for the nearest of
    ``known``, else ``"; <listing>: a, b"`` (nothing when ``listing`` is None)."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; {listing}: {', '.join(known)}" if listing else ""


def _rebuild(cls: type[RvmDataError], message: str, attributes: dict[str, Any]) -> RvmDataError:
    # The built-in base that fixes the instance layout makes it (OSError for a FileNotFoundError mix-in:
    # ValueError.__new__ refuses such a class), then the message and attributes go back on.
    layout = max((base for base in cls.__mro__ if base.__module__ == "builtins"), key=lambda base: base.__basicsize__)
    error: RvmDataError = layout.__new__(cls)  # type: ignore[call-overload]
    Exception.__init__(error, message)
    error.__dict__.update(attributes)
    return error
