"""Video files through PyAV: exact frame indexing, probing, and window reads that seek where it is safe.

Frame k is the k-th frame a plain sequential decode (``for f in container.decode(video=0)``) yields,
whatever the container, codec, B-frames, edit lists, start time, time base or frame rate. Two ways
to find frame k, chosen per file when it is first indexed (one demux pass, cached per process while
the file's size and mtime stay the same):

- **Timestamp ranks** (MP4/MOV, Matroska/WebM, MPEG-TS/PS, FLV, ASF/WMV: containers that store real
  presentation timestamps). The decoder yields frames in presentation order, so frame k is the frame
  whose pts has rank k among the pts of all video packets (edit-list discards left out). A read
  seeks to the keyframe at or before frame k and trusts the landing only if the keyframe packet it
  demuxes, and every packet after it, has the pts *and* size the index lists for it; a landing after
  the target (MPEG-TS seeks by dts) is retried 1, 2, 4... frames earlier, one that does not match
  (MPEG-PS resyncs mid-frame) decodes from the start. Frames an open GOP decodes before the keyframe
  are dropped, and every decoded frame must carry the next rank's pts, so a mismatch raises instead
  of mislabelling.
- **Decode order** (AVI, whose pts the demuxer synthesises -- h264 in AVI decodes to unsorted pts --,
  other containers, and any file with a packet without pts, a repeated pts or a first packet that is
  not a keyframe): frame k is the k-th decoded frame, reached by decoding forward from the start; the
  count needs one full decode at indexing. A reader keeps its position, and :func:`open_video` keeps a
  few readers open per process, so consecutive windows do not restart from frame 0.

Variable frame rate: indexed by decode order (timestamp ranks), never by ``pts * rate``, so a
timestamp gap neither shifts later frames nor makes any frame "missing"; the gaps are simply ignored
(frames are samples of the clip, not of wall-clock time).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import av
import cv2
import numpy as np
from av.sidedata.sidedata import SideData
from av.sidedata.sidedata import Type as SideDataType
from av.video.reformatter import Interpolation

from .errors import SourceError
from .imageio import require_regular

VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".m2ts", ".mts",
                    ".wmv", ".asf", ".flv")

# Demuxer names (PyAV's ``container.format.name``, comma-separated) whose packets carry stored pts.
_TIMESTAMPED_FORMATS = frozenset({"mov", "mp4", "matroska", "webm", "mpegts", "mpeg", "flv", "asf"})

# Indexes kept per process (a few dozen bytes per frame), and readers kept open between windows.
_INDEX_CACHE_SIZE = 4096
POOL_SIZE = 4


def is_video(name: str) -> bool:
    return name.lower().endswith(VIDEO_EXTENSIONS)


@dataclass(frozen=True)
class VideoHeader:
    """What a sequential decode yields and the size it is shown at; ``turns``: the quarter turns its
    display matrix asks for (every frame must agree: :func:`check_turns`)."""

    frames: int
    height: int
    width: int
    turns: int = 0


@dataclass(frozen=True)
class FrameIndex:
    """Where each frame of a file is. ``pts[k]`` is frame k's timestamp and ``keyframes`` the (sorted)
    frames a decode may start from after a seek; ``pts`` is None for files read in decode order."""

    frames: int
    pts: np.ndarray | None
    keyframes: np.ndarray
    sizes: np.ndarray | None = None  # packet bytes of frame k, to recognise its packet after a seek


def _open(path: str) -> av.container.InputContainer:
    require_regular(path)  # a FIFO would block av.open for ever
    try:
        container = av.open(path)
    except (av.FFmpegError, OSError) as exc:
        raise SourceError(path, f"cannot open video ({exc})") from exc
    if not container.streams.video:
        container.close()
        raise SourceError(path, "file has no video stream")
    single_threaded(container)
    return container


def single_threaded(container: av.container.InputContainer) -> None:
    """Decode on the calling thread only. FFmpeg's decoder thread pools (one per CPU by default) stay
    behind every open decoder, and a process forked while one lives (a DataLoader worker) hangs for good
    when it frees that decoder; a build runs one decoding process per core anyway. Same frames."""
    for stream in container.streams.video:
        stream.codec_context.thread_count = 1


def _count_decoded(path: str) -> int:
    """Frames a sequential decode yields."""
    count = 0
    with _open(path) as container:
        stream = container.streams.video[0]
        try:
            for _ in container.decode(stream):
                count += 1
        except av.FFmpegError as exc:
            raise SourceError(path, f"cannot decode video ({exc})", frame=count) from exc
    return count


def _scan(path: str) -> tuple[FrameIndex, VideoHeader]:
    """One demux pass (plus a decode for decode-order files): the frame index and the header."""
    with _open(path) as container:
        stream = container.streams.video[0]
        timestamped = bool(_TIMESTAMPED_FORMATS & set(container.format.name.split(",")))
        listed, packets, pts, keys, sizes = stream.frames, 0, [], [], []
        try:
            for packet in container.demux(stream):
                if not packet.size:
                    continue
                packets += 1
                if packet.is_discard:  # cut by an edit list: the decoder drops its frame
                    continue
                if packet.pts is None:
                    timestamped = False
                else:
                    pts.append(packet.pts)
                    keys.append(packet.is_keyframe)
                    sizes.append(packet.size)
        except av.FFmpegError as exc:
            raise SourceError(path, f"cannot read video packets ({exc})", frame=len(pts)) from exc
        height, width = stream.codec_context.height, stream.codec_context.width
        aspect = stream.sample_aspect_ratio
    if 0 < packets < listed:
        raise SourceError(path, f"video ends after {packets} of the {listed} frames its header lists "
                          "(truncated file?)", frame=packets)
    stamps = np.asarray(pts, np.int64)
    # ranks are exact only if the decode starts at a keyframe and no two frames share a timestamp
    if timestamped and keys and keys[0] and np.unique(stamps).size == stamps.size:
        order = np.argsort(stamps)
        index = FrameIndex(order.size, stamps[order], np.flatnonzero(np.asarray(keys, bool)[order]),
                           np.asarray(sizes, np.int64)[order])
    else:
        index = FrameIndex(_count_decoded(path) if packets else 0, None, np.zeros(1, np.int64))
    if index.frames <= 0 or height <= 0 or width <= 0:
        raise SourceError(path, f"video is empty ({index.frames} frames of {width}x{height})")
    if aspect and aspect != 1:  # non-square pixels (HDV, DV): shown wider or narrower
        if not 1 / 4 <= aspect <= 4:
            raise SourceError(path, f"its sample aspect ratio {aspect} would show it {round(width * aspect)} pixels "
                                    "wide: a damaged header? re-encode it with square pixels")
        width = max(round(width * aspect), 1)
    turns = _shown_turns(path)
    if turns % 2:  # the size as shown: a portrait phone clip is taller than wide
        height, width = width, height
    return index, VideoHeader(frames=index.frames, height=height, width=width, turns=turns)


_HDR_TRANSFERS = {16: "PQ (SMPTE ST 2084)", 18: "HLG (ARIB STD-B67)"}  # AVColorTransferCharacteristic


def _shown_turns(path: str) -> int:
    """:func:`display_turns` of the file's first frame; a SourceError for a matrix it cannot apply, and for
    HDR video: converted to 8-bit RGB without tone mapping, its colours come out flat and wrong."""
    with _open(path) as container:
        try:
            frame = next(container.decode(container.streams.video[0]), None)
        except av.FFmpegError as exc:
            raise SourceError(path, f"cannot decode video ({exc})", frame=0) from exc
    if frame is None:
        return 0
    if frame.color_trc in _HDR_TRANSFERS:
        raise SourceError(path, f"HDR video with the {_HDR_TRANSFERS[frame.color_trc]} transfer, which rvm-data "
                                "does not tone-map to the 8-bit SDR it reads: convert it to SDR (BT.709) first")
    turns = display_turns(frame)
    if turns is None:
        what = "mirrors the picture" if frame.rotation % 90 == 0 else f"turns the picture by {frame.rotation} degrees"
        raise SourceError(path, f"its display matrix {what}, which rvm-data does not apply: re-encode it upright")
    return turns


_index_cache: OrderedDict[tuple[str, int, int], tuple[FrameIndex, VideoHeader]] = OrderedDict()
_index_lock = threading.Lock()


def _file_key(path: str) -> tuple[str, int, int]:
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise SourceError(path, f"cannot open video ({exc})") from exc
    return path, stat.st_size, stat.st_mtime_ns


def _indexed(path: str) -> tuple[FrameIndex, VideoHeader]:
    key = _file_key(path)
    with _index_lock:
        if key in _index_cache:
            return _index_cache[key]
    entry = _scan(path)
    with _index_lock:
        _index_cache[key] = entry
        while len(_index_cache) > _INDEX_CACHE_SIZE:
            _index_cache.popitem(last=False)
    return entry


def probe_video(path: str) -> VideoHeader:
    """Frame count (what a sequential decode yields) and size, from one demux pass without decoding.

    Decode-order files (AVI and the like) are decoded once to count, since their packets need not
    map one to one to frames.
    """
    return _indexed(os.fspath(path))[1]


class _Untrusted(Exception):
    """After a seek the packets differ from the index (MPEG-PS resyncs mid-frame): decode from the start."""


class VideoReader:
    """One open video; ``decoded`` counts frames decoded so far (to check that seeking works).

    Reads continue from where the previous :meth:`frames` call stopped when that is cheaper than a
    seek, so a reader reused for consecutive windows decodes each stretch once.
    """

    def __init__(self, path: str) -> None:
        self.path = os.fspath(path)
        self.key = _file_key(self.path)
        self.index, self.header = _indexed(self.path)
        self._container: av.container.InputContainer | None = None
        self._decoding: Iterator[tuple[int, av.VideoFrame]] = iter(())
        self._position = -1  # last frame taken from ``_decoding``
        self.decoded = 0

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
        self._decoding, self._position = iter(()), -1

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rank(self, packet: av.Packet[Any]) -> int:
        """Frame index of a packet after a seek, checked against the index by timestamp and size."""
        stamps, sizes = self.index.pts, self.index.sizes
        assert stamps is not None and sizes is not None
        rank = int(np.searchsorted(stamps, packet.pts)) if packet.pts is not None else stamps.size
        if rank >= stamps.size or stamps[rank] != packet.pts or sizes[rank] != packet.size:
            raise _Untrusted
        return rank

    def _frames_from(self, container: av.container.InputContainer, fresh: bool,
                     limit: int = 0) -> Iterator[tuple[int, av.VideoFrame]]:
        """``(index, frame)`` decoded from the start (``fresh``) or from the first keyframe packet after a seek;
        nothing when that keyframe is past frame ``limit`` (the seek landed too late)."""
        stream = container.streams.video[0]
        stamps = self.index.pts
        expected = 0 if fresh else -1
        start_pts = None
        packet = None
        try:
            for packet in container.demux(stream):
                if not fresh and packet.size:
                    if expected < 0 and not packet.is_keyframe:
                        continue
                    rank = self._rank(packet)
                    if expected < 0:
                        if rank > limit:
                            return
                        expected, start_pts = rank, packet.pts
                elif expected < 0:
                    return  # the seek went past the last keyframe
                for frame in packet.decode():
                    self.decoded += 1
                    if stamps is not None:
                        if start_pts is not None and frame.pts is not None and frame.pts < start_pts:
                            continue  # decoded before the keyframe (open GOP): its references are missing
                        if expected >= stamps.size or frame.pts != stamps[expected]:
                            want = stamps[expected] if expected < stamps.size else "none (past the indexed end)"
                            raise SourceError(self.path, f"decoded frame has timestamp {frame.pts} where the packets "
                                              f"say {want} (damaged stream, or packets that are not one frame each)",
                                              frame=expected)
                    yield expected, frame
                    expected += 1
        except av.FFmpegError as exc:
            raise SourceError(self.path, f"cannot decode video ({exc})", frame=self._failed(packet, expected)) from exc

    def _failed(self, packet: av.Packet[Any] | None, expected: int) -> int:
        """The frame a decode error belongs to: the failing packet's, where the index knows it."""
        stamps = self.index.pts
        if stamps is not None and packet is not None and packet.pts is not None:
            rank = int(np.searchsorted(stamps, packet.pts))
            if rank < stamps.size and stamps[rank] == packet.pts:
                return rank
        return max(expected, 0)  # decode order: the next frame due (the decoder may hold a few back)

    def _restart(self) -> None:
        """Decode from the first frame (a fresh open: no seek to trust)."""
        self.close()
        self._container = _open(self.path)
        self._decoding = self._frames_from(self._container, fresh=True)

    def _seek(self, target: int) -> None:
        """Position before ``target`` from the closest keyframe at or before it that a seek really reaches.

        Demuxers seek by dts or by bytes, so a seek to the keyframe's pts can land after it: each retry
        aims at a frame further back (1, 2, 4, ... frames before the keyframe).
        """
        keyframes, stamps = self.index.keyframes, self.index.pts
        assert stamps is not None
        at = int(np.searchsorted(keyframes, target, side="right")) - 1
        keyframe = int(keyframes[at]) if at >= 0 else 0
        back = 0
        while keyframe - back > 0:
            if self._container is None:
                self._container = _open(self.path)
            try:
                self._container.seek(int(stamps[keyframe - back]), backward=True, any_frame=False,
                                     stream=self._container.streams.video[0])
            except av.FFmpegError as exc:
                raise SourceError(self.path, f"cannot seek ({exc})", frame=target) from exc
            decoding = self._frames_from(self._container, fresh=False, limit=target)
            try:
                first = next(decoding, None)
            except _Untrusted:
                break
            if first is not None:
                self._decoding, self._position = itertools.chain([first], decoding), first[0] - 1
                return
            back = max(2 * back, 1)
        self._restart()

    def _move_to(self, target: int) -> None:
        """Seek or restart when continuing from the current position is not the cheapest way to ``target``."""
        if self._container is not None and target > self._position:
            if self.index.pts is None:
                return
            keyframes = self.index.keyframes
            at = int(np.searchsorted(keyframes, target, side="right")) - 1
            if at < 0 or int(keyframes[at]) <= self._position + 1:
                return  # no keyframe ahead of the position: decoding on is cheapest
        if self.index.pts is None or target == 0:
            self._restart()
        else:
            self._seek(target)

    def _take(self, target: int) -> av.VideoFrame:
        for index, frame in self._decoding:
            self._position = index
            if index == target:
                return frame
        ended = self._position + 1
        self.close()
        raise SourceError(self.path, f"video ends after {ended} frames, {self.index.frames} were indexed",
                          frame=target)

    def frames(self, wanted: Sequence[int]) -> Iterator[tuple[int, av.VideoFrame]]:
        """Yield ``(index, frame)`` for each of ``wanted`` (ascending, distinct), decoding each once; a frame
        turned otherwise than the probe's first is a SourceError (:func:`check_turns`)."""
        for target in wanted:
            if not 0 <= target < self.index.frames:
                raise SourceError(self.path, f"frame is past the end of the video ({self.index.frames} frames)",
                                  frame=target)
            try:
                self._move_to(target)
                try:
                    frame = self._take(target)
                except _Untrusted:
                    self._restart()
                    frame = self._take(target)
                check_turns(frame, self.header, self.path, target)  # read at the probed size, it must agree
            except SourceError:
                self.close()
                raise
            yield target, frame


_pool: OrderedDict[str, VideoReader] = OrderedDict()
_pool_lock = threading.Lock()
_pool_pid = os.getpid()


@contextmanager
def open_video(path: str) -> Iterator[VideoReader]:
    """A reader for ``path``, reused from earlier windows when the file is unchanged (per process, per thread
    of use: a reader is taken out of the pool while in use). One that fails is closed, not kept."""
    global _pool_pid
    path = os.fspath(path)
    with _pool_lock:
        if _pool_pid != os.getpid():  # forked: the parent's open files are not ours to move
            _pool.clear()
            _pool_pid = os.getpid()
        reader = _pool.pop(path, None)
    if reader is not None and reader.key != _file_key(path):
        reader.close()
        reader = None
    reader = reader or VideoReader(path)
    try:
        yield reader
    except BaseException:
        reader.close()
        raise
    with _pool_lock:
        _pool[path] = reader
        while len(_pool) > POOL_SIZE:
            _pool.popitem(last=False)[1].close()


SWSCALE_THREADS = 1
"""swscale's own threads for every conversion: its default (one per CPU) leaves a thread pool behind
each converted frame, and a process forked while one lives (a DataLoader worker) hangs for good when it
frees that frame; one thread gives the same pixels (see also :func:`single_threaded`)."""

SWSCALE_EXACT = Interpolation.BITEXACT | Interpolation.ACCURATE_RND
"""swscale's flags for every conversion. Without them it picks a converter by CPU, and they round
differently: one yuv420p frame gives three different RGB frames through the C code, SSE2 and SSSE3
(and others on ARM), so a build's pixels, and the bytes of its mp4 shards, would depend on the machine
that made them. With them every CPU computes what the C reference does (as FFmpeg's own tests run)."""


def reformat(frame: av.VideoFrame, format: str, size: tuple[int, int] | None = None) -> av.VideoFrame:
    """``frame`` in pixel format ``format``, scaled by area to ``size`` (h, w) when given: the same
    pixels on every CPU (:data:`SWSCALE_EXACT`), on this thread only (:data:`SWSCALE_THREADS`)."""
    height, width = size if size is not None else (None, None)
    scaling = Interpolation.AREA if size is not None else Interpolation.BILINEAR
    return frame.reformat(width=width, height=height, format=format, interpolation=scaling | SWSCALE_EXACT,
                          threads=SWSCALE_THREADS)


def display_turns(frame: av.VideoFrame) -> int | None:
    """Quarter turns counter-clockwise that the frame's display matrix asks for before it is shown (phones
    store portrait video as landscape frames and say so there; FFmpeg's player and ffmpeg apply it), 0
    without one; None for a matrix that mirrors the picture or turns it by other than a right angle."""
    side_data = cast(Iterable[SideData], frame.side_data)  # typed as a mapping of str, iterated as SideData
    matrix = next((data for data in side_data if data.type == SideDataType.DISPLAYMATRIX), None)
    if matrix is None:
        return 0
    a, b, _, c, d = (int(v) for v in np.frombuffer(bytes(matrix), np.int32)[:5])
    if a * d - b * c == 0:  # an all-zero matrix (some muxers write one): players show the frame as it is
        return 0
    turns = frame.rotation / 90
    if a * d - b * c < 0 or abs(turns - round(turns)) > 1 / 90:
        return None
    return round(turns) % 4


def check_turns(frame: av.VideoFrame, header: VideoHeader, path: str, index: int) -> None:
    """A SourceError when frame ``index`` asks to be turned otherwise than the file's first frame (a
    display-orientation message mid-clip): read at the probed size it would come out squashed."""
    if display_turns(frame) != header.turns:
        raise SourceError(path, f"its display matrix turns this frame otherwise than the first ({display_turns(frame)} "
                                f"quarter turns, not {header.turns}), which rvm-data does not follow", frame=index)


_ROTATE = {1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_CLOCKWISE}


def _upright(frame: av.VideoFrame, format: str, size: tuple[int, int] | None) -> np.ndarray:
    """The frame in ``format`` as its display matrix shows it, ``size`` (h, w) being the size shown (which
    :func:`probe_video` gives: the frame's own, turned, and widened or narrowed for non-square pixels)."""
    turns = display_turns(frame) or 0  # other matrices are refused when the file is indexed (_shown_turns)
    stored = size[::-1] if size is not None and turns % 2 else size
    if stored == (frame.height, frame.width):
        stored = None  # no scaling: the same pixels as a conversion at the frame's own size
    pixels: np.ndarray = reformat(frame, format, stored).to_ndarray()
    return cv2.rotate(pixels, _ROTATE[turns]) if turns else pixels


def frame_to_rgb(frame: av.VideoFrame, size: tuple[int, int] | None = None) -> np.ndarray:
    """RGB uint8 H×W×3 as the file's display matrix shows it, scaled to ``size`` (h, w) when given
    (see :func:`reformat`)."""
    return _upright(frame, "rgb24", size)


def frame_to_gray(frame: av.VideoFrame, size: tuple[int, int] | None = None) -> np.ndarray:
    """Luma as full-range uint8 H×W (how alpha mattes are stored in video files), shown as
    :func:`frame_to_rgb` shows colour."""
    return _upright(frame, "gray", size)
