"""A catalog's fingerprint: the same for the same files anywhere, another for a clip more, fewer frames or
another file; segmentation catalogs too."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sources_helpers import alpha_frames, smooth_frames, videomatte, write_video

from rvm_data.kinds import KINDS
from rvm_data.recipe import load_recipe
from rvm_data.segmentation.readers import SegCatalog
from rvm_data.sources import SourcesConfig, build_catalog
from rvm_data.sources.fingerprint import fingerprint


def _sources(root: Path, frames: int = 3) -> Path:
    clips = {f"clip{c}": (smooth_frames(frames, 16, 20, seed=c), alpha_frames(frames, 16, 20)) for c in range(2)}
    videomatte(root / "vm", clips)
    write_video(root / "bgv" / "video0.mp4", smooth_frames(4, 16, 20, seed=9))
    return root


def _fingerprint(root: Path) -> dict:
    return fingerprint(build_catalog(SourcesConfig(foreground=str(root / "vm"), background_videos=str(root / "bgv"))))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _sources(tmp_path_factory.mktemp("data"))


def test_the_same_files_anywhere_have_one_fingerprint(data, tmp_path):
    first = _fingerprint(data)
    assert first["clips"] == {"foregrounds": 2, "background_videos": 1, "background_images": 0}
    assert len(first["sha256"]) == 64
    moved = tmp_path / "elsewhere" / "deeper"
    shutil.copytree(data, moved)
    assert _fingerprint(moved) == first


@pytest.mark.parametrize("change", ["clip removed", "frame removed", "video renamed"])
def test_another_clip_list_has_another_fingerprint(data, tmp_path, change):
    copy = tmp_path / "copy"
    shutil.copytree(data, copy)
    if change == "clip removed":
        for kind in ("fgr", "pha"):
            shutil.rmtree(copy / "vm" / kind / "clip1")
    elif change == "frame removed":
        for kind, ext in (("fgr", "jpg"), ("pha", "png")):
            (copy / "vm" / kind / "clip0" / f"00002.{ext}").unlink()
    else:
        (copy / "bgv" / "video0.mp4").rename(copy / "bgv" / "video1.mp4")
    assert _fingerprint(copy)["sha256"] != _fingerprint(data)["sha256"]


def test_a_segmentation_catalogs_fingerprint_tells_its_items_and_their_order():
    recipe = load_recipe(Path(__file__).parents[2] / "recipes" / "quickstart.yaml")  # the built-in set's
    assert recipe.segmentation is not None
    split = next(iter(recipe.segmentation.sources))
    catalog = KINDS["segmentation"].catalog(recipe, split)
    record = fingerprint(catalog)
    assert record["clips"] == {"items": len(catalog.items)} and len(record["sha256"]) == 64
    assert fingerprint(SegCatalog(catalog.items[:-1]))["sha256"] != record["sha256"]  # an item fewer
    assert fingerprint(SegCatalog(catalog.items[::-1]))["sha256"] != record["sha256"]  # another order draws others
