"""Frame codecs for shard members: standard encodings only, deterministic bytes, fast decode.

A field with 3 channels (fgr, bgr, img) uses the colour codec, a field with 1 channel (pha, seg)
the alpha codec. Still-image codecs store one member per frame (``<field>.<t:04d>.<ext>``); the
video codecs store the whole sequence in one member (``<field>.<ext>``). Each extension's
:class:`Encoding` (encode, header, decode) is registered in :data:`ENCODINGS`, where readers look a
member's up by its extension.
"""

from __future__ import annotations

import io
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass

import av
import cv2
import numpy as np

from rvm_data.errors import ConfigError, RvmDataError
from rvm_data.shards.layout import clip_suffix, frame_suffix
from rvm_data.sources.video import frame_to_gray, frame_to_rgb, reformat, single_threaded

COLOR_CODECS = ("jpg", "webp", "png", "mp4")
ALPHA_CODECS = ("png", "mkv")
IMAGE_EXTS = ("jpg", "webp", "png")
VIDEO_EXTS = ("mp4", "mkv")


MEMORY_ENV = "RVM_DATA_MEMORY_LIMIT_GIB"
VIDEO_BLOCK = 16  # mp4 frame sides must be multiples of this: see rvm_data.recipe.check_video_sizes


class CodecError(RvmDataError, ValueError):
    """A member could not be decoded (the caller adds shard and member names)."""


def memory_limit() -> int:
    """Bytes one sample (or batch) may take: ``$RVM_DATA_MEMORY_LIMIT_GIB`` GiB, else half the machine's RAM.

    Checked before anything that size is allocated, so a hostile or mistyped size is a clear error rather
    than a machine that swaps or a process the kernel kills.
    """
    text = os.environ.get(MEMORY_ENV)
    if text:
        try:
            gib = float(text)
        except ValueError:
            gib = -1.0
        if not gib > 0:
            raise CodecError(f"{MEMORY_ENV}={text[:40]!r} is not a positive number of GiB")
        return int(gib * 2**30)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError):
        return 8 * 2**30


def gib(n: int) -> str:
    """Bytes as GiB for messages."""
    return f"{n / 2**30:.1f} GiB"


@dataclass(frozen=True)
class CodecConfig:
    """How the frames of a sample are stored.

    color: jpg | webp (lossy, ``quality``) | png (lossless) | mp4 (H.264, ``crf``, whole sequence)
    alpha: png (lossless 8-bit grayscale, one member per frame) | mkv (FFV1 lossless, whole sequence)
    """

    color: str = "jpg"
    quality: int = 95
    alpha: str = "png"
    png_level: int = 1
    crf: int = 16

    def __post_init__(self) -> None:
        if self.color not in COLOR_CODECS:
            raise ConfigError("codec.color", f"must be one of {COLOR_CODECS}, got {self.color!r}")
        if self.alpha not in ALPHA_CODECS:
            raise ConfigError("codec.alpha", f"must be one of {ALPHA_CODECS}, got {self.alpha!r}")
        if not 1 <= self.quality <= 100:
            raise ConfigError("codec.quality", f"must be in [1, 100], got {self.quality}")
        if not 0 <= self.png_level <= 9:
            raise ConfigError("codec.png_level", f"must be in [0, 9], got {self.png_level}")
        if not 0 <= self.crf <= 51:
            raise ConfigError("codec.crf", f"must be in [0, 51], got {self.crf}")

    def codec_for(self, channels: int) -> str:
        if channels == 3:
            return self.color
        if channels == 1:
            return self.alpha
        raise ValueError(f"only 1- or 3-channel fields can be stored, got {channels} channels")


def _image_params(ext: str, codec: CodecConfig) -> list[int]:
    if ext == "jpg":
        return [cv2.IMWRITE_JPEG_QUALITY, codec.quality]
    if ext == "webp":
        return [cv2.IMWRITE_WEBP_QUALITY, codec.quality]
    return [cv2.IMWRITE_PNG_COMPRESSION, codec.png_level]


def encode_image(frame: np.ndarray, ext: str, codec: CodecConfig) -> bytes:
    """One H×W×C uint8 RGB (or H×W×1) frame to jpg/webp/png bytes."""
    pixels = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR) if frame.shape[-1] == 3 else frame[..., 0]
    ok, buf = cv2.imencode("." + ext, pixels, _image_params(ext, codec))
    if not ok:
        raise CodecError(f"OpenCV could not encode a {frame.shape} frame as {ext}")
    return buf.tobytes()


def _encode_video(frames: np.ndarray, ext: str, codec: CodecConfig) -> bytes:
    """A T×H×W×C sequence as one H.264 mp4 (colour) or FFV1 mkv (alpha, lossless)."""
    t, h, w, c = frames.shape
    if ext == "mp4" and (h % VIDEO_BLOCK or w % VIDEO_BLOCK):
        raise CodecError(f"mp4 frames must be multiples of {VIDEO_BLOCK} on both sides (libx264 does not encode "
                         f"other sizes reproducibly), got {h}x{w}")
    buf = io.BytesIO()
    fmt = "mp4" if ext == "mp4" else "matroska"
    with av.open(buf, "w", format=fmt, options={"fflags": "+bitexact"}) as container:
        if ext == "mp4":
            stream = container.add_stream("libx264", rate=25)
            stream.pix_fmt = "yuv420p"
            # mbtree off: with it libx264 reads memory it has not set (valgrind, 32x48 to 64x80 frames), and
            # the same pixels gave other bytes after other work in the process or on another machine
            stream.options = {"crf": str(codec.crf), "preset": "fast", "threads": "1", "x264-params": "mbtree=0"}
            in_fmt = "rgb24"
        else:
            stream = container.add_stream("ffv1", rate=25)
            stream.pix_fmt = "gray"
            stream.options = {"threads": "1"}
            in_fmt = "gray"
        stream.width, stream.height = w, h
        stream.codec_context.flags |= av.codec.context.Flags.bitexact
        for frame in frames:
            pixels = frame if c == 3 else frame[..., 0]
            frame_in = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format=in_fmt)
            if in_fmt != stream.pix_fmt:  # converted here, the same on every CPU (see reformat)
                frame_in = reformat(frame_in, stream.pix_fmt)
            for packet in stream.encode(frame_in):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def encode_field(field: str, frames: np.ndarray, codec: CodecConfig) -> list[tuple[str, bytes]]:
    """A T×H×W×C uint8 field as member suffixes (``fgr.0000.jpg`` or ``fgr.mp4``) and bytes."""
    if frames.dtype != np.uint8 or frames.ndim != 4:
        raise ValueError(f"field {field!r} must be a T×H×W×C uint8 array, got {frames.dtype} {frames.shape}")
    ext = codec.codec_for(frames.shape[-1])
    enc = ENCODINGS[ext]
    if not enc.per_frame:
        return [(clip_suffix(field, ext), enc.encode(frames, codec))]
    return [(frame_suffix(field, t, ext), enc.encode(frame, codec)) for t, frame in enumerate(frames)]


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}  # colour type -> channels as OpenCV decodes them


def image_header(data: bytes | memoryview, ext: str) -> tuple[int, int, int]:
    """(height, width, channels) of jpg/png/webp bytes from their header alone, nothing decoded.

    OpenCV has no header-only API, and a 1 MB png can hold a 30000×30000 image: the size must be known
    before decoding allocates it. Channels are what :func:`decode_image` would give (before its checks).
    """
    head = bytes(data[:64])
    try:
        if ext == "png":
            if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
                raise CodecError("not a png (no PNG signature and IHDR chunk)")
            if head[24] != 8:
                raise CodecError(f"png has {head[24]}-bit samples, expected 8-bit")
            if head[25] not in _PNG_CHANNELS:
                raise CodecError(f"png colour type {head[25]} is not valid")
            return (int.from_bytes(head[20:24], "big"), int.from_bytes(head[16:20], "big"), _PNG_CHANNELS[head[25]])
        if ext == "webp":
            return _webp_header(head)
        if ext == "jpg":
            return _jpeg_header(memoryview(data))  # a jpg's frame header follows its APP segments
    except IndexError:
        raise CodecError(f"{ext} header is truncated ({len(data)} bytes)") from None
    raise CodecError(f"unknown image extension {ext!r}")


def _webp_header(head: bytes) -> tuple[int, int, int]:
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        raise CodecError("not a webp (no RIFF/WEBP header)")
    chunk, body = head[12:16], head[20:]
    if chunk == b"VP8 ":
        if body[3:6] != b"\x9d\x01\x2a":
            raise CodecError("webp VP8 frame has no start code")
        return (int.from_bytes(body[8:10], "little") & 0x3FFF, int.from_bytes(body[6:8], "little") & 0x3FFF, 3)
    if chunk == b"VP8L":
        if body[0] != 0x2F:
            raise CodecError("webp VP8L frame has no signature")
        bits = int.from_bytes(body[1:5], "little")
        return ((bits >> 14 & 0x3FFF) + 1, (bits & 0x3FFF) + 1, 4 if bits >> 28 & 1 else 3)
    if chunk == b"VP8X":
        return (int.from_bytes(body[7:10], "little") + 1, int.from_bytes(body[4:7], "little") + 1,
                4 if body[0] & 0x10 else 3)
    raise CodecError(f"webp has an unknown first chunk {chunk!r}")


def _jpeg_header(head: memoryview) -> tuple[int, int, int]:
    if bytes(head[:2]) != b"\xff\xd8":
        raise CodecError("not a jpg (no SOI marker)")
    pos = 2
    while True:
        if head[pos] != 0xFF:
            raise CodecError("jpg segment does not start with a marker")
        while head[pos] == 0xFF:  # fill bytes
            pos += 1
        marker = head[pos]
        pos += 1
        if marker in (0x01, *range(0xD0, 0xD8)):  # no length field
            continue
        if marker in (0xD9, 0xDA):
            raise CodecError("jpg has no frame header (SOF) before its scan")
        if marker in _JPEG_SOF:
            return int.from_bytes(head[pos + 3:pos + 5], "big"), int.from_bytes(head[pos + 5:pos + 7], "big"), 3
        length = int.from_bytes(head[pos:pos + 2], "big")
        if length < 2:
            raise CodecError(f"jpg segment {marker:#04x} has length {length}")
        pos += length


def check_size(found: tuple[int, int], expected: tuple[int, int] | None) -> None:
    """Refuse a frame whose H×W is not the one expected, before it is decoded."""
    if expected is not None and tuple(found) != tuple(expected):
        raise CodecError(f"frame is {found[0]}x{found[1]}, expected {expected[0]}x{expected[1]} (not decoded)")


def decode_image(data: bytes | memoryview, ext: str) -> np.ndarray:
    """jpg/webp/png bytes to an H×W×C uint8 RGB (or H×W×1) array."""
    if ext not in IMAGE_EXTS:
        raise CodecError(f"unknown image extension {ext!r}")
    buf = np.frombuffer(data, np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR_RGB if ext == "jpg" else cv2.IMREAD_UNCHANGED) if buf.size else None
    if img is None:
        raise CodecError(f"not a decodable {ext} image ({buf.size} bytes)")
    if img.dtype != np.uint8:
        raise CodecError(f"expected 8-bit pixels, got {img.dtype}")
    if img.ndim == 2:
        return img[..., None]
    if img.shape[-1] == 4:
        raise CodecError("4-channel images are not a shard field")
    return img if ext == "jpg" else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def video_header(data: bytes | memoryview) -> tuple[int, int, int, int]:
    """(frames, height, width, channels) of mp4/mkv bytes from the container and its packets, nothing decoded."""
    try:
        with av.open(io.BytesIO(data), "r") as container:
            stream = container.streams.video[0]
            ctx = stream.codec_context
            frames = sum(1 for packet in container.demux(stream) if packet.size)
            return frames, ctx.height, ctx.width, 1 if ctx.pix_fmt in ("gray", "gray8") else 3
    except (av.error.FFmpegError, IndexError, ValueError) as exc:
        raise CodecError(f"not a readable video: {_one_line(exc)}") from None


def decode_video(data: bytes | memoryview, expected: tuple[int, int, int] | None = None) -> np.ndarray:
    """mp4 (rgb) or mkv (gray) bytes to a T×H×W×C uint8 array.

    With ``expected`` (T, H, W) the stream's size (and frame count, where the container records it) is
    checked before decoding and every frame as it comes, and no more than T frames are kept, so a member
    holding more than that never costs more memory.
    """
    frames: list[np.ndarray] = []
    try:
        with av.open(io.BytesIO(data), "r") as container:
            single_threaded(container)  # decoders and conversions: see rvm_data.sources.video
            stream = container.streams.video[0]
            gray = stream.codec_context.pix_fmt in ("gray", "gray8")
            if expected is not None:
                check_size((stream.codec_context.height, stream.codec_context.width), expected[1:])
                if stream.frames and stream.frames != expected[0]:  # mp4 records its count; mkv often not
                    raise CodecError(f"video has {stream.frames} frames, expected {expected[0]} (not decoded)")
            for frame in container.decode(stream):
                if expected is not None:
                    check_size((frame.height, frame.width), expected[1:])
                    if len(frames) == expected[0]:
                        raise CodecError(f"video has more than {expected[0]} frames, expected {expected[0]}")
                frames.append(frame_to_gray(frame) if gray else frame_to_rgb(frame))
    except CodecError:
        raise
    except (av.error.FFmpegError, IndexError, ValueError) as exc:
        raise CodecError(f"not a decodable video: {_one_line(exc)}") from None
    if not frames:
        raise CodecError("video has no frames")
    if expected is not None and len(frames) != expected[0]:
        raise CodecError(f"video has {len(frames)} frames, expected {expected[0]}")
    out = np.stack(frames)
    return out[..., None] if gray else out


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def copy_frame(img: np.ndarray, out: np.ndarray) -> None:
    """Copy an H×W×C frame into a C×H×W slot (a view of a batch array), checking its size."""
    if img.shape != (out.shape[1], out.shape[2], out.shape[0]):
        raise CodecError(f"frame is {img.shape[0]}x{img.shape[1]}x{img.shape[2]}, "
                         f"expected {out.shape[1]}x{out.shape[2]}x{out.shape[0]}")
    if out.shape[0] == 1:
        out[0] = img[..., 0]
    else:
        cv2.split(img, [out[0], out[1], out[2]])


# ----- the registry: one Encoding per member extension ------------------------------------------

class Encoding(ABC):
    """How members of one extension are written and read. ``per_frame``: one member per frame (an image,
    ``<field>.<t>.<ext>``), else one member per field (a video, ``<field>.<ext>``). ``header`` gives
    (T, H, W, C) without decoding, T None for a single frame; ``decode`` gives H×W×C (image) or T×H×W×C."""

    per_frame: bool

    def __init__(self, ext: str) -> None:
        self.ext = ext

    @abstractmethod
    def encode(self, frames: np.ndarray, codec: CodecConfig) -> bytes:
        ...

    @abstractmethod
    def header(self, data: bytes | memoryview) -> tuple[int | None, int, int, int]:
        ...

    @abstractmethod
    def decode(self, data: bytes | memoryview, expected: tuple[int, int, int] | None = None) -> np.ndarray:
        ...


class ImageEncoding(Encoding):
    """jpg, webp, png through OpenCV; ``expected`` (T, H, W) checks H×W from the header before decoding."""

    per_frame = True

    def encode(self, frames: np.ndarray, codec: CodecConfig) -> bytes:
        return encode_image(frames, self.ext, codec)

    def header(self, data: bytes | memoryview) -> tuple[int | None, int, int, int]:
        return (None, *image_header(data, self.ext))

    def decode(self, data: bytes | memoryview, expected: tuple[int, int, int] | None = None) -> np.ndarray:
        if expected is not None:
            check_size(image_header(data, self.ext)[:2], expected[1:])
        return decode_image(data, self.ext)


class VideoEncoding(Encoding):
    """mp4 (H.264, colour) and mkv (FFV1, alpha) through PyAV."""

    per_frame = False

    def encode(self, frames: np.ndarray, codec: CodecConfig) -> bytes:
        return _encode_video(frames, self.ext, codec)

    def header(self, data: bytes | memoryview) -> tuple[int | None, int, int, int]:
        return video_header(data)

    def decode(self, data: bytes | memoryview, expected: tuple[int, int, int] | None = None) -> np.ndarray:
        return decode_video(data, expected)


ENCODINGS: dict[str, Encoding] = {**{ext: ImageEncoding(ext) for ext in IMAGE_EXTS},
                                  **{ext: VideoEncoding(ext) for ext in VIDEO_EXTS}}


def encoding(ext: str) -> Encoding | None:
    """The encoding of members with extension ``ext`` (None for one no codec reads)."""
    return ENCODINGS.get(ext)
