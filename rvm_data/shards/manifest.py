"""manifest.json: what a build folder holds (recipe, version, every shard's count, size and sha256)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rvm_data import __version__

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class ShardEntry:
    """One shard: ``path`` relative to the build folder, e.g. ``train/vm_stage1-000000.tar``."""

    path: str
    samples: int
    bytes: int
    sha256: str


def shard_output(path: str) -> str:
    """The output a shard belongs to, from its file name ``<output>-NNNNNN.tar`` (stage 3 has lr and hr)."""
    return Path(path).name.rsplit("-", 1)[0]


@dataclass
class Manifest:
    """Contents of ``<out>/manifest.json``; ``splits`` maps a split name to its shards in order."""

    recipe: dict[str, Any]
    recipe_hash: str
    splits: dict[str, list[ShardEntry]] = field(default_factory=dict)
    version: str = __version__

    def totals(self) -> dict[str, dict[str, int]]:
        """Shards, samples and bytes per split and over all splits (key ``"all"``)."""
        out = {name: {"shards": len(entries), "samples": sum(e.samples for e in entries),
                      "bytes": sum(e.bytes for e in entries)} for name, entries in self.splits.items()}
        out["all"] = {k: sum(v[k] for v in out.values()) for k in ("shards", "samples", "bytes")}
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "recipe_hash": self.recipe_hash, "recipe": self.recipe,
                "splits": {name: [asdict(e) for e in entries] for name, entries in self.splits.items()},
                "totals": self.totals()}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "manifest") -> "Manifest":
        try:
            splits = {name: [ShardEntry(**e) for e in entries] for name, entries in data["splits"].items()}
            return cls(recipe=data["recipe"], recipe_hash=data["recipe_hash"], splits=splits,
                       version=data["version"])
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{where}: malformed manifest ({type(exc).__name__}: {exc})") from None


def read_manifest(build_dir: str | os.PathLike) -> Manifest:
    """Read ``<build_dir>/manifest.json`` (or a manifest file given directly)."""
    path = Path(build_dir)
    if path.is_dir():
        path = path / MANIFEST_NAME
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no manifest (is this a build folder?)") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    return Manifest.from_dict(data, str(path))


def write_manifest(build_dir: str | os.PathLike, manifest: Manifest) -> Path:
    """Write ``<build_dir>/manifest.json`` atomically (temporary file, fsync, rename)."""
    path = Path(build_dir) / MANIFEST_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{MANIFEST_NAME}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w") as f:
            json.dump(manifest.to_dict(), f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
