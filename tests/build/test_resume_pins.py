"""Pin of the README's resume promise: a rerun keeps a listed shard only when its size *and* sha256
still match the manifest; a shard altered without changing its size is rendered again, and the folder
ends byte-identical to a build that was never touched."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from build_helpers import folder_bytes

from rvm_data.build import build
from rvm_data.recipe import load_recipe
from rvm_data.shards import read_manifest


def flip_one_byte(path: Path, at: float) -> None:
    """Change one byte at fraction ``at`` of the file, keeping its size."""
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0x5A
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("shard, at", [("train/lr-000002.tar", 0.5), ("valid/lr-000001.tar", 0.05),
                                       ("train/hr-000000.tar", 0.99)])
def test_a_same_size_shard_with_a_wrong_sha256_is_rendered_again(tiny_recipe_path, reference_build, tmp_path,
                                                                  shard, at):
    out = tmp_path / "out"
    shutil.copytree(reference_build, out)
    entry = {e.path: e for entries in read_manifest(out).splits.values() for e in entries}[shard]
    flip_one_byte(out / shard, at)
    assert (out / shard).stat().st_size == entry.bytes
    assert hashlib.sha256((out / shard).read_bytes()).hexdigest() != entry.sha256

    summary = build(load_recipe(tiny_recipe_path), out, progress=False)
    assert (summary.rendered_shards, summary.kept_shards) == (1, summary.shards - 1)
    assert folder_bytes(out) == folder_bytes(reference_build)


def test_intact_shards_are_all_kept(tiny_recipe_path, reference_build, tmp_path):
    """The other side of the check: an untouched folder renders nothing."""
    out = tmp_path / "out"
    shutil.copytree(reference_build, out)
    summary = build(load_recipe(tiny_recipe_path), out, progress=False)
    assert (summary.rendered_shards, summary.kept_shards) == (0, summary.shards)
    assert folder_bytes(out) == folder_bytes(reference_build)
