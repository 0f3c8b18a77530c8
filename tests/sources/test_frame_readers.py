from __future__ import annotations

import pickle

import numpy as np
import pytest
from sources_helpers import alpha_frames, smooth_frames, videomatte, write_frames

from rvm_data.sources import SourceError, SourcesConfig, build_catalog, load_background, load_matte


@pytest.fixture()
def fg_root(tmp_path):
    clips = {"a": (smooth_frames(4, 48, 64, 1), alpha_frames(4, 48, 64)),
             "b": (smooth_frames(3, 40, 56, 2), alpha_frames(3, 40, 56))}
    return videomatte(tmp_path / "vm", clips, fgr_ext=".png")


def test_catalog_indexes_frame_folders_and_is_picklable(fg_root, tmp_path):
    write_frames(tmp_path / "bgv" / "clip1", smooth_frames(3, 36, 60, 3), ".jpg", start=7)
    write_frames(tmp_path / "bgi" / "sub", smooth_frames(2, 30, 20, 4), ".jpg")
    catalog = build_catalog(SourcesConfig(str(fg_root), background_videos=str(tmp_path / "bgv"),
                                          background_images=str(tmp_path / "bgi")))
    assert [(c.name, c.frames, c.height, c.width) for c in catalog.foregrounds] == [("a", 4, 48, 64), ("b", 3, 40, 56)]
    assert [(c.name, c.frames) for c in catalog.background_videos] == [("clip1", 3)]
    assert [(c.name, c.frames, c.height, c.width) for c in catalog.background_images] == [
        ("sub/00000", 1, 30, 20), ("sub/00001", 1, 30, 20)]
    assert catalog.skipped == []
    assert pickle.loads(pickle.dumps(catalog)) == catalog
    assert len(pickle.dumps(catalog)) < 4000


def test_window_with_duplicates_and_any_order_equals_full_read(fg_root):
    clip = build_catalog(SourcesConfig(str(fg_root))).foregrounds[0]
    fgr_all, pha_all = load_matte(clip, range(clip.frames))
    assert fgr_all.shape == (4, 48, 64, 3) and pha_all.shape == (4, 48, 64, 1)
    assert fgr_all.dtype == np.uint8 and fgr_all.flags.c_contiguous and pha_all.flags.c_contiguous
    np.testing.assert_array_equal(fgr_all, smooth_frames(4, 48, 64, 1))
    np.testing.assert_array_equal(pha_all, alpha_frames(4, 48, 64))
    order = [3, 1, 1, 0, 3, 2]
    fgr, pha = load_matte(clip, order)
    np.testing.assert_array_equal(fgr, fgr_all[order])
    np.testing.assert_array_equal(pha, pha_all[order])


def test_background_frames_from_pattern_with_offset(tmp_path):
    frames = smooth_frames(3, 36, 60, 3)
    write_frames(tmp_path / "fg" / "fgr" / "x", frames, ".png")
    write_frames(tmp_path / "fg" / "pha" / "x", alpha_frames(3, 36, 60), ".png")
    write_frames(tmp_path / "bgv" / "clip1", frames, ".png", start=7)
    sources = SourcesConfig(str(tmp_path / "fg"), background_videos=str(tmp_path / "bgv"))
    clip = build_catalog(sources).background_videos[0]
    assert clip.color.pattern == "{:05d}.png" and clip.color.first == 7
    np.testing.assert_array_equal(load_background(clip, [2, 0]), frames[[2, 0]])


def test_min_size_decodes_reduced_but_never_below(fg_root):
    clip = build_catalog(SourcesConfig(str(fg_root))).foregrounds[0]
    fgr, pha = load_matte(clip, [0, 1], min_size=(20, 30))
    assert fgr.shape[1:3] == pha.shape[1:3]
    assert 20 <= fgr.shape[1] <= 24 and 30 <= fgr.shape[2] <= 32
    fgr, _ = load_matte(clip, [0], min_size=(30, 30))
    assert fgr.shape[1:3] == (48, 64)


def test_out_of_range_index_names_the_clip(fg_root):
    clip = build_catalog(SourcesConfig(str(fg_root))).foregrounds[0]
    with pytest.raises(SourceError, match="'a'"):
        load_matte(clip, [0, 4])
    with pytest.raises(ValueError):
        load_matte(clip, [])
