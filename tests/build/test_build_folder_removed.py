"""A build folder removed while its build runs (another process, e.g. --keep-epochs deleting an old epoch):
the build stops with one line naming the folder and leaves nothing where it was, never a folder made
again halfway whose manifest lists shards that are not there."""

from __future__ import annotations

import shutil

import pytest

import rvm_data.build as build_module
from rvm_data.build import FolderError, build
from rvm_data.cli import main
from rvm_data.recipe import load_recipe
from rvm_data.shards import read_manifest
from rvm_data.shards.layout import built_epochs, epoch_root

REMOVED = "removed while the build was writing it"


def _remove_before_second_job(monkeypatch, wrapped: str, during_sample: bool = False) -> None:
    """Remove the folder as the second job starts: before its worker looks (``_tagged``), after it looked
    (``render_shard``, whose shard writer then makes the folder again), or at its first sample."""
    real = getattr(build_module, wrapped)
    jobs: list[str] = []

    def removing(job, recipe, catalog, out_dir, on_sample=None):
        jobs.append(job.path)
        if len(jobs) != 2:
            return real(job, recipe, catalog, out_dir, on_sample)
        if not during_sample:
            shutil.rmtree(out_dir)
            return real(job, recipe, catalog, out_dir, on_sample)

        def remove_then_tick() -> None:
            shutil.rmtree(out_dir, ignore_errors=True)
            if on_sample:
                on_sample()
        return real(job, recipe, catalog, out_dir, remove_then_tick)

    monkeypatch.setattr(build_module, wrapped, removing)


@pytest.mark.parametrize("wrapped, during_sample", [("_tagged", False), ("render_shard", False),
                                                    ("render_shard", True)])
def test_a_folder_removed_mid_build_is_one_error_and_stays_removed(tiny_recipe_path, tmp_path, monkeypatch,
                                                                  wrapped, during_sample):
    out = tmp_path / "out"
    _remove_before_second_job(monkeypatch, wrapped, during_sample)
    with pytest.raises(FolderError, match=rf"^{out}: .*{REMOVED}"):
        build(load_recipe(tiny_recipe_path), out, limit=2, progress=False)
    assert not out.exists()


def test_an_epoch_removed_mid_build_leaves_its_build_as_it_was(tiny_recipe_path, tmp_path, monkeypatch, capsys):
    root = tmp_path / "out"
    build(load_recipe(tiny_recipe_path), root, limit=2, progress=False)
    zero = read_manifest(root)
    _remove_before_second_job(monkeypatch, "render_shard", during_sample=True)
    assert main(["build", str(root), "--epochs", "1", "--limit", "2", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{epoch_root(root, 1)}: " in err and REMOVED in err
    assert not epoch_root(root, 1).exists() and built_epochs(root) == [] and read_manifest(root) == zero
