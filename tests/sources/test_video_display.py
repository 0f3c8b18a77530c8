"""Videos are read as a player shows them.

A display matrix that turns the picture (phones store portrait clips as landscape frames plus a quarter
turn) is applied: probed at the shown size, every frame turned, scaled reads too; a matrix that mirrors
or turns by another angle is refused naming the file. Non-square pixels (HDV's 1440x1080 shown as
1920x1080, DV's 720x480 shown narrower) are widened or narrowed to the shown aspect.

The files are written by PyAV (``set_display_rotation``, the matrix phones write; a sample aspect
ratio); the reference is the stored frame turned by ``np.rot90`` the quarter turns FFmpeg's own tools
apply, or resized to the shown width.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from rvm_data.sources import SourceError, SourcesConfig, build_catalog, load_background, load_matte
from rvm_data.sources.video import check_turns, frame_to_gray, frame_to_rgb, open_video, probe_video, reformat

H, W, FRAMES = 48, 64, 6


def _stored(t: int) -> np.ndarray:
    """Frame t as stored: a bright block in the stored top-left corner, a ramp, t in the bottom row."""
    image = np.zeros((H, W, 3), np.uint8)
    image[:, :, 1] = np.linspace(0, 200, W, dtype=np.uint8)[None, :]
    image[:16, :16] = 255
    image[-16:, 16 * (t % 3) + 16:16 * (t % 3) + 32, 2] = 250
    return image


def _write(path: Path, degrees: int, hflip: bool = False, gray: bool = False, aspect: Fraction = Fraction(1),
           matrix: list[int] | None = None) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(25), options={"crf": "12"})
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.codec_context.sample_aspect_ratio = aspect
        if matrix is not None:
            stream.set_display_matrix(matrix)
        elif degrees or hflip:
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
            half = frame_to_rgb(frame, (shown[0] // 2, shown[1] // 2))
            expected = cv2.resize(np.rot90(rgb[index], turns), (shown[1] // 2, shown[0] // 2),
                                  interpolation=cv2.INTER_AREA)
            assert half.shape == expected.shape and np.abs(half.astype(int) - expected).mean() < 3


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


@pytest.mark.parametrize(("aspect", "degrees", "shown"), [(Fraction(4, 3), 0, (H, 85)), (Fraction(8, 9), 0, (H, 57)),
                                                         (Fraction(4, 3), -90, (85, H))])
def test_non_square_pixels_are_shown_at_their_aspect(tmp_path, aspect, degrees, shown):
    path = _write(tmp_path / "hdv.m2ts" if degrees == 0 else tmp_path / "hdv.mp4", degrees, aspect=aspect)
    header = probe_video(str(path))
    assert (header.height, header.width) == shown
    stored = _as_stored(path, "rgb24")
    with open_video(str(path)) as reader:
        for index, frame in reader.frames([1, 3]):
            image = frame_to_rgb(frame, shown)
            assert image.shape == (*shown, 3)
            upright = np.rot90(stored[index], 3) if degrees else stored[index]
            stretched = cv2.resize(upright, (shown[1], shown[0]), interpolation=cv2.INTER_LINEAR)
            assert np.abs(image.astype(int) - stretched).mean() < 6  # the same picture, only resampled
    catalog_root = tmp_path / "bgv"
    catalog_root.mkdir()
    path.rename(catalog_root / path.name)
    [clip] = build_catalog(SourcesConfig(background_videos=str(catalog_root), foreground=str(_matte_folder(tmp_path)),
                                         foreground_kind="imagematte")).background_videos
    assert (clip.height, clip.width) == shown and load_background(clip, [0]).shape == (1, *shown, 3)


def _matte_folder(root: Path) -> Path:
    folder = root / "fg"
    (folder / "fgr").mkdir(parents=True)
    (folder / "pha").mkdir()
    cv2.imwrite(str(folder / "fgr" / "a.png"), np.full((H, W, 3), 90, np.uint8))
    cv2.imwrite(str(folder / "pha" / "a.png"), np.full((H, W), 255, np.uint8))
    return folder


F = 1 << 16  # 16.16 fixed point, as in FFmpeg's display matrix


def test_the_matrix_phones_write_for_portrait_is_a_quarter_turn_clockwise(tmp_path):
    """[0 1; -1 0] (ffprobe: "rotation of -90.00 degrees") is what ffmpeg shows through transpose=clock:
    the stored top-left corner goes top-right."""
    path = _write(tmp_path / "iphone.mov", 0, matrix=[0, F, 0, -F, 0, 0, 0, 0, 1 << 30])
    with open_video(str(path)) as reader:
        [(_, frame)] = list(reader.frames([0]))
        shown = frame_to_rgb(frame)
    assert shown.shape == (W, H, 3)
    assert shown[:16, -16:].mean() > 200 and shown[:16, :16, 0].mean() < 60  # the bright block, now top-right


def test_an_all_zero_matrix_is_shown_as_stored(tmp_path):
    path = _write(tmp_path / "zero.mp4", 0, matrix=[0] * 9)
    assert (probe_video(str(path)).height, probe_video(str(path)).width) == (H, W)
    with open_video(str(path)) as reader:
        [(_, frame)] = list(reader.frames([2]))
        np.testing.assert_array_equal(frame_to_rgb(frame), _as_stored(path, "rgb24")[2])


def test_a_damaged_sample_aspect_ratio_is_refused_naming_the_file(tmp_path):
    path = _write(tmp_path / "wide.mp4", 0, aspect=Fraction(4, 3))
    data = path.read_bytes()
    box = data.index(b"pasp")  # the container's pixel aspect: hSpacing, vSpacing
    path.write_bytes(data[:box + 4] + (1000).to_bytes(4, "big") + (1).to_bytes(4, "big") + data[box + 12:])
    with pytest.raises(SourceError, match=r"wide\.mp4: its sample aspect ratio 1000 would show it 64000 pixels wide"):
        probe_video(str(path))


def test_a_matte_shown_in_another_shape_than_its_colour_is_refused(tmp_path):
    """A turned colour clip with an upright matte (one written without the matrix) would have its matte
    stretched onto it."""
    fg = tmp_path / "fg"
    (fg / "fgr").mkdir(parents=True)
    (fg / "pha").mkdir()
    _write(fg / "fgr" / "person.mp4", -90)
    _write(fg / "pha" / "person.mp4", 0, gray=True)
    (tmp_path / "bgi").mkdir()
    cv2.imwrite(str(tmp_path / "bgi" / "room.png"), np.full((H, W, 3), 120, np.uint8))
    shape = r"person\.mp4: is shown 48x64 but its matte .*person\.mp4 64x48, another shape"
    with pytest.raises(SourceError, match=shape):
        build_catalog(SourcesConfig(foreground=str(fg), background_images=str(tmp_path / "bgi")))


def test_a_frame_turned_otherwise_than_the_first_is_refused_naming_it(tmp_path):
    """A display-orientation message mid-clip would give frames of another shape, squashed to the probed
    one: the readers compare every frame's turn with the probe's."""
    path = _write(tmp_path / "turning.mp4", 90)
    header = probe_video(str(path))
    with open_video(str(path)) as reader:
        [(index, frame)] = list(reader.frames([3]))
    check_turns(frame, header, str(path), index)  # agrees with its probe
    with pytest.raises(SourceError, match=r"turning\.mp4.*frame 3.*turns this frame otherwise than the first"):
        check_turns(frame, dataclasses.replace(header, turns=0), str(path), index)
