"""Local builds: layout, manifest, workers, limits, splits, refusal of a different recipe."""

from __future__ import annotations

import hashlib
import re
import tarfile

import cv2
import numpy as np
import pytest
from build_helpers import folder_bytes

from rvm_data.build import BuildError, build, plan_jobs
from rvm_data.recipe import load_recipe
from rvm_data.shards import read_manifest, write_manifest
from rvm_data.stack import pixel_stack


def test_jobs_cover_every_sample_once(tiny_recipe_path):
    jobs = plan_jobs(load_recipe(tiny_recipe_path))
    assert [j.path for j in jobs[:6]] == [
        "train/lr-000000.tar", "train/lr-000001.tar", "train/lr-000002.tar", "train/lr-000003.tar",
        "train/lr-000004.tar", "train/hr-000000.tar"]
    assert sum(j.samples for j in jobs) == 10 + 3 + 3
    assert [(j.start, j.stop) for j in jobs if j.split == "valid"] == [(0, 2), (2, 3)]


def test_build_writes_shards_and_manifest(reference_build, tiny_recipe_path):
    recipe = load_recipe(tiny_recipe_path)
    manifest = read_manifest(reference_build)
    assert manifest.recipe_hash == recipe.hash and manifest.recipe == recipe.to_dict()
    assert [e.path for e in manifest.splits["valid"]] == ["valid/lr-000000.tar", "valid/lr-000001.tar"]
    assert manifest.totals()["all"] == {"shards": 9, "samples": 16,
                                        "bytes": sum(e.bytes for s in manifest.splits.values() for e in s)}
    for entries in manifest.splits.values():
        for entry in entries:
            data = (reference_build / entry.path).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry.sha256 and len(data) == entry.bytes
    with tarfile.open(reference_build / "train" / "lr-000001.tar") as tar:
        names = tar.getnames()
    assert names[0] == "000000002.bgr.0000.jpg" and "000000003.spec.json" in names
    assert "000000002.pha.0001.png" in names


def test_two_workers_give_the_same_bytes(reference_build, tiny_recipe_path, tmp_path):
    summary = build(load_recipe(tiny_recipe_path), tmp_path / "out", workers=2, progress=False)
    assert summary.rendered_shards == 9 and summary.runner == "2 workers"
    assert folder_bytes(tmp_path / "out") == folder_bytes(reference_build)


def test_rebuild_keeps_everything_and_repairs_a_damaged_shard(reference_build, tiny_recipe_path, tmp_path):
    out = tmp_path / "out"
    recipe = load_recipe(tiny_recipe_path)
    build(recipe, out, limit=3, splits=["train"], progress=False)
    manifest = read_manifest(out)
    assert list(manifest.splits) == ["train"]
    assert manifest.totals()["all"]["samples"] == 4 + 3  # the limit rounded up to whole shards of 2
    (out / "train" / "hr-000000.tar").write_bytes(b"damaged")
    summary = build(recipe, out, progress=False)
    assert summary.kept_shards == 3 and summary.rendered_shards == 6  # lr-000000/1 and hr-000001 kept
    assert folder_bytes(out) == folder_bytes(reference_build)
    again = build(recipe, out, progress=False)
    assert again.rendered_shards == 0 and again.kept_shards == 9 and "nothing rendered" in again.line()
    assert "6 shards (20 frames)" in summary.line() and "3 kept from before" in summary.line()


def test_a_different_recipe_is_refused(reference_build, tiny_recipe_path, tmp_path):
    out = tmp_path / "out"
    build(load_recipe(tiny_recipe_path), out, limit=1, progress=False)
    changed = load_recipe(tiny_recipe_path, ["outputs.lr.compose.frames=3"])
    with pytest.raises(BuildError, match=r"another recipe.*outputs\.lr\.compose\.frames.*new --out"):
        build(changed, out, progress=False)


def test_a_build_by_another_version_is_refused(tiny_recipe_path, tmp_path):
    out = tmp_path / "out"
    build(load_recipe(tiny_recipe_path), out, limit=1, progress=False)
    manifest = read_manifest(out)
    manifest.version = "0.0.1"
    write_manifest(out, manifest)
    with pytest.raises(BuildError, match=r"built by rvm_data 0\.0\.1"):
        build(load_recipe(tiny_recipe_path), out, progress=False)


def test_a_build_made_with_other_libraries_is_refused_and_kept(tiny_recipe_path, tmp_path):
    """The manifest records what made the bytes; a rerun with another OpenCV (or numpy, FFmpeg, machine
    kind...) would add shards a clean build here would not write, so it is refused, the folder untouched."""
    out = tmp_path / "out"
    build(load_recipe(tiny_recipe_path), out, limit=1, progress=False)
    manifest = read_manifest(out)
    assert manifest.stack == pixel_stack() and {"numpy", "opencv", "av", "ffmpeg", "machine"} <= set(manifest.stack)
    manifest.stack = {**manifest.stack, "opencv": "4.9.0"}
    write_manifest(out, manifest)
    before = folder_bytes(out)
    with pytest.raises(BuildError, match=rf"made with opencv 4\.9\.0 \(here {re.escape(cv2.__version__)}\).*new --out"):
        build(load_recipe(tiny_recipe_path), out, progress=False)
    assert folder_bytes(out) == before


def test_an_epoch_is_made_with_the_libraries_of_epoch_zero(tiny_recipe_path, tmp_path):
    """A training run reads epoch 0 and then the later epochs: an epoch made on another stack would give it
    samples of two; refused before its folder is made."""
    out = tmp_path / "out"
    build(load_recipe(tiny_recipe_path), out, limit=1, progress=False)
    manifest = read_manifest(out)
    manifest.stack = {**manifest.stack, "numpy": "1.26.4"}
    write_manifest(out, manifest)
    expected = rf"\(epoch 0\) was made with numpy 1\.26\.4 \(here {re.escape(np.__version__)}\).*where epoch 0 was"
    with pytest.raises(BuildError, match=expected):
        build(load_recipe(tiny_recipe_path), out, limit=1, progress=False, epoch=1)
    assert not (out / "epochs").exists()


def test_unknown_split_and_bad_arguments(tiny_recipe_path, tmp_path):
    recipe = load_recipe(tiny_recipe_path)
    with pytest.raises(BuildError, match="no split 'test'"):
        build(recipe, tmp_path, splits=["test"], progress=False)
    with pytest.raises(BuildError, match="--workers"):
        build(recipe, tmp_path, workers=0, progress=False)
