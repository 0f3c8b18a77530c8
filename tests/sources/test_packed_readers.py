"""The packed readers (colour and alpha in one N×h×w×4 stack, the warp's layout) hold exactly the frames of the
plain readers, for every kind of source and reduction."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from sources_helpers import alpha_frames, smooth_frames, videomatte, write_frames

from rvm_data.sources import SourceError, SourcesConfig, build_catalog, load_background, load_matte
from rvm_data.sources.readers import load_background_packed, load_matte_packed

FRAMES, H, W = 6, 40, 64
INDICES = [4, 0, 2, 2, 5]


def _interleaved(color: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """What the warp interleaved before the packed readers: RGB then alpha (255 without one)."""
    fourth = np.full((*color.shape[:3], 1), 255, np.uint8) if alpha is None else alpha
    return np.concatenate([color, fourth], axis=3)


def _matte_catalog(root: Path, **kwargs) -> object:
    clips = {"a": (smooth_frames(FRAMES, H, W), alpha_frames(FRAMES, H, W))}
    return build_catalog(SourcesConfig(str(videomatte(root, clips, **kwargs))))


@pytest.mark.parametrize("kwargs", [{}, {"fgr_ext": ".png"}, {"video": True}], ids=["jpg", "png", "mp4"])
@pytest.mark.parametrize("min_size", [None, (20, 32), (5, 8)])
def test_packed_matte_is_colour_then_alpha(tmp_path: Path, kwargs: dict, min_size: tuple[int, int] | None) -> None:
    clip = _matte_catalog(tmp_path, **kwargs).foregrounds[0]
    color, alpha = load_matte(clip, INDICES, min_size=min_size)
    packed = load_matte_packed(clip, INDICES, min_size=min_size)
    assert packed.flags["C_CONTIGUOUS"] and np.array_equal(packed, _interleaved(color, alpha))


def test_packed_matte_of_a_mixed_size_clip_and_of_rgba_stills(tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    fgr, pha = smooth_frames(FRAMES, H, W), alpha_frames(FRAMES, H, W)
    write_frames(root / "fgr" / "a", fgr, ".jpg")
    write_frames(root / "pha" / "a", pha, ".png")
    big = cv2.resize(cv2.cvtColor(fgr[3], cv2.COLOR_RGB2BGR), (W * 2, H * 2))
    cv2.imwrite(str(root / "fgr" / "a" / "00003.jpg"), big)  # one frame of another size: fitted to the rest
    clip = build_catalog(SourcesConfig(str(root))).foregrounds[0]
    color, alpha = load_matte(clip, INDICES)
    assert np.array_equal(load_matte_packed(clip, INDICES), _interleaved(color, alpha))

    stills = tmp_path / "stills"
    (stills / "fgr").mkdir(parents=True)
    (stills / "pha").mkdir()
    rgba = np.concatenate([fgr[0], pha[0]], axis=2)
    Image.fromarray(rgba, "RGBA").save(stills / "fgr" / "x.png")
    clip = build_catalog(SourcesConfig(str(stills), foreground_kind="imagematte")).foregrounds[0]
    color, alpha = load_matte(clip, [0, 0])
    assert np.array_equal(load_matte_packed(clip, [0, 0]), _interleaved(color, alpha))


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_packed_background_is_colour_then_255(tmp_path: Path, ext: str) -> None:
    write_frames(tmp_path / "bgv" / "v", smooth_frames(FRAMES, H, W, seed=3), ext)
    _matte_catalog(tmp_path / "fg")
    sources = SourcesConfig(str(tmp_path / "fg"), background_videos=str(tmp_path / "bgv"))
    clip = build_catalog(sources).background_videos[0]
    for min_size in (None, (10, 16)):
        color = load_background(clip, INDICES, min_size=min_size)
        assert np.array_equal(load_background_packed(clip, INDICES, min_size=min_size), _interleaved(color, None))


def test_packed_readers_refuse_what_the_plain_ones_refuse(tmp_path: Path) -> None:
    clip = _matte_catalog(tmp_path).foregrounds[0]
    with pytest.raises(SourceError, match="out of range"):
        load_matte_packed(clip, [FRAMES])
    (Path(clip.alpha.frame_path(2))).write_bytes(b"not a png")
    with pytest.raises(SourceError, match="cannot decode") as error:
        load_matte_packed(clip, [1, 2])
    assert error.value.path == clip.alpha.frame_path(2)
