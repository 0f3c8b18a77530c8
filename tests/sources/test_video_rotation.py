"""Videos whose display matrix turns the picture (phones store portrait clips as landscape frames) are
read as a player shows them: probed at the shown size, every frame turned, scaled reads too; a matrix
that mirrors or turns by another angle is refused naming the file.

The files are written by PyAV with ``set_display_rotation`` (the matrix phones write); the reference is
the stored frame turned by ``np.rot90`` the quarter turns FFmpeg's own tools apply.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from rvm_data.sources import SourceError, SourcesConfig, build_catalog, load_background, load_matte
from rvm_data.sources.video import frame_to_gray, frame_to_rgb, open_video, probe_video, reformat

H, W, FRAMES = 48, 64, 6


def _stored(t: int) -> np.ndarray:
    """Frame t as stored: a bright block in the stored top-left corner, a ramp, t in the bottom row."""
    image = np.zeros((H, W, 3), np.uint8)
    image[:, :, 1] = np.linspace(0, 200, W, dtype=np.uint8)[None, :]
    image[:16, :16] = 255
    image[-16:, 16 * (t % 3) + 16:16 * (t % 3) + 32, 2] = 250
    return image


def _write(path: Path, degrees: int, hflip: bool = False, gray: bool = False) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(25), options={"crf": "12"})
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        if degrees or hflip:
            stream.set_display_rotation(degrees, hflip=hflip)
        for t in range(FRAMES):
            image = _stored(t)
            if gray:
                image = np.repeat(image[..., 1:2], 3, axis=2)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _as_stored(path: Path, format: str) -> list[np.ndarray]:
    """The plain sequential decode, frames as stored (no turn)."""
    with av.open(str(path)) as container:
        return [reformat(frame, format).to_ndarray() for frame in container.decode(video=0)]


@pytest.mark.parametrize(("degrees", "turns"), [(0, 0), (90, 1), (180, 2), (-90, 3)])
def test_frames_are_read_turned_as_a_player_shows_them(tmp_path, degrees, turns):
    path = _write(tmp_path / "clip.mp4", degrees)
    shown = (W, H) if turns % 2 else (H, W)
    assert probe_video(str(path)).frames == FRAMES
    assert (probe_video(str(path)).height, probe_video(str(path)).width) == shown
    rgb, gray = _as_stored(path, "rgb24"), _as_stored(path, "gray")
    with open_video(str(path)) as reader:
        for index, frame in reader.frames([4, 0, 5]):
            np.testing.assert_array_equal(frame_to_rgb(frame), np.rot90(rgb[index], turns))
            np.testing.assert_array_equal(frame_to_gray(frame), np.rot90(gray[index], turns))
            assert frame_to_rgb(frame, (shown[0] // 2, shown[1] // 2)).shape == (shown[0] // 2, shown[1] // 2, 3)


def test_a_portrait_phone_clip_is_catalogued_and_read_upright(tmp_path):
    bgv, fg = tmp_path / "bgv", tmp_path / "fg"
    bgv.mkdir()
    (fg / "fgr").mkdir(parents=True)
    (fg / "pha").mkdir()
    _write(bgv / "phone.mp4", -90)
    _write(fg / "fgr" / "person.mp4", -90)
    _write(fg / "pha" / "person.mp4", -90, gray=True)
    catalog = build_catalog(SourcesConfig(foreground=str(fg), background_videos=str(bgv)))
    [clip] = catalog.background_videos
    assert (clip.height, clip.width) == (W, H)
    stored = _as_stored(bgv / "phone.mp4", "rgb24")
    np.testing.assert_array_equal(load_background(clip, [2, 3]), np.stack([np.rot90(f, 3) for f in stored[2:4]]))
    [person] = catalog.foregrounds
    fgr, pha = load_matte(person, [1, 0])
    assert fgr.shape == pha.shape[:3] + (3,) == (2, W, H, 3)
    alpha = _as_stored(fg / "pha" / "person.mp4", "gray")
    np.testing.assert_array_equal(pha[..., 0], np.stack([np.rot90(alpha[1], 3), np.rot90(alpha[0], 3)]))


@pytest.mark.parametrize(("degrees", "hflip", "what"), [(90, True, "mirrors the picture"), (0, True, "mirrors"),
                                                        (45, False, "turns the picture by 45 degrees")])
def test_a_matrix_that_mirrors_or_turns_by_another_angle_is_refused_naming_the_file(tmp_path, degrees, hflip, what):
    path = _write(tmp_path / "odd.mp4", degrees, hflip)
    with pytest.raises(SourceError, match=rf"odd\.mp4: its display matrix {what}.*re-encode it upright"):
        probe_video(str(path))
