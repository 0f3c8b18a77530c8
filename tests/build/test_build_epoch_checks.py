"""What a build of epochs refuses before it writes anything: epochs of another recipe or rvm_data than
epoch 0's, epochs beyond the folder names' four digits, and a range one of whose epochs is refused."""

from __future__ import annotations

import argparse

import pytest
from build_helpers import folder_bytes

from rvm_data.build import BuildError, build
from rvm_data.cli import main
from rvm_data.cli.build import epoch_range
from rvm_data.recipe import load_recipe
from rvm_data.shards import read_manifest, write_manifest
from rvm_data.shards.layout import built_epochs, epoch_root


@pytest.fixture
def epoch_zero(tiny_recipe_path, tmp_path):
    """A folder holding epoch 0 of the tiny recipe (its first shards only: fast)."""
    out = tmp_path / "out"
    build(load_recipe(tiny_recipe_path), out, limit=1, progress=False)
    return out


@pytest.mark.parametrize("overrides, differing", [(["seed=12"], "seed"),
                                                  (["outputs.lr.compose.size=[48,48]"], r"outputs\.lr\.compose\.size")])
def test_an_epoch_of_another_recipe_is_refused_and_nothing_written(tiny_recipe_path, epoch_zero, overrides,
                                                                   differing):
    before = folder_bytes(epoch_zero)
    with pytest.raises(BuildError, match=rf"{epoch_zero} \(epoch 0\) holds a build of another recipe.*{differing}"):
        build(load_recipe(tiny_recipe_path, overrides), epoch_zero, limit=1, progress=False, epoch=1)
    assert folder_bytes(epoch_zero) == before and not (epoch_zero / "epochs").exists()


def test_an_epoch_by_another_rvm_data_is_refused(tiny_recipe_path, epoch_zero):
    manifest = read_manifest(epoch_zero)
    manifest.version = "0.0.1"
    write_manifest(epoch_zero, manifest)
    with pytest.raises(BuildError, match=r"\(epoch 0\) was built by rvm_data 0\.0\.1"):
        build(load_recipe(tiny_recipe_path), epoch_zero, limit=1, progress=False, epoch=1)
    assert not (epoch_zero / "epochs").exists()


def test_an_epoch_without_epoch_zero_is_refused(tiny_recipe_path, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(BuildError, match=rf"{out} has no epoch 0 yet.*--epochs 0:3"):
        build(load_recipe(tiny_recipe_path), out, limit=1, progress=False, epoch=2)
    assert not out.exists()


def test_the_cli_refuses_an_epoch_of_another_recipe_in_one_line(tiny_recipe_path, epoch_zero, capsys):
    assert main(["build", str(tiny_recipe_path), "--out", str(epoch_zero), "--epochs", "1", "--set", "seed=12",
                 "--limit", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another recipe" in err and built_epochs(epoch_zero) == []


def test_epochs_are_at_most_four_digits(tiny_recipe_path, tmp_path):
    assert epoch_range("9999") == range(9999, 10000) and epoch_range("0:10000") == range(10000)
    for bad in ("10000", "9999:10001", "99999999999999999999999"):
        with pytest.raises(argparse.ArgumentTypeError, match=r"epochs are 0 to 9999"):
            epoch_range(bad)
    with pytest.raises(BuildError, match=r"epochs are 0 to 9999"):
        build(load_recipe(tiny_recipe_path), tmp_path / "out", progress=False, epoch=10**4)
    assert not (tmp_path / "out").exists()


def test_a_range_with_a_refused_epoch_builds_none_of_it(tiny_recipe_path, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["build", str(tiny_recipe_path), "--out", str(out), "--epochs", "0:3", "--split", "valid",
                 "--no-progress"]) == 2
    assert "hold the 'train' split only" in capsys.readouterr().err
    assert not out.exists()


def test_a_range_builds_epoch_zero_first_and_the_rest_against_it(tiny_recipe_path, tmp_path):
    out = tmp_path / "out"
    assert main(["build", str(tiny_recipe_path), "--out", str(out), "--epochs", "0:3", "--limit", "1",
                 "--no-progress"]) == 0
    assert built_epochs(out) == [1, 2]
    assert read_manifest(epoch_root(out, 2)).recipe_hash == read_manifest(out).recipe_hash
