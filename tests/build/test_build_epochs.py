"""Epochs of a recipe's sample space: epoch e >= 1 draws every train sample afresh, as a pure function
of (recipe, output, split, epoch, index), into a build folder of its own; epoch 0 is the build as always."""

from __future__ import annotations

import argparse
import json
import shutil
import tarfile

import pytest
from build_helpers import folder_bytes

from rvm_data.build import BuildError, build
from rvm_data.cli import main
from rvm_data.cli.build import epoch_range
from rvm_data.recipe import load_recipe
from rvm_data.shards import read_manifest
from rvm_data.shards.layout import built_epochs, epoch_root


def _specs(folder, split="train", output="lr") -> list[dict]:
    specs = []
    for entry in read_manifest(folder).splits[split]:
        if entry.path.startswith(f"{split}/{output}-"):
            with tarfile.open(folder / entry.path) as tar:
                specs += [json.loads(tar.extractfile(m).read()) for m in tar.getmembers()
                          if m.name.endswith(".spec.json")]
    return specs


def test_an_epoch_is_its_own_folder_of_fresh_train_samples(tiny_recipe_path, reference_build, tmp_path):
    recipe = load_recipe(tiny_recipe_path)
    out = tmp_path / "out"
    shutil.copytree(reference_build, out)  # an epoch >= 1 is more of a build: its epoch 0 is there first
    summary = build(recipe, out, epoch=2, progress=False)
    folder = epoch_root(out, 2)
    assert folder == out / "epochs" / "0002" and summary.out_dir == folder
    manifest = read_manifest(folder)
    assert manifest.epoch == 2 and list(manifest.splits) == ["train"]  # validation stays epoch 0's
    assert manifest.totals()["all"]["samples"] == 10 + 3
    assert json.loads((folder / "manifest.json").read_text())["epoch"] == 2
    assert "epoch" not in json.loads((reference_build / "manifest.json").read_text())  # epoch 0 as always
    assert built_epochs(out) == [2]

    fresh, first = _specs(folder), _specs(reference_build)
    assert len(fresh) == len(first) == 10
    assert all(a["fgr"] != b["fgr"] or a["clock"] != b["clock"] for a, b in zip(fresh, first, strict=True))
    # the same epoch again, on two workers: the same bytes
    again = tmp_path / "again"
    shutil.copytree(reference_build, again)
    build(recipe, again, epoch=2, workers=2, progress=False)
    assert folder_bytes(epoch_root(again, 2)) == folder_bytes(folder)


def test_epochs_are_never_mixed(tiny_recipe_path, tmp_path):
    recipe = load_recipe(tiny_recipe_path)
    out = tmp_path / "out"
    build(recipe, out, limit=2, progress=False)
    build(recipe, out, epoch=1, limit=2, progress=False)
    with pytest.raises(BuildError, match="holds epoch 1 of the recipe's samples, not epoch 0"):
        build(recipe, epoch_root(out, 1), progress=False)
    with pytest.raises(BuildError, match="hold the 'train' split only"):
        build(recipe, out, epoch=1, splits=["valid"], progress=False)


def test_epoch_ranges_read_like_slices() -> None:
    assert epoch_range("0:3") == range(3) and epoch_range("4") == range(4, 5)
    for bad in ("3:1", "-1:2", "a", "1:"):
        with pytest.raises(argparse.ArgumentTypeError):
            epoch_range(bad)


def test_the_cli_builds_a_range_of_epochs(tiny_recipe_path, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["build", str(tiny_recipe_path), "--out", str(out), "--epochs", "0:3", "--limit", "2",
                 "--no-progress"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [str(out), str(out / "epochs" / "0001"),
                                                      str(out / "epochs" / "0002")]
    assert built_epochs(out) == [1, 2]


def test_a_build_folder_builds_more_of_the_recipe_it_records(tiny_recipe_path, tmp_path, capsys):
    out = tmp_path / "out"
    build(load_recipe(tiny_recipe_path), out, limit=2, progress=False)
    assert main(["build", str(out), "--epochs", "1", "--limit", "2", "--no-progress"]) == 0
    assert read_manifest(epoch_root(out, 1)).recipe_hash == read_manifest(out).recipe_hash
    capsys.readouterr()
    assert main(["build", str(out), "--set", "seed=3"]) == 2
    assert "--set would make another recipe" in capsys.readouterr().err
