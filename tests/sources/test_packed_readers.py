"""The packed readers (colour and alpha side by side in one h×w×4 frame, the warp's layout, one distinct frame at
a time) give exactly the frames of the plain readers, for every kind of source and reduction, each with the
positions that show it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from sources_helpers import alpha_frames, smooth_frames, videomatte, write_frames

from rvm_data.sources import SourceError, SourcesConfig, build_catalog, load_background, load_matte
from rvm_data.sources.readers import iter_background_packed, iter_matte_packed

FRAMES, H, W = 6, 40, 64
INDICES = [4, 0, 2, 2, 5]


def _interleaved(color: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """What the warp interleaved before the packed readers: RGB then alpha (255 without one)."""
    fourth = np.full((*color.shape[:3], 1), 255, np.uint8) if alpha is None else alpha
    return np.concatenate([color, fourth], axis=3)


def _stacked(frames) -> np.ndarray:
    """The packed frames in the order ``indices`` asks (each copied out of the reused buffer), checking that
    every position is given exactly once and every frame in one reused buffer (memory does not grow with the
    window)."""
    out: dict[int, np.ndarray] = {}
    buffers = set()
    for positions, packed in frames:
        buffers.add(packed.__array_interface__["data"][0])
        assert packed.flags["C_CONTIGUOUS"] and packed.shape[-1] == 4
        for position in positions.tolist():
            assert position not in out
            out[position] = packed.copy()
    assert sorted(out) == list(range(len(out))) and len(buffers) == 1
    return np.stack([out[i] for i in range(len(out))])


def _matte_catalog(root: Path, **kwargs) -> object:
    clips = {"a": (smooth_frames(FRAMES, H, W), alpha_frames(FRAMES, H, W))}
    return build_catalog(SourcesConfig(str(videomatte(root, clips, **kwargs))))


@pytest.mark.parametrize("kwargs", [{}, {"fgr_ext": ".png"}, {"video": True}], ids=["jpg", "png", "mp4"])
@pytest.mark.parametrize("min_size", [None, (20, 32), (5, 8)])
def test_packed_matte_is_colour_then_alpha(tmp_path: Path, kwargs: dict, min_size: tuple[int, int] | None) -> None:
    clip = _matte_catalog(tmp_path, **kwargs).foregrounds[0]
    color, alpha = load_matte(clip, INDICES, min_size=min_size)
    assert np.array_equal(_stacked(iter_matte_packed(clip, INDICES, min_size=min_size)), _interleaved(color, alpha))


def test_packed_matte_of_a_mixed_size_clip_and_of_rgba_stills(tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    fgr, pha = smooth_frames(FRAMES, H, W), alpha_frames(FRAMES, H, W)
    write_frames(root / "fgr" / "a", fgr, ".jpg")
    write_frames(root / "pha" / "a", pha, ".png")
    big = cv2.resize(cv2.cvtColor(fgr[3], cv2.COLOR_RGB2BGR), (W * 2, H * 2))
    cv2.imwrite(str(root / "fgr" / "a" / "00003.jpg"), big)  # one frame of another size: fitted to the rest
    clip = build_catalog(SourcesConfig(str(root))).foregrounds[0]
    color, alpha = load_matte(clip, INDICES)
    assert np.array_equal(_stacked(iter_matte_packed(clip, INDICES)), _interleaved(color, alpha))

    stills = tmp_path / "stills"
    (stills / "fgr").mkdir(parents=True)
    (stills / "pha").mkdir()
    rgba = np.concatenate([fgr[0], pha[0]], axis=2)
    Image.fromarray(rgba, "RGBA").save(stills / "fgr" / "x.png")
    clip = build_catalog(SourcesConfig(str(stills), foreground_kind="imagematte")).foregrounds[0]
    color, alpha = load_matte(clip, [0, 0])
    assert np.array_equal(_stacked(iter_matte_packed(clip, [0, 0])), _interleaved(color, alpha))


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_packed_background_is_colour_then_255(tmp_path: Path, ext: str) -> None:
    write_frames(tmp_path / "bgv" / "v", smooth_frames(FRAMES, H, W, seed=3), ext)
    _matte_catalog(tmp_path / "fg")
    sources = SourcesConfig(str(tmp_path / "fg"), background_videos=str(tmp_path / "bgv"))
    clip = build_catalog(sources).background_videos[0]
    for min_size in (None, (10, 16)):
        color = load_background(clip, INDICES, min_size=min_size)
        packed = _stacked(iter_background_packed(clip, INDICES, min_size=min_size))
        assert np.array_equal(packed, _interleaved(color, None))


def test_packed_readers_refuse_what_the_plain_ones_refuse(tmp_path: Path) -> None:
    clip = _matte_catalog(tmp_path).foregrounds[0]
    with pytest.raises(SourceError, match="out of range"):
        next(iter_matte_packed(clip, [FRAMES]))
    (Path(clip.alpha.frame_path(2))).write_bytes(b"not a png")
    with pytest.raises(SourceError, match="cannot decode") as error:
        list(iter_matte_packed(clip, [1, 2]))
    assert error.value.path == clip.alpha.frame_path(2)
