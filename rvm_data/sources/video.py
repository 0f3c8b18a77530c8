"""Video files through PyAV: probing without decoding, and window reads that seek.

A window read seeks to the keyframe at or before the first wanted frame and decodes forward,
converting only the frames asked for. Frame indices come from presentation timestamps
(constant frame rate assumed, as in VideoMatte240K), so a seek that lands early is harmless
and one that lands late is detected and retried further back.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from .errors import SourceError

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v")

# Decoding this many frames forward is cheaper than a fresh seek plus decoding from a keyframe.
SEEK_GAP = 48


def is_video(name: str) -> bool:
    return name.lower().endswith(VIDEO_EXTENSIONS)


@dataclass(frozen=True)
class VideoHeader:
    frames: int
    height: int
    width: int


def _open(path: str) -> av.container.InputContainer:
    try:
        container = av.open(path)
    except (av.FFmpegError, OSError) as exc:
        raise SourceError(path, f"cannot open video ({exc})") from exc
    if not container.streams.video:
        container.close()
        raise SourceError(path, "file has no video stream")
    return container


def probe_video(path: str) -> VideoHeader:
    """Frame count and size from the container; counts packets only when the header has no count."""
    container = _open(path)
    try:
        stream = container.streams.video[0]
        frames = stream.frames
        if frames <= 0:
            try:
                frames = sum(1 for packet in container.demux(stream) if packet.size)
            except av.FFmpegError as exc:
                raise SourceError(path, f"cannot read video packets ({exc})") from exc
        height, width = stream.codec_context.height, stream.codec_context.width
    finally:
        container.close()
    if frames <= 0 or height <= 0 or width <= 0:
        raise SourceError(path, f"video is empty ({frames} frames of {width}x{height})")
    return VideoHeader(frames=frames, height=height, width=width)


class VideoReader:
    """One open video; ``decoded`` counts frames decoded so far (to check that seeking works)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._container = _open(path)
        self._stream = self._container.streams.video[0]
        rate = self._stream.average_rate or self._stream.guessed_rate
        if not rate or self._stream.time_base is None:
            self.close()
            raise SourceError(path, "video has no frame rate or time base; cannot index frames")
        self._frames_per_tick = Fraction(rate) * Fraction(self._stream.time_base)
        self._start = self._stream.start_time or 0
        self.decoded = 0

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _index_of(self, pts: int) -> int:
        return round((pts - self._start) * self._frames_per_tick)

    def _decode(self) -> Iterator[tuple[int, av.VideoFrame]]:
        try:
            for frame in self._container.decode(self._stream):
                self.decoded += 1
                if frame.pts is None:
                    raise SourceError(self.path, "decoded frame has no timestamp; cannot index frames")
                yield self._index_of(frame.pts), frame
        except av.FFmpegError as exc:
            raise SourceError(self.path, f"cannot decode video ({exc})") from exc

    def _seek(self, target: int) -> Iterator[tuple[int, av.VideoFrame]]:
        """Frames from a keyframe at or before ``target`` onward."""
        back = 0
        while True:
            start = max(target - back, 0)
            pts = self._start + int(start / self._frames_per_tick)
            try:
                self._container.seek(pts, backward=True, any_frame=False, stream=self._stream)
            except av.FFmpegError as exc:
                raise SourceError(self.path, f"cannot seek to frame {start} ({exc})") from exc
            frames = self._decode()
            first = next(frames, None)
            if first is None:
                raise SourceError(self.path, f"frame {target} is past the end of the video")
            if first[0] <= target or start == 0:
                return itertools.chain([first], frames)
            back = max(2 * back, 16)

    def frames(self, wanted: Sequence[int]) -> Iterator[tuple[int, av.VideoFrame]]:
        """Yield ``(index, frame)`` for each of ``wanted`` (ascending, distinct), decoding each once."""
        position = -1
        decoded: Iterator[tuple[int, av.VideoFrame]] = iter(())
        for target in wanted:
            if target <= position or target - position > SEEK_GAP or position < 0:
                decoded = self._seek(target)
            for index, frame in decoded:
                position = index
                if index == target:
                    yield index, frame
                    break
                if index > target:
                    raise SourceError(self.path, f"frame {target} is missing (variable frame rate?)")
            else:
                raise SourceError(self.path, f"frame {target} is past the end of the video")


def frame_to_rgb(frame: av.VideoFrame, size: tuple[int, int] | None) -> np.ndarray:
    """RGB uint8 H×W×3, scaled by swscale to ``size`` (h, w) when given."""
    if size is None:
        return frame.to_ndarray(format="rgb24")
    return frame.to_ndarray(format="rgb24", height=size[0], width=size[1], interpolation="AREA")


def frame_to_gray(frame: av.VideoFrame, size: tuple[int, int] | None) -> np.ndarray:
    """Luma as full-range uint8 H×W (how alpha mattes are stored in video files)."""
    if size is None:
        return frame.to_ndarray(format="gray")
    return frame.to_ndarray(format="gray", height=size[0], width=size[1], interpolation="AREA")
