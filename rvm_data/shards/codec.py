"""Frame codecs for shard members: standard encodings only, deterministic bytes, fast decode.

A field with 3 channels (fgr, bgr, img) uses the colour codec, a field with 1 channel (pha, seg)
the alpha codec. Still-image codecs store one member per frame (``<field>.<t:04d>.<ext>``); the
video codecs store the whole sequence in one member (``<field>.<ext>``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import cv2
import numpy as np

from rvm_data.errors import RvmDataError

COLOR_CODECS = ("jpg", "webp", "png", "mp4")
ALPHA_CODECS = ("png", "mkv")
IMAGE_EXTS = ("jpg", "webp", "png")
VIDEO_EXTS = ("mp4", "mkv")


class CodecError(RvmDataError, ValueError):
    """A member could not be decoded (the caller adds shard and member names)."""


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
            raise ValueError(f"codec.color must be one of {COLOR_CODECS}, got {self.color!r}")
        if self.alpha not in ALPHA_CODECS:
            raise ValueError(f"codec.alpha must be one of {ALPHA_CODECS}, got {self.alpha!r}")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"codec.quality must be in [1, 100], got {self.quality}")
        if not 0 <= self.png_level <= 9:
            raise ValueError(f"codec.png_level must be in [0, 9], got {self.png_level}")
        if not 0 <= self.crf <= 51:
            raise ValueError(f"codec.crf must be in [0, 51], got {self.crf}")

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
    if ext == "mp4" and (h % 2 or w % 2):
        raise ValueError(f"mp4 needs an even frame size, got {h}x{w}")
    buf = io.BytesIO()
    fmt = "mp4" if ext == "mp4" else "matroska"
    with av.open(buf, "w", format=fmt, options={"fflags": "+bitexact"}) as container:
        if ext == "mp4":
            stream = container.add_stream("libx264", rate=25)
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(codec.crf), "preset": "fast", "threads": "1"}
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
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format=in_fmt)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def encode_field(field: str, frames: np.ndarray, codec: CodecConfig) -> list[tuple[str, bytes]]:
    """A T×H×W×C uint8 field as member suffixes (``fgr.0000.jpg`` or ``fgr.mp4``) and bytes."""
    if frames.dtype != np.uint8 or frames.ndim != 4:
        raise ValueError(f"field {field!r} must be a T×H×W×C uint8 array, got {frames.dtype} {frames.shape}")
    ext = codec.codec_for(frames.shape[-1])
    if ext in VIDEO_EXTS:
        return [(f"{field}.{ext}", _encode_video(frames, ext, codec))]
    return [(f"{field}.{t:04d}.{ext}", encode_image(frame, ext, codec)) for t, frame in enumerate(frames)]


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


def decode_video(data: bytes | memoryview) -> np.ndarray:
    """mp4 (rgb) or mkv (gray) bytes to a T×H×W×C uint8 array."""
    try:
        with av.open(io.BytesIO(bytes(data)), "r") as container:
            stream = container.streams.video[0]
            gray = stream.codec_context.pix_fmt in ("gray", "gray8")
            frames = [f.to_ndarray(format="gray" if gray else "rgb24") for f in container.decode(stream)]
    except (av.error.FFmpegError, IndexError) as exc:
        raise CodecError(f"not a decodable video: {exc}") from None
    if not frames:
        raise CodecError("video has no frames")
    out = np.stack(frames)
    return out[..., None] if gray else out


def copy_frame(img: np.ndarray, out: np.ndarray) -> None:
    """Copy an H×W×C frame into a C×H×W slot (a view of a batch array), checking its size."""
    if img.shape != (out.shape[1], out.shape[2], out.shape[0]):
        raise CodecError(f"frame is {img.shape[0]}x{img.shape[1]}x{img.shape[2]}, "
                         f"expected {out.shape[1]}x{out.shape[2]}x{out.shape[0]}")
    if out.shape[0] == 1:
        out[0] = img[..., 0]
    else:
        cv2.split(img, [out[0], out[1], out[2]])
