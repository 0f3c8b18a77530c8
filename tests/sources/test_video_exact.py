"""Frame k of a video is the k-th frame a plain sequential decode yields, in every container/codec here.

Every case of ``video_cases`` shows its frame index in the pixels; reads through one reused
VideoReader, the reader pool and the public readers must give the sequential decode's frames exactly.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest
from video_cases import CASES, FRAMES, H, W, index_of, write_case

from rvm_data.sources import SourceError, SourcesConfig, build_catalog, load_background, load_matte
from rvm_data.sources.video import VIDEO_EXTENSIONS, VideoHeader, VideoReader, frame_to_rgb, open_video, probe_video

NAMES = list(CASES)
PHA_CASE = "avi_mpeg4_bframes"  # every clip's matte: an AVI, so MP4/MKV/TS colour pairs with AVI alpha


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, tuple[Path, np.ndarray]]:
    """Each case written once, with its sequentially decoded RGB frames (in the readers' conversion, which
    rounds as swscale's C code does, so only the decode order can make them differ)."""
    root = tmp_path_factory.mktemp("exact")
    out = {}
    for name, case in CASES.items():
        path = write_case(name, root / "files" / f"{name}{case.suffix}")
        with av.open(str(path)) as container:
            out[name] = path, np.stack([frame_to_rgb(f) for f in container.decode(video=0)])
    return out


@pytest.fixture(scope="module")
def catalog(videos, tmp_path_factory):
    """videomatte layout: fgr/<case>.<ext> + pha/<case>.avi, and every case file as a background video."""
    root = tmp_path_factory.mktemp("videomatte")
    (root / "fgr").mkdir()
    (root / "pha").mkdir()
    for name, (path, _) in videos.items():
        shutil.copy(path, root / "fgr" / path.name)
        shutil.copy(videos[PHA_CASE][0], root / "pha" / f"{name}.avi")
    return build_catalog(SourcesConfig(str(root), background_videos=str(videos[PHA_CASE][0].parent)))


def _windows(frames: int, seed: int) -> list[list[int]]:
    """Ascending distinct windows: contiguous, sparse, repeated, backwards, the first and last frames."""
    rng = np.random.default_rng(seed)
    windows = [sorted(rng.choice(frames, size=int(rng.integers(1, 8)), replace=False).tolist()) for _ in range(6)]
    starts = rng.integers(0, frames - 15, 4).tolist()
    windows += [list(range(s, s + 15)) for s in starts]
    windows += [windows[-1], list(range(frames - 15, frames)), list(range(0, 15)), [frames - 1], [0, frames - 1]]
    windows += [list(range(s, frames, 7)) for s in (3, 1)]  # backwards by a little
    return windows


def _check(got: list[tuple[int, av.VideoFrame]], window: list[int], expected: np.ndarray) -> None:
    assert [index for index, _ in got] == window
    images = np.stack([frame_to_rgb(frame) for _, frame in got])
    assert [index_of(image) for image in images] == window
    np.testing.assert_array_equal(images, expected[window])


@pytest.mark.parametrize("name", NAMES)
def test_sequential_decode_shows_the_written_indices(videos, name):
    _, frames = videos[name]
    assert [index_of(image) for image in frames] == list(range(FRAMES))


@pytest.mark.parametrize("name", NAMES)
def test_probe_counts_what_a_sequential_decode_yields(videos, name):
    path, frames = videos[name]
    assert probe_video(str(path)) == VideoHeader(frames=len(frames), height=H, width=W)


@pytest.mark.parametrize("name", NAMES)
def test_windows_through_one_reader_equal_the_sequential_decode(videos, name):
    path, frames = videos[name]
    with VideoReader(str(path)) as reader:
        for window in _windows(len(frames), seed=NAMES.index(name)):
            _check(list(reader.frames(window)), window, frames)


@pytest.mark.parametrize("name", ["mp4_h264_bframes", "avi_mpeg4_bframes", "ts_mpeg2_bframes", "mpg_mpeg2_bframes"])
def test_pooled_reader_continues_consecutive_windows(videos, name):
    path, frames = videos[name]
    with open_video(str(path)) as reader:
        _check(list(reader.frames(list(range(0, 15)))), list(range(0, 15)), frames)
    start = reader.decoded
    for first in (15, 30):
        with open_video(str(path)) as again:
            assert again is reader
            _check(list(again.frames(list(range(first, first + 15)))), list(range(first, first + 15)), frames)
    assert reader.decoded - start <= 30 + 4  # each frame decoded once (plus the decoder's reorder delay)


def test_pool_reopens_a_rewritten_file(tmp_path):
    path = write_case("mp4_h264_bframes", tmp_path / "clip.mp4")
    with open_video(str(path)) as reader:
        assert [index for index, _ in reader.frames([40])] == [40]
    write_case("mp4_h264_bframes", path, frames=20)
    with open_video(str(path)) as again:
        assert again is not reader and again.index.frames == 20
        assert [index_of(frame.to_ndarray(format="rgb24")) for _, frame in again.frames([19])] == [19]


def test_catalog_finds_every_video_extension(catalog):
    assert {case.suffix for case in CASES.values()} == set(VIDEO_EXTENSIONS)
    assert sorted(clip.name for clip in catalog.foregrounds) == sorted(NAMES)
    assert sorted(clip.name for clip in catalog.background_videos) == sorted(NAMES)
    assert all(clip.frames == FRAMES and clip.color.kind == "video" for clip in catalog.foregrounds)


@pytest.mark.parametrize("name", NAMES)
def test_load_matte_pairs_colour_and_alpha_frame_for_frame(videos, catalog, name):
    clip = next(clip for clip in catalog.foregrounds if clip.name == name)
    _, frames = videos[name]
    for order in ([20, 3, 3, 44, 0, 21], list(range(30, 45)), list(range(10, 25)), [44, 43, 42]):
        fgr, pha = load_matte(clip, order)
        assert [index_of(image) for image in fgr] == order
        assert [index_of(image[..., 0]) for image in pha] == order
        np.testing.assert_array_equal(fgr, frames[order])


@pytest.mark.parametrize("name", NAMES)
def test_load_background_equals_the_sequential_decode(videos, catalog, name):
    clip = next(clip for clip in catalog.background_videos if clip.name == name)
    _, frames = videos[name]
    for order in (list(range(25, 40)), [7, 1, 44], list(range(5, 20))):
        np.testing.assert_array_equal(load_background(clip, order), frames[order])


@pytest.mark.parametrize("name", ["mp4_h264_bframes", "avi_mpeg4_bframes", "mpg_mpeg2_bframes", "mkv_vfr"])
def test_frame_past_the_end_names_file_and_frame(videos, name):
    path, _ = videos[name]
    with VideoReader(str(path)) as reader, pytest.raises(SourceError, match=path.name) as caught:
        list(reader.frames([2, FRAMES]))
    assert caught.value.frame == FRAMES


@pytest.mark.parametrize("name", ["mp4_h264_bframes", "avi_mpeg4_bframes"])
def test_video_shorter_than_its_header_names_file_and_frame(videos, tmp_path, name):
    path, _ = videos[name]
    data = path.read_bytes()
    if name.startswith("mp4"):  # the frame table first, so that truncation cuts frames, not the table
        path = tmp_path / "faststart.mp4"
        with av.open(str(videos[name][0])) as source, av.open(str(path), "w", options={"movflags": "faststart"}) as out:
            stream = out.add_stream_from_template(source.streams.video[0])
            for packet in source.demux(source.streams.video[0]):
                if packet.dts is not None:
                    packet.stream = stream
                    out.mux(packet)
        data = path.read_bytes()
    cut = tmp_path / f"cut{path.suffix}"
    cut.write_bytes(data[: int(len(data) * 0.8)])
    with pytest.raises(SourceError, match=cut.name) as caught:
        probe_video(str(cut))
    assert caught.value.frame is not None and 0 < caught.value.frame < FRAMES
    assert "header" in caught.value.problem


@pytest.mark.parametrize("name", ["mp4_h264_bframes", "mkv_h264_bframes", "avi_mpeg4_bframes"])
def test_frame_that_cannot_be_decoded_names_file_and_frame(videos, tmp_path, name):
    path, _ = videos[name]
    with av.open(str(path)) as container:
        keyframes = [p for p in container.demux(video=0) if p.size and p.is_keyframe]
    broken = bytearray(path.read_bytes())
    start, size = keyframes[2].pos + 4, keyframes[2].size - 4  # the keyframe of frame 24, its header kept
    broken[start:start + size] = b"\xff" * size
    bad = tmp_path / f"bad{path.suffix}"
    bad.write_bytes(bytes(broken))
    with pytest.raises(SourceError, match=bad.name) as caught:  # AVI: at indexing, which decodes to count
        with VideoReader(str(bad)) as reader:
            list(reader.frames(list(range(20, 30))))
    if name.startswith("avi"):  # decode order: the next frame due, which the decoder may hold back by a few
        assert 20 <= caught.value.frame <= 24
    else:
        assert caught.value.frame == 24
    assert "cannot decode" in caught.value.problem
