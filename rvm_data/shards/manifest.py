"""manifest.json: what a build folder holds (recipe, version, every shard's count, size and sha256).

A manifest is input like any other: it is validated as it is read (and before it is written), so a
hand-edited or damaged one is one :class:`ManifestError` naming the file and the key path, never a
traceback, a silently shortened split, or a shard path that leaves the build folder. Every shard path
has the form ``<split>/<output>-NNNNNN.tar`` with names under the recipe-name rule, so joining it to the
build folder cannot escape it. :func:`confined` is the check for paths made from such names elsewhere.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from rvm_data import __version__
from rvm_data.errors import RvmDataError
from rvm_data.shards.layout import MANIFEST_NAME, SAFE_NAME, parse_shard_path, shard_output, write_atomically

__all__ = ["MANIFEST_NAME", "Manifest", "ManifestError", "ManifestMissingError", "PathEscapeError", "SAFE_NAME",
           "ShardEntry", "confined", "manifest_path", "read_manifest", "shard_output", "show", "write_manifest"]
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_HEX = re.compile(r"^[0-9a-f]+$")
_SKIPPED_TEXT = ("collection", "name", "path", "reason")


class ManifestError(RvmDataError, ValueError):
    """A manifest that cannot be trusted: the file, the key path and what is wrong with it."""

    def __init__(self, path: str, key: str, problem: str) -> None:
        self.path, self.key, self.problem = path, key, problem
        super().__init__(f"{path}: {key}: {problem}" if key else f"{path}: {problem}")


class ManifestMissingError(RvmDataError, FileNotFoundError):
    """No manifest where one was asked for (a FileNotFoundError, as callers have long caught)."""

    def __init__(self, path: str, problem: str) -> None:
        self.path, self.problem = path, problem
        super().__init__(f"{path}: {problem}")


class PathEscapeError(RvmDataError, ValueError):
    """A path made from names read from a manifest, shard or recipe that would leave its folder."""

    def __init__(self, path: str, folder: str) -> None:
        self.path, self.folder = path, folder
        super().__init__(f"{path}: refusing to write outside {folder}")


def show(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for messages about untrusted values."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def confined(folder: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """``path`` (absolute, or relative to the working directory) resolved, if it lies inside ``folder``
    once both are resolved; else :class:`PathEscapeError` naming it."""
    root, target = Path(folder).resolve(), Path(path).resolve()
    if not target.is_relative_to(root):
        raise PathEscapeError(str(path), str(folder))
    return target


@dataclass(frozen=True)
class ShardEntry:
    """One shard: ``path`` relative to the build folder, e.g. ``train/vm_stage1-000000.tar``."""

    path: str
    samples: int
    bytes: int
    sha256: str


@dataclass
class Manifest:
    """Contents of ``<out>/manifest.json``; ``splits`` maps a split name to its shards in order."""

    recipe: dict[str, Any]
    recipe_hash: str
    splits: dict[str, list[ShardEntry]] = field(default_factory=dict)
    version: str = __version__
    # clips left out under on_bad_clip: skip, each {collection, name, path, reason, found, samples}:
    # found "indexing" (never used) or "rendering" (``samples`` samples that met it were replaced)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    # which epoch of the recipe's sample space the folder holds (0: the one every build makes;
    # epochs >= 1 hold the train split only, in <root>/epochs/NNNN of the epoch-0 folder)
    epoch: int = 0
    # what made its bytes (rvm_data.stack.pixel_stack): library versions, machine kind, OpenCV's AVX2
    stack: dict[str, str] = field(default_factory=dict)
    # the sources its shards were drawn from, per catalog ("train", "segmentation/train"):
    # rvm_data.sources.fingerprint's {"sha256": ..., "clips": {collection: count}}
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

    def totals(self) -> dict[str, dict[str, int]]:
        """Shards, samples and bytes per split and over all splits (key ``"all"``)."""
        out = {name: {"shards": len(entries), "samples": sum(e.samples for e in entries),
                      "bytes": sum(e.bytes for e in entries)} for name, entries in self.splits.items()}
        out["all"] = {k: sum(v[k] for v in out.values()) for k in ("shards", "samples", "bytes")}
        return out

    def to_dict(self) -> dict[str, Any]:
        data = {"version": self.version, "recipe_hash": self.recipe_hash, "recipe": self.recipe,
                "splits": {name: [asdict(e) for e in entries] for name, entries in self.splits.items()},
                "totals": self.totals(), "skipped": self.skipped}
        if self.stack:
            data["stack"] = self.stack
        if self.sources:
            data["sources"] = self.sources
        return data | {"epoch": self.epoch} if self.epoch else data  # epoch 0's manifest as it always was

    @classmethod
    def from_dict(cls, data: Any, where: str = MANIFEST_NAME) -> Manifest:
        """A validated Manifest; ``where`` (the file) heads every :class:`ManifestError`.

        ``totals`` is derived from the entries and not read; other unknown top-level keys are ignored.
        """
        check = _Checker(where)
        if not isinstance(data, dict):
            check.fail("", f"expected a JSON object, got {show(data)}")
        for key in ("version", "recipe_hash", "recipe", "splits"):
            if key not in data:
                check.fail(key, "missing")
        version, recipe_hash, recipe = data["version"], data["recipe_hash"], data["recipe"]
        if not isinstance(version, str) or not version:
            check.fail("version", f"expected a version string, got {show(version)}")
        if not isinstance(recipe_hash, str) or not _HEX.match(recipe_hash):
            check.fail("recipe_hash", f"expected a lowercase hex string, got {show(recipe_hash)}")
        check.recipe(recipe)
        epoch = data.get("epoch", 0)
        if type(epoch) is not int or epoch < 0:
            check.fail("epoch", f"expected an integer >= 0, got {show(epoch)}")
        stack = data.get("stack", {})
        if not isinstance(stack, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in stack.items()):
            check.fail("stack", f"expected an object of library names to version strings, got {show(stack)}")
        return cls(recipe=recipe, recipe_hash=recipe_hash, splits=check.splits(data["splits"]), version=version,
                   skipped=check.skipped(data.get("skipped", [])), epoch=epoch, stack=stack,
                   sources=check.sources(data.get("sources", {})))


class _Checker:
    """The checks of :meth:`Manifest.from_dict`, each failing with the file and key path."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, problem: str) -> None:
        raise ManifestError(self.where, key, problem)

    def name(self, key: str, value: Any, what: str) -> None:
        if not isinstance(value, str) or not SAFE_NAME.match(value):
            self.fail(key, f"{what} {show(value)} must be letters, digits, '_', '.', '-' (it names files)")

    def recipe(self, recipe: Any) -> None:
        if not isinstance(recipe, dict):
            self.fail("recipe", f"expected a mapping, got {show(recipe)}")
        if "name" not in recipe:
            self.fail("recipe.name", "missing")
        self.name("recipe.name", recipe["name"], "recipe name")
        outputs = recipe.get("outputs", {})
        if not isinstance(outputs, dict):
            self.fail("recipe.outputs", f"expected a mapping, got {show(outputs)}")
        for output in outputs:
            self.name("recipe.outputs", output, "output name")

    def splits(self, splits: Any) -> dict[str, list[ShardEntry]]:
        if not isinstance(splits, dict):
            self.fail("splits", f"expected a mapping of split name to shards, got {show(splits)}")
        out: dict[str, list[ShardEntry]] = {}
        seen: set[str] = set()
        for split, entries in splits.items():
            self.name("splits", split, "split name")
            if not isinstance(entries, list):
                self.fail(f"splits.{split}", f"expected a list of shards, got {show(entries)}")
            out[split] = [self.entry(f"splits.{split}[{i}]", split, e) for i, e in enumerate(entries)]
            for i, entry in enumerate(out[split]):
                if entry.path in seen:
                    self.fail(f"splits.{split}[{i}].path", f"{show(entry.path)} is listed twice")
                seen.add(entry.path)
        return out

    def entry(self, key: str, split: str, entry: Any) -> ShardEntry:
        names = [f.name for f in fields(ShardEntry)]
        if not isinstance(entry, dict):
            self.fail(key, f"expected a mapping with {', '.join(names)}, got {show(entry)}")
        missing = [n for n in names if n not in entry]
        unknown = sorted(str(k) for k in entry if k not in names)
        if missing or unknown:
            self.fail(key, "; ".join(filter(None, (f"missing {', '.join(missing)}" if missing else None,
                                                   f"unknown key(s) {show(', '.join(unknown))}" if unknown else None))))
        path, samples, size, sha256 = (entry[n] for n in names)
        parsed = parse_shard_path(path) if isinstance(path, str) else None
        if parsed is None or parsed.split != split:
            self.fail(f"{key}.path", f"expected {split}/<output>-NNNNNN.tar (output: letters, digits, "
                                     f"'_', '.', '-'), got {show(path)}")
        if not _is_int(samples) or samples < 1:
            self.fail(f"{key}.samples", f"expected an integer >= 1, got {show(samples)}")
        if not _is_int(size) or size < 0:
            self.fail(f"{key}.bytes", f"expected an integer >= 0, got {show(size)}")
        if not isinstance(sha256, str) or not _SHA256.match(sha256):
            self.fail(f"{key}.sha256", f"expected 64 lowercase hex digits, got {show(sha256)}")
        return ShardEntry(path, samples, size, sha256)

    def sources(self, sources: Any) -> dict[str, dict[str, Any]]:
        if not isinstance(sources, dict):
            self.fail("sources", f"expected a mapping of catalog to fingerprint, got {show(sources)}")
        for key, record in sources.items():
            digest = record.get("sha256") if isinstance(record, dict) else None
            if not isinstance(digest, str) or not _SHA256.match(digest):
                self.fail(f"sources.{key}", f"expected {{sha256: 64 lowercase hex digits, clips}}, got {show(record)}")
            clips = record.get("clips")
            if not isinstance(clips, dict) or not all(isinstance(k, str) and _is_int(v) for k, v in clips.items()):
                self.fail(f"sources.{key}.clips", f"expected a mapping of collection to count, got {show(clips)}")
        return dict(sources)

    def skipped(self, skipped: Any) -> list[dict[str, Any]]:
        if not isinstance(skipped, list):
            self.fail("skipped", f"expected a list, got {show(skipped)}")
        for i, item in enumerate(skipped):
            if not isinstance(item, dict):
                self.fail(f"skipped[{i}]", f"expected a mapping, got {show(item)}")
            for key in _SKIPPED_TEXT:
                if key in item and not isinstance(item[key], str):
                    self.fail(f"skipped[{i}].{key}", f"expected a string, got {show(item[key])}")
        return list(skipped)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def manifest_path(build_dir: str | os.PathLike[str]) -> Path:
    """``<build_dir>/manifest.json``, or ``build_dir`` itself when it names a manifest file."""
    path = Path(build_dir)
    return path / MANIFEST_NAME if path.is_dir() else path


def read_manifest(build_dir: str | os.PathLike[str]) -> Manifest:
    """Read and validate ``<build_dir>/manifest.json`` (or a manifest file given directly)."""
    path = manifest_path(build_dir)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ManifestMissingError(str(path), "no manifest (is this a build folder?)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(str(path), "", f"not valid JSON ({exc})") from None
    except OSError as exc:
        raise ManifestError(str(path), "", f"cannot be read ({exc.strerror or exc})") from None
    return Manifest.from_dict(data, str(path))


def write_manifest(build_dir: str | os.PathLike[str], manifest: Manifest) -> Path:
    """Validate, then write ``<build_dir>/manifest.json`` atomically (temporary file, fsync, rename)."""
    path = Path(build_dir) / MANIFEST_NAME
    data = manifest.to_dict()
    Manifest.from_dict(json.loads(json.dumps(data)), f"{path} (being written)")
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomically(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
