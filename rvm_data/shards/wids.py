"""WebDataset ``wids`` shard lists beside the manifest: ``<out>/<split>/<output>.wids.json``.

``wids.ShardListDataset(path)`` reads a build's shards as they are through these (random access by
sample index, shards resolved relative to the index file). They hold only what the manifest already
says (shard file name, sample count, bytes), so they are rewritten from it whenever it changes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rvm_data.shards.folder import BuildFolder
from rvm_data.shards.layout import WIDS_SUFFIX, shard_url, wids_output, wids_path, write_atomically
from rvm_data.shards.manifest import Manifest

__all__ = ["WIDS_SUFFIX", "wids_index", "wids_path", "write_wids_indices"]


def wids_index(manifest: Manifest, split: str, output: str) -> dict[str, Any]:
    """The ``wids-shard-index-v1`` description of one split/output (urls relative to ``<split>/``)."""
    folder = BuildFolder("", manifest)
    shards = [{"url": shard_url(e.path), "nsamples": e.samples, "filesize": e.bytes}
              for e in folder.entries(split, output)]
    return {"__kind__": "wids-shard-index-v1", "wids_version": 1,
            "name": f"{folder.recipe.name or 'rvm-data'}/{split}/{output}", "shardlist": shards}


def write_wids_indices(build_dir: str | os.PathLike[str], manifest: Manifest | None = None) -> list[Path]:
    """Write (atomically) one shard list per split and output of the build's manifest; stale ones of
    outputs the manifest no longer lists are removed. Returns the files written."""
    build = BuildFolder(build_dir, manifest)
    written = []
    for split in build.splits:
        outputs = build.outputs(split)
        for output in outputs:
            path = wids_path(build.root, split, output)
            text = json.dumps(wids_index(build.manifest, split, output), indent=1) + "\n"
            written.append(write_atomically(path, text))
        folder = build.root / split
        for stale in folder.glob(f"*{WIDS_SUFFIX}") if folder.is_dir() else ():
            if wids_output(stale.name) not in outputs:
                stale.unlink()
    return written
