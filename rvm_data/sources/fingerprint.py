"""What a catalog holds, wherever its files lie: the identity of the sources a build drew its samples from.

A sample's identity is (recipe, split, epoch, index), but its pixels come from the clips a catalog lists,
in its order: the same recipe over a dataset with a clip added, removed or re-encoded at another frame
count draws other clips for the same indices. A build records each catalog's fingerprint in its manifest
and refuses to add shards drawn from another (a resume, more epochs, a build beside training started
in another working directory, which reads a recipe's relative paths from there).

The fingerprint hashes every clip's and file's name (not the folders above it, so a dataset moved or
mounted elsewhere is the same dataset), frame count and dimensions, in catalog order. It reads neither pixels
nor file sizes: a file rewritten with other content under the same name, frame count and dimensions is not
told apart.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from typing import Any

_LEFT_OUT = frozenset({"skipped"})  # clips left out are what the listed ones are not; their reasons name folders


@functools.cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(kind))


def _named(value: Any) -> Any:
    """``value`` as plain data with every path cut to its last part (a name), recursively."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: _named(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, str):
        return os.path.basename(value.rstrip("/\\")) if ("/" in value or "\\" in value) else value
    if isinstance(value, dict):
        return {key: _named(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_named(item) for item in value]
    if isinstance(value, bool | int | float) or value is None:
        return value
    raise TypeError(f"a catalog field of type {type(value).__name__} has no fingerprint")


def fingerprint(catalog: Any) -> dict[str, Any]:
    """``{"sha256": ..., "clips": {collection: count}}`` of a catalog dataclass (its list fields)."""
    fields = {f.name: getattr(catalog, f.name) for f in dataclasses.fields(catalog) if f.name not in _LEFT_OUT}
    content = {name: [_named(item) for item in items] for name, items in fields.items()}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return {"sha256": digest, "clips": {name: len(items) for name, items in fields.items()}}
