"""One style for every augment and compose setting: frozen dataclasses, tuples for sequences, and
validators that raise :class:`ConfigError` with the key path of the bad value.

Settings are shared by every sample a build plans and shipped to its workers, so they must not
change once made: :class:`Settings` subclasses are frozen, and lists given to them become tuples
(deeply), so a setting can never be mutated through a list it was built from either.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, cast

from rvm_data.errors import ConfigError


def join(path: str, name: str) -> str:
    """``path.name``, or ``name`` at the top level."""
    return f"{path}.{name}" if path else name


def frozen_value(value: Any) -> Any:
    """Lists (and nested lists) as tuples: the immutable form of a sequence setting."""
    if isinstance(value, (list, tuple)):
        return tuple(frozen_value(v) for v in value)
    return value


@dataclass(frozen=True)
class Settings:
    """Base of every settings dataclass: frozen, sequences stored as tuples, ``validate(path)`` for
    its own checks (the nested settings are checked by :func:`validate_tree`)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list) or (isinstance(value, tuple) and any(isinstance(v, list) for v in value)):
                object.__setattr__(self, f.name, frozen_value(value))

    def validate(self, path: str) -> None:
        """Raise :class:`ConfigError` naming ``path.<field>`` for a bad value of this level."""


def validate_tree(obj: Any, path: str) -> None:
    """Call ``validate(path)`` on every nested settings dataclass below ``obj``, deepest first."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        if is_dataclass(value):
            sub = join(path, f.name)
            validate_tree(value, sub)
            cast(Settings, value).validate(sub)  # every nested settings dataclass is a Settings


def check_prob(value: float, path: str) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(path, f"must be in [0, 1], got {value}")


def check_range(value: tuple[float, float], path: str, lo: float | None = None) -> None:
    if len(value) != 2 or value[0] > value[1]:
        raise ConfigError(path, f"must be a (low, high) pair with low <= high, got {value}")
    if lo is not None and value[0] < lo:
        raise ConfigError(path, f"must be >= {lo}, got {value}")


def check_choice(value: Any, choices: Collection[object], path: str) -> None:
    if value not in choices:
        raise ConfigError(path, f"must be one of {tuple(choices)}, got {value!r}")
