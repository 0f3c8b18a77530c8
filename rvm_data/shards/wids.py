"""WebDataset ``wids`` shard lists beside the manifest: ``<out>/<split>/<output>.wids.json``.

``wids.ShardListDataset(path)`` reads a build's shards as they are through these (random access by
sample index, shards resolved relative to the index file). They hold only what the manifest already
says (shard file name, sample count, bytes), so they are rewritten from it whenever it changes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath

from rvm_data.shards.manifest import Manifest, read_manifest, shard_output

WIDS_SUFFIX = ".wids.json"


def wids_path(build_dir: str | os.PathLike, split: str, output: str) -> Path:
    """Where the shard list of one split and output lies: beside its shards."""
    return Path(build_dir) / split / f"{output}{WIDS_SUFFIX}"


def wids_index(manifest: Manifest, split: str, output: str) -> dict:
    """The ``wids-shard-index-v1`` description of one split/output (urls relative to ``<split>/``)."""
    shards = [{"url": PurePosixPath(e.path).name, "nsamples": e.samples, "filesize": e.bytes}
              for e in manifest.splits[split] if shard_output(e.path) == output]
    return {"__kind__": "wids-shard-index-v1", "wids_version": 1,
            "name": f"{manifest.recipe.get('name', 'rvm-data')}/{split}/{output}", "shardlist": shards}


def write_wids_indices(build_dir: str | os.PathLike, manifest: Manifest | None = None) -> list[Path]:
    """Write (atomically) one shard list per split and output of the build's manifest; stale ones of
    outputs the manifest no longer lists are removed. Returns the files written."""
    build_dir = Path(build_dir)
    manifest = manifest or read_manifest(build_dir)
    written = []
    for split, entries in manifest.splits.items():
        outputs = sorted({shard_output(e.path) for e in entries})
        for output in outputs:
            path = wids_path(build_dir, split, output)
            tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
            tmp.write_text(json.dumps(wids_index(manifest, split, output), indent=1) + "\n")
            os.replace(tmp, path)
            written.append(path)
        folder = build_dir / split
        for stale in folder.glob(f"*{WIDS_SUFFIX}") if folder.is_dir() else ():
            if stale.name[:-len(WIDS_SUFFIX)] not in outputs:
                stale.unlink()
    return written
