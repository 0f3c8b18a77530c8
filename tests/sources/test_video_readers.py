from __future__ import annotations

import numpy as np
import pytest
from sources_helpers import alpha_frames, smooth_frames, videomatte, write_video

from rvm_data.sources import SourceError, SourcesConfig, build_catalog, load_background, load_matte
from rvm_data.sources.video import VideoReader

T, H, W = 24, 48, 64


@pytest.fixture(scope="module")
def clips():
    return {"walk": (smooth_frames(T, H, W, 5), alpha_frames(T, H, W))}


@pytest.fixture(scope="module")
def roots(tmp_path_factory, clips):
    base = tmp_path_factory.mktemp("vm")
    return videomatte(base / "video", clips, video=True), videomatte(base / "frames", clips, fgr_ext=".png")


def _mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_video_catalog_matches_frame_folder(roots):
    video = build_catalog(SourcesConfig(str(roots[0]))).foregrounds[0]
    frames = build_catalog(SourcesConfig(str(roots[1]))).foregrounds[0]
    assert video.color.kind == "video" and frames.color.kind == "frames"
    def described(clip):
        return clip.name, clip.frames, clip.height, clip.width

    assert described(video) == described(frames)


def test_video_window_equals_frame_folder_within_codec_tolerance(roots):
    video = build_catalog(SourcesConfig(str(roots[0]))).foregrounds[0]
    frames = build_catalog(SourcesConfig(str(roots[1]))).foregrounds[0]
    order = [20, 3, 3, 17, 0, 23]
    vf, vp = load_matte(video, order)
    ff, fp = load_matte(frames, order)
    assert vf.shape == ff.shape and vp.shape == fp.shape
    assert _mad(vf, ff) < 2.0 and _mad(vp, fp) < 2.0
    # each frame is matched to the right index: the neighbours differ by much more than the codec error
    assert _mad(vf[0], ff[3]) > 5 * _mad(vf[0], ff[0])


def test_video_read_seeks_instead_of_decoding_from_start(roots):
    path = str(roots[0] / "fgr" / "walk.mp4")
    with VideoReader(path) as reader:
        got = [index for index, _ in reader.frames([18, 19, 21])]
        assert got == [18, 19, 21]
        assert reader.decoded <= 21 - 16 + 1 + 2  # from the keyframe at 16 (gop 4), not from 0
        before = reader.decoded
        assert [index for index, _ in reader.frames([2])] == [2]  # backwards: seek again
        assert reader.decoded - before <= 3 + 2


def test_video_reduced_decode_and_background(roots):
    clip = build_catalog(SourcesConfig(str(roots[1]), background_videos=str(roots[0] / "fgr"))).background_videos[0]
    assert clip.color.kind == "video"
    full = load_background(clip, [5, 6])
    small = load_background(clip, [5, 6], min_size=(24, 32))
    assert full.shape == (2, H, W, 3) and small.shape == (2, 24, 32, 3)


def test_video_past_end_names_file(tmp_path):
    path = write_video(tmp_path / "short.mp4", smooth_frames(4, 32, 32))
    with VideoReader(str(path)) as reader, pytest.raises(SourceError, match="short.mp4"):
        list(reader.frames([2, 9]))


def test_unreadable_video_names_file(tmp_path):
    (tmp_path / "fg" / "fgr").mkdir(parents=True)
    (tmp_path / "fg" / "pha").mkdir()
    (tmp_path / "fg" / "fgr" / "bad.mp4").write_bytes(b"not a video")
    (tmp_path / "fg" / "pha" / "bad.mp4").write_bytes(b"not a video")
    with pytest.raises(SourceError, match="bad.mp4"):
        build_catalog(SourcesConfig(str(tmp_path / "fg")))


def test_container_without_frame_count_is_counted(tmp_path):
    frames = smooth_frames(6, 32, 32)
    path = write_video(tmp_path / "bg" / "clip.mkv", frames)
    import av

    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 0  # Matroska keeps no frame count
    (tmp_path / "fg" / "fgr").mkdir(parents=True)
    (tmp_path / "fg" / "pha").mkdir(parents=True)
    write_video(tmp_path / "fg" / "fgr" / "c.mp4", frames)
    write_video(tmp_path / "fg" / "pha" / "c.mp4", frames[..., :1])
    sources = SourcesConfig(str(tmp_path / "fg"), background_videos=str(tmp_path / "bg"))
    clip = build_catalog(sources).background_videos[0]
    assert clip.frames == 6
    assert _mad(load_background(clip, [5, 1]), frames[[5, 1]]) < 2.0


def _read_in_child(path: str) -> list[int]:
    from rvm_data.sources.video import open_video

    with open_video(path) as reader:
        return [index for index, _ in reader.frames([1, 2, 20])]


def test_pooled_readers_are_per_use_and_per_process(roots):
    import multiprocessing

    from rvm_data.sources.video import open_video

    path = str(roots[0] / "fgr" / "walk.mp4")
    with open_video(path) as reader, open_video(path) as other:
        assert other is not reader  # a reader in use is never handed out twice
        assert [index for index, _ in reader.frames([10, 11])] == [10, 11]
    with multiprocessing.get_context("fork").Pool(1) as pool:  # the child must not move the parent's file
        assert pool.apply(_read_in_child, (path,)) == [1, 2, 20]
    with open_video(path) as again:
        assert again in (reader, other)
        assert [index for index, _ in again.frames([12, 13])] == [12, 13]


def test_a_fifo_named_like_a_video_is_refused_not_opened(tmp_path):
    import os

    import pytest

    from rvm_data.sources import SourceError
    from rvm_data.sources.video import VideoReader, probe_video

    fifo = tmp_path / "clip.mp4"
    os.mkfifo(fifo)
    for read in (probe_video, VideoReader):
        with pytest.raises(SourceError, match="FIFO"):
            read(str(fifo))


def test_a_forked_process_can_free_decoders_and_frames_its_parent_used(tmp_path):
    """FFmpeg's default thread pools (swscale's behind each converted frame, the decoder's behind each open
    stream) made a forked child (a DataLoader worker) hang for good when it freed one (seen twice in this
    suite); conversions and decoders are single-threaded."""
    import faulthandler
    import gc
    import os
    import time

    import av

    from rvm_data.sources.video import _open, frame_to_gray, frame_to_rgb

    # The child must free only what this test made: another test's garbage awaiting a full collection (a
    # reference decode's generator left suspended in a cycle) can hold an open decoder with FFmpeg's default
    # threads, and freeing that hangs a forked child just the same (one CI run in six did; a cycle holding
    # an open default-threaded decoder and its frames reproduces it, the same with that decoder closed
    # before the fork does not).
    gc.collect()
    buf = tmp_path / "clip.mp4"
    with av.open(str(buf), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 256, 144, "yuv420p"
        for i in range(4):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.full((144, 256, 3), 40 * i, np.uint8))):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    kept = []
    container = _open(str(buf))  # as the readers open a video, left open as the reader pool does
    for frame in container.decode(video=0):
        frame_to_rgb(frame, (72, 128))
        frame_to_gray(frame, None)
        kept.append(frame)
    stacks = tmp_path / "child-stacks.txt"
    pid = os.fork()
    if pid == 0:  # the child frees what it inherited, as a worker's garbage collection does
        with open(stacks, "w") as out:
            faulthandler.dump_traceback_later(20, exit=True, file=out)  # where it hangs, if it does
            kept.clear()
            container.close()
            gc.collect()
        os._exit(0)
    container.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail(f"the forked child hung freeing frames its parent converted:\n{stacks.read_text()}")
