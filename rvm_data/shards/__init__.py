"""WebDataset-style tar shards: codecs, writer, manifest, the training loader and verification.

Names are imported from their submodule on first use (PEP 562), so reading a manifest or a
shard does not import torch (only the loader, ``rvm_data.shards.dataset``, needs it).
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "codec": ("CodecConfig", "CodecError"),
    "dataset": ("ShardDataset", "ShardLoader", "composite", "read_sample", "resolve_shards"),
    "folder": ("BuildFolder", "BuiltOutput", "BuiltRecipe", "ShardFile", "ShardSetError"),
    "handlers": ("ignore_and_continue", "reraise_exception", "warn_and_continue"),
    "manifest": ("MANIFEST_NAME", "Manifest", "ShardEntry", "read_manifest", "shard_output", "write_manifest"),
    "reader": ("SampleRef", "ShardError", "count_samples", "load_sample", "scan_shard"),
    "writer": ("ShardInfo", "ShardWriter", "encode_sample", "sample_key", "write_shard"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'rvm_data.shards' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"rvm_data.shards.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
