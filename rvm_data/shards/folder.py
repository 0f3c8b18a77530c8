"""A finished build folder as readers see it: its manifest, where its shards are, and what its recipe
says about each output, typed.

Loader, trainer, viewer, inspect, verify and the wids lists all find an output's shards here
(:meth:`BuildFolder.shards`, :meth:`BuildFolder.entries`) and read the recipe's outputs through
:class:`BuiltRecipe` rather than digging in the manifest's recipe dict, so the manifest's shape is
known in one place. Writing a folder (the one-writer lock, one-line write errors) is
:mod:`rvm_data.buildfolder`'s business; this module only reads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from rvm_data.errors import RvmDataError
from rvm_data.shards.layout import MANIFEST_NAME, shard_output
from rvm_data.shards.manifest import Manifest, ShardEntry, read_manifest

Kind = Literal["matting", "segmentation"]


class ShardSetError(RvmDataError, ValueError):
    """Shards that cannot give what was asked: a split or output they lack, too few samples for one batch,
    a saved position of other shards or settings."""


@dataclass(frozen=True)
class ShardFile:
    """One shard and its sample count (from the manifest, or from a header scan)."""

    path: str
    samples: int


@dataclass(frozen=True)
class BuiltOutput:
    """One output as the manifest's recipe records it. ``frames`` and ``size`` (H, W) are None where the
    record lacks them or holds something else (a hand-made or older manifest)."""

    name: str
    kind: Kind
    frames: int | None
    size: tuple[int, int] | None

    @property
    def shape(self) -> tuple[int, int, int] | None:
        """(T, H, W) of every sample of this output, where the recipe says."""
        return (self.frames, *self.size) if self.frames is not None and self.size is not None else None


def _output(name: str, kind: Kind, record: Any) -> BuiltOutput:
    config = record.get("compose", record) if isinstance(record, dict) else None
    size, frames = (config.get("size"), config.get("frames")) if isinstance(config, dict) else (None, None)
    good_size = isinstance(size, list) and len(size) == 2 and all(type(v) is int for v in size)
    return BuiltOutput(name, kind, frames if type(frames) is int else None,
                       (size[0], size[1]) if good_size and isinstance(size, list) else None)


@dataclass(frozen=True)
class BuiltRecipe:
    """What readers need of the recipe a build recorded: its name and its outputs (matting ones first,
    then segmentation ones), typed. The manifest keeps the full recipe as data (``Manifest.recipe``)."""

    name: str
    hash: str
    outputs: dict[str, BuiltOutput]

    @classmethod
    def from_manifest(cls, manifest: Manifest) -> BuiltRecipe:
        recipe = manifest.recipe if isinstance(manifest.recipe, dict) else {}
        seg_record = recipe.get("segmentation")
        seg = seg_record if isinstance(seg_record, dict) else {}
        outputs: dict[str, BuiltOutput] = {}
        kinds: tuple[tuple[Kind, Any], ...] = (("matting", recipe.get("outputs")), ("segmentation", seg.get("outputs")))
        for kind, records in kinds:
            for name, record in records.items() if isinstance(records, dict) else ():
                outputs.setdefault(name, _output(name, kind, record))
        return cls(str(recipe.get("name", "")), manifest.recipe_hash, outputs)

    def of_kind(self, kind: Kind) -> dict[str, BuiltOutput]:
        return {name: out for name, out in self.outputs.items() if out.kind == kind}


class BuildFolder:
    """A build folder (or its manifest.json) opened for reading; ``manifest`` is read and validated once.

    ``manifest`` may be given (already read, or being written by a build) with ``root`` its folder.
    """

    def __init__(self, root: str | os.PathLike[str], manifest: Manifest | None = None) -> None:
        path = Path(root)
        self.root = path.parent if path.name == MANIFEST_NAME and not path.is_dir() else path
        self.manifest = manifest if manifest is not None else read_manifest(path)

    @classmethod
    def is_folder(cls, path: str | os.PathLike[str]) -> bool:
        """A path naming a build folder or its manifest (what :class:`BuildFolder` opens)."""
        path = Path(path)
        return path.is_dir() or path.name == MANIFEST_NAME

    @cached_property
    def recipe(self) -> BuiltRecipe:
        return BuiltRecipe.from_manifest(self.manifest)

    @property
    def name(self) -> str:
        """The recipe's name (the folder's name where the manifest's recipe has none)."""
        return self.recipe.name or self.root.name

    @property
    def splits(self) -> list[str]:
        return list(self.manifest.splits)

    def outputs(self, split: str) -> list[str]:
        """The outputs with shards in ``split``, sorted."""
        return sorted({shard_output(e.path) for e in self.manifest.splits.get(split, [])})

    def entries(self, split: str, output: str | None = None) -> list[ShardEntry]:
        """The manifest's shards of one split (of one output, or all), in manifest order."""
        return [e for e in self.manifest.splits.get(split, []) if output is None or shard_output(e.path) == output]

    def groups(self) -> dict[str, list[ShardEntry]]:
        """Shards by ``<split>/<output>`` (one output's samples share fields and sizes), in manifest order."""
        out: dict[str, list[ShardEntry]] = {}
        for split, entries in self.manifest.splits.items():
            for entry in entries:
                out.setdefault(f"{split}/{shard_output(entry.path)}", []).append(entry)
        return out

    def count(self, split: str, output: str | None = None) -> int:
        """Samples of one split (and output)."""
        return sum(e.samples for e in self.entries(split, output))

    def path(self, entry: ShardEntry) -> Path:
        """The shard file of a manifest entry (its path is ``<split>/<output>-NNNNNN.tar``, checked when read)."""
        return self.root / entry.path

    def shards(self, split: str | None = None, output: str | None = None, where: str | None = None
               ) -> list[ShardFile]:
        """One split's and output's shards with their counts, in manifest order. ``split`` may be left out
        when the build has one split, ``output`` when the split holds one output; else ShardSetError
        (headed by ``where``, the folder by default)."""
        where = where or str(self.root)
        splits = self.manifest.splits
        if split is None:
            if len(splits) != 1:
                raise ShardSetError(f"{where}: pass split= (one of {sorted(splits)})")
            split = next(iter(splits))
        if split not in splits:
            raise ShardSetError(f"{where}: no split {split!r} (has {sorted(splits)})")
        outputs = self.outputs(split)
        if output is None and len(outputs) > 1:
            raise ShardSetError(f"{where}: split {split!r} holds outputs {outputs}; pass output=")
        chosen = self.entries(split, output)
        if not chosen:
            raise ShardSetError(f"{where}: split {split!r} has no shards of output {output!r} (has {outputs})")
        return [ShardFile(str(self.path(e)), e.samples) for e in chosen]

    def shape(self, output: str) -> tuple[int, int, int] | None:
        """(T, H, W) the recipe gives ``output``, where it says."""
        out = self.recipe.outputs.get(output)
        return out.shape if out is not None else None
