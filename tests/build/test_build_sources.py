"""A build adds shards only when drawn from the sources its shards (and epoch 0's) were drawn from: a resume,
more epochs or a background build reading a recipe's relative paths from another working directory, over a
dataset with a clip more or less, is refused before anything is written; the same data moved is not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from build_helpers import folder_bytes, tiny_recipe_data, write_tiny_sources

from rvm_data.build import BuildError, build
from rvm_data.recipe import load_recipe
from rvm_data.shards import read_manifest


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_tiny_sources(root)
    return root


def _relative_recipe(where: Path) -> Path:
    """The tiny recipe with its sources written relative to the working directory: ``data/vm/train`` ..."""
    recipe = tiny_recipe_data(Path("data"))
    path = where / "tiny.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def _workdir(tmp_path: Path, name: str, data: Path, drop_clip: bool = False) -> Path:
    """A working directory holding a copy of the sources as ``data/`` (``drop_clip``: one clip fewer)."""
    workdir = tmp_path / name
    shutil.copytree(data, workdir / "data")
    if drop_clip:
        for kind in ("fgr", "pha"):
            shutil.rmtree(workdir / "data" / "vm" / "train" / kind / "clip1")
    return workdir


def test_a_resume_over_other_sources_is_refused_and_writes_nothing(data, tmp_path, monkeypatch):
    recipe = _relative_recipe(tmp_path)
    out = tmp_path / "out"
    monkeypatch.chdir(_workdir(tmp_path, "first", data))
    build(load_recipe(recipe), out, limit=1, progress=False)  # a part, to be resumed
    recorded = read_manifest(out).sources
    assert sorted(recorded) == ["train", "valid"] and recorded["train"]["clips"] == {
        "foregrounds": 2, "background_videos": 1, "background_images": 2}
    before = folder_bytes(out)
    elsewhere = _workdir(tmp_path, "second", data, drop_clip=True)
    monkeypatch.chdir(elsewhere)
    refusal = (rf"{out}: its 'train' shards were drawn from other sources than the recipe's paths hold now "
               r"\(background images 2, background videos 1, foregrounds 2 then; background images 2, background "
               rf"videos 1, foregrounds 1 now\).*working directory, now {elsewhere}\), or build into a new --out DIR")
    with pytest.raises(BuildError, match=refusal):
        build(load_recipe(recipe), out, progress=False)
    assert folder_bytes(out) == before


def test_the_same_sources_elsewhere_resume_the_build(data, tmp_path, monkeypatch):
    recipe = _relative_recipe(tmp_path)
    out = tmp_path / "out"
    monkeypatch.chdir(_workdir(tmp_path, "first", data))
    build(load_recipe(recipe), out, limit=1, progress=False)
    monkeypatch.chdir(_workdir(tmp_path, "moved", data))  # the same files under another folder
    summary = build(load_recipe(recipe), out, progress=False)
    assert summary.kept_shards >= 1 and summary.shards == summary.kept_shards + summary.rendered_shards


def test_an_epoch_over_other_sources_than_epoch_zeros_is_refused_and_leaves_no_folder(data, tmp_path, monkeypatch):
    recipe = _relative_recipe(tmp_path)
    out = tmp_path / "out"
    monkeypatch.chdir(_workdir(tmp_path, "first", data))
    build(load_recipe(recipe), out, limit=1, progress=False)
    monkeypatch.chdir(_workdir(tmp_path, "second", data, drop_clip=True))
    with pytest.raises(BuildError, match=r"0001: epoch 0's 'train' shards were drawn from other sources"):
        build(load_recipe(recipe), out, limit=1, progress=False, epoch=1)
    assert not (out / "epochs" / "0001").exists()


def _built_before_fingerprints(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(recipe, folder): part of a build whose manifest records no sources, as rvm-data wrote it before it did."""
    recipe = _relative_recipe(tmp_path)
    out = tmp_path / "out"
    monkeypatch.chdir(_workdir(tmp_path, "first", data))
    build(load_recipe(recipe), out, limit=1, progress=False)
    manifest = out / "manifest.json"
    record = json.loads(manifest.read_text())
    del record["sources"]
    manifest.write_text(json.dumps(record))
    return recipe, out


def test_a_folder_made_before_fingerprints_resumes_with_a_warning_and_is_not_vouched_for(data, tmp_path, monkeypatch):
    recipe, out = _built_before_fingerprints(data, tmp_path, monkeypatch)
    monkeypatch.chdir(_workdir(tmp_path, "second", data, drop_clip=True))
    with pytest.warns(UserWarning, match=rf"{out}: its manifest records no fingerprint of the sources .* not checked"):
        build(load_recipe(recipe), out, progress=False)
    assert read_manifest(out).sources == {}  # what it was drawn from is still unknown: no fingerprint vouches for it


def test_an_epoch_over_an_epoch_zero_without_fingerprints_is_built_with_a_warning_and_records_its_own(data, tmp_path,
                                                                                                     monkeypatch):
    recipe, out = _built_before_fingerprints(data, tmp_path, monkeypatch)
    with pytest.warns(UserWarning, match=rf"{out / 'epochs' / '0001'}: epoch 0's manifest records no fingerprint"):
        build(load_recipe(recipe), out, limit=1, progress=False, epoch=1)
    assert read_manifest(out / "epochs" / "0001").sources["train"]["clips"]["foregrounds"] == 2  # its own shards'
