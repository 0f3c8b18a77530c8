"""Colour and matte frames pair by file stem, never by position (design: trust contracts)."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
from sources_helpers import alpha_frames, smooth_frames, write_frames, write_video

from rvm_data.sources import SourceError, SourcesConfig, build_catalog, load_matte
from rvm_data.sources.catalog import SkippedClip

H, W = 16, 24


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def _flat_alpha(value: int) -> np.ndarray:
    return np.full((H, W), value, np.uint8)


def _write_named(folder: Path, names_and_values: dict[str, int]) -> None:
    """Matte files whose every pixel is ``value``, so a read tells which file it came from."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, value in names_and_values.items():
        assert cv2.imwrite(str(folder / name), _flat_alpha(value))


def _assert_same_stems(clip) -> None:
    assert clip.alpha is not None and clip.alpha.frames == clip.color.frames == clip.frames
    assert [_stem(clip.color.frame_path(k)) for k in range(clip.frames)] == \
        [_stem(clip.alpha.frame_path(k)) for k in range(clip.frames)]


def test_consecutive_folders_with_other_extensions_stay_compact(tmp_path):
    root = tmp_path / "vm"
    write_frames(root / "fgr" / "c", smooth_frames(5, H, W), ".jpg", start=3)
    write_frames(root / "pha" / "c", alpha_frames(5, H, W), ".png", start=3)
    clip = build_catalog(SourcesConfig(str(root))).foregrounds[0]
    assert (clip.color.pattern, clip.color.first, clip.color.files) == ("{:05d}.jpg", 3, ())
    assert (clip.alpha.pattern, clip.alpha.first, clip.alpha.files) == ("{:05d}.png", 3, ())
    _assert_same_stems(clip)
    _, pha = load_matte(clip, [4, 0])
    np.testing.assert_array_equal(pha, alpha_frames(5, H, W)[[4, 0]])


def test_matte_frame_missing_in_the_middle_is_an_error_naming_folder_and_frames(tmp_path):
    root = tmp_path / "vm"
    write_frames(root / "fgr" / "c", smooth_frames(6, H, W), ".jpg")
    write_frames(root / "pha" / "c", alpha_frames(6, H, W), ".png")
    for t in (2, 4):
        (root / "pha" / "c" / f"{t:05d}.png").unlink()
    with pytest.raises(SourceError) as caught:
        build_catalog(SourcesConfig(str(root)))
    assert caught.value.path == str(root / "pha" / "c")
    assert "no matte for 2 of the 6 frames" in str(caught.value)
    assert "00002.jpg, 00004.jpg" in str(caught.value) and str(root / "fgr" / "c") in str(caught.value)


def test_extra_matte_frame_is_an_error_naming_the_colour_folder(tmp_path):
    root = tmp_path / "vm"
    write_frames(root / "fgr" / "c", smooth_frames(3, H, W), ".jpg")
    write_frames(root / "pha" / "c", alpha_frames(4, H, W), ".png")
    with pytest.raises(SourceError, match=r"no foreground frame for 1 of the 4 mattes .*: 00003\.png") as caught:
        build_catalog(SourcesConfig(str(root)))
    assert caught.value.path == str(root / "fgr" / "c")


def test_long_lists_of_missing_frames_show_the_first_few_and_a_count(tmp_path):
    root = tmp_path / "vm"
    write_frames(root / "fgr" / "c", smooth_frames(12, 4, 4), ".png")
    write_frames(root / "pha" / "c", alpha_frames(2, 4, 4), ".png")
    with pytest.raises(SourceError, match=r"no matte for 10 of the 12 frames .*: 00002\.png, 00003\.png, "
                                          r"00004\.png, 00005\.png, 00006\.png and 5 more$"):
        build_catalog(SourcesConfig(str(root)))


def test_skip_mode_skips_the_unpaired_clip_and_records_it(tmp_path):
    root = tmp_path / "vm"
    for name in ("bad", "good"):
        write_frames(root / "fgr" / name, smooth_frames(3, H, W), ".jpg")
        write_frames(root / "pha" / name, alpha_frames(3, H, W), ".png")
    (root / "pha" / "bad" / "00001.png").unlink()
    with pytest.warns(UserWarning, match=r"skipping clip 'bad': .*pha/bad: no matte for 1 of the 3 frames"):
        catalog = build_catalog(SourcesConfig(str(root), on_bad_clip="skip"))
    assert [c.name for c in catalog.foregrounds] == ["good"]
    [skipped] = catalog.skipped
    assert (skipped.collection, skipped.name, skipped.path) == ("foregrounds", "bad", str(root / "pha" / "bad"))
    assert "00001.jpg" in skipped.reason
    assert pickle.loads(pickle.dumps(skipped)) == skipped
    assert SkippedClip(**json.loads(json.dumps(dataclasses.asdict(skipped)))) == skipped


def test_unpadded_and_mixed_names_pair_by_stem(tmp_path):
    """fgr f1..f11 (natural order), pha the same stems in mixed extensions: each matte is its own frame's."""
    root = tmp_path / "vm"
    names = [f"f{t}" for t in range(1, 12)]
    _write_named(root / "fgr" / "c", {f"{name}.png": 128 for name in names})
    _write_named(root / "pha" / "c", {f"{name}{'.jpg' if t % 3 == 0 else '.png'}": 20 * t
                                      for t, name in enumerate(names, 1)})
    clip = build_catalog(SourcesConfig(str(root))).foregrounds[0]
    _assert_same_stems(clip)
    assert clip.color.files[:3] == ("f1.png", "f2.png", "f3.png") and clip.alpha.files[2] == "f3.jpg"
    _, pha = load_matte(clip, [10, 1, 2])
    assert [int(np.median(p)) for p in pha] == [220, 40, 60]


def test_gap_in_both_folders_pairs_the_frames_around_it(tmp_path):
    """Frame 2 missing on both sides: not consecutive, so listed, and still paired by name."""
    root = tmp_path / "vm"
    stems = ["00000", "00001", "00003", "00004"]
    _write_named(root / "fgr" / "c", {f"{s}.png": 0 for s in stems})
    _write_named(root / "pha" / "c", {f"{s}.png": 10 * int(s) for s in stems})
    clip = build_catalog(SourcesConfig(str(root))).foregrounds[0]
    assert clip.frames == 4 and clip.color.files == tuple(f"{s}.png" for s in stems)
    _assert_same_stems(clip)
    _, pha = load_matte(clip, [3, 2])
    assert [int(p.max()) for p in pha] == [40, 30]


def test_compact_colour_and_listed_matte_agree_on_every_stem(tmp_path):
    root = tmp_path / "vm"
    write_frames(root / "fgr" / "c", smooth_frames(4, H, W), ".jpg")
    _write_named(root / "pha" / "c", {"00000.png": 1, "00001.png": 2, "00002.PNG": 3, "00003.png": 4})
    clip = build_catalog(SourcesConfig(str(root))).foregrounds[0]
    assert clip.color.pattern == "{:05d}.jpg" and clip.alpha.files[2] == "00002.PNG"
    _assert_same_stems(clip)


def test_two_files_of_one_stem_are_an_error(tmp_path):
    root = tmp_path / "vm"
    write_frames(root / "fgr" / "c", smooth_frames(2, H, W), ".jpg")
    write_frames(root / "pha" / "c", alpha_frames(2, H, W), ".png")
    write_frames(root / "pha" / "c", alpha_frames(1, H, W), ".jpg", start=1)
    with pytest.raises(SourceError, match=r"pha/c: two files for frame '00001': 00001\.jpg, 00001\.png"):
        build_catalog(SourcesConfig(str(root)))


def test_frame_folder_with_video_matte_pairs_by_index_and_warns_on_counts(tmp_path):
    root = tmp_path / "vm"
    write_frames(root / "fgr" / "c", smooth_frames(4, H, W), ".png")
    write_video(root / "pha" / "c.mp4", alpha_frames(3, H, W))
    with pytest.warns(UserWarning, match=r"fgr/c: 4 foreground frames but 3 matte frames in .*pha/c\.mp4"):
        clip = build_catalog(SourcesConfig(str(root))).foregrounds[0]
    assert clip.frames == 3 and clip.alpha.kind == "video"
    fgr, pha = load_matte(clip, [2])
    np.testing.assert_array_equal(fgr[0], smooth_frames(4, H, W)[2])
    assert np.abs(pha[0].astype(int) - alpha_frames(3, H, W)[2]).max() <= 8
