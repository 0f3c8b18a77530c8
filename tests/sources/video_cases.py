"""Tiny videos in every container/codec PyAV writes here, whose frames show their own index in the pixels.

Each frame is a 3×4 grid of 16×16 blocks, one bit of the frame's write index per block (bright = 1),
so the index survives lossy coding and ``index_of`` reads it back from RGB or luma. ``CASES`` names
the cases (file suffix, container, codec, timing); ``write_case(name, path)`` writes one, so benchmarks
and other tests can reuse them.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

H, W, BLOCK = 48, 64, 16
FRAMES = 45
_ON, _OFF = np.array([230, 220, 120], np.uint8), np.array([20, 40, 70], np.uint8)
_BITS = (H // BLOCK) * (W // BLOCK)


@dataclass(frozen=True)
class Case:
    suffix: str
    format: str
    codec: str
    bframes: int = 0
    rate: Fraction = Fraction(25)
    pts_steps: tuple[int, ...] = ()  # per-frame pts increments (in 1/rate) to make the rate variable
    start: int = 0  # pts of the first frame, in 1/rate
    audio_first: bool = False
    pix_fmt: str = "yuv420p"


_VFR = (1, 1, 3, 1, 2, 1, 1, 5, 1, 1, 1, 4)
CASES: dict[str, Case] = {
    "mp4_h264_bframes": Case(".mp4", "mp4", "libx264", bframes=3),
    "m4v_h264_bframes": Case(".m4v", "mp4", "libx264", bframes=3),
    "mov_h264_bframes": Case(".mov", "mov", "libx264", bframes=3),
    "mkv_h264_bframes": Case(".mkv", "matroska", "libx264", bframes=3),
    "avi_mpeg4_bframes": Case(".avi", "avi", "mpeg4", bframes=2),
    "avi_h264_bframes": Case(".avi", "avi", "libx264", bframes=3),
    "ts_mpeg2_bframes": Case(".ts", "mpegts", "mpeg2video", bframes=2),
    "m2ts_h264_bframes": Case(".m2ts", "mpegts", "libx264", bframes=3),
    "mts_mpeg2": Case(".mts", "mpegts", "mpeg2video"),
    "mpg_mpeg2_bframes": Case(".mpg", "mpeg", "mpeg2video", bframes=2),
    "mpeg_mpeg2": Case(".mpeg", "mpeg", "mpeg2video"),
    "webm_vp9": Case(".webm", "webm", "libvpx-vp9"),
    "flv_flv1": Case(".flv", "flv", "flv"),
    "wmv_wmv2": Case(".wmv", "asf", "wmv2"),
    "asf_msmpeg4": Case(".asf", "asf", "msmpeg4v2"),
    "mp4_start_time": Case(".mp4", "mp4", "libx264", bframes=3, start=7),
    "ts_h264_start_time": Case(".ts", "mpegts", "libx264", bframes=3, start=30),
    "mkv_ntsc": Case(".mkv", "matroska", "libx264", bframes=3, rate=Fraction(30000, 1001)),
    "mp4_ntsc": Case(".mp4", "mp4", "libx264", bframes=3, rate=Fraction(30000, 1001)),
    "mp4_audio_first": Case(".mp4", "mp4", "libx264", bframes=3, audio_first=True),
    "mkv_audio_first": Case(".mkv", "matroska", "libx264", bframes=3, audio_first=True),
    "mkv_vfr": Case(".mkv", "matroska", "libx264", bframes=3, pts_steps=_VFR),
    "mp4_vfr": Case(".mp4", "mp4", "libx264", bframes=3, pts_steps=_VFR),
    "ts_vfr": Case(".ts", "mpegts", "libx264", bframes=3, pts_steps=_VFR),
}


def pattern(index: int) -> np.ndarray:
    """H×W×3 uint8 frame whose blocks spell ``index`` in binary."""
    bits = (index >> np.arange(_BITS)) & 1
    grid = bits.reshape(H // BLOCK, W // BLOCK).repeat(BLOCK, 0).repeat(BLOCK, 1)
    return np.where(grid[..., None] == 1, _ON, _OFF)


def index_of(image: np.ndarray) -> int:
    """The index a decoded frame (H×W×3 RGB or H×W luma) shows."""
    luma = image.mean(axis=2) if image.ndim == 3 else image.astype(np.float32)
    centres = luma[BLOCK // 2::BLOCK, BLOCK // 2::BLOCK].reshape(-1)
    return int(((centres > 128).astype(np.int64) << np.arange(_BITS)).sum())


def write_case(name: str, path: Path, frames: int = FRAMES) -> Path:
    """Write case ``name`` to ``path`` (its suffix should be ``CASES[name].suffix``)."""
    case = CASES[name]
    path.parent.mkdir(parents=True, exist_ok=True)
    steps = np.resize(np.asarray(case.pts_steps or (1,)), frames)
    pts = case.start + np.concatenate([[0], np.cumsum(steps[:-1])])
    with av.open(str(path), "w", format=case.format) as container:
        audio = None
        if case.audio_first:
            audio = container.add_stream("mp2" if case.format == "mpeg" else "aac", rate=48000)
        stream = container.add_stream(case.codec, rate=case.rate)
        stream.width, stream.height, stream.pix_fmt = W, H, case.pix_fmt
        stream.codec_context.gop_size = 12
        stream.codec_context.bit_rate = 2_000_000
        if case.codec == "libx264":
            stream.options = {"crf": "18", "bframes": str(case.bframes), "keyint_min": "12", "sc_threshold": "0"}
        else:
            stream.codec_context.max_b_frames = case.bframes
        for t in range(frames):
            frame = av.VideoFrame.from_ndarray(pattern(t), format="rgb24")
            frame.pts, frame.time_base = int(pts[t]), 1 / case.rate
            container.mux(stream.encode(frame))
            if audio is not None:
                samples, sample_format = audio.codec_context.frame_size or 1024, audio.codec_context.format
                silence = (np.zeros((2, samples), np.float32) if sample_format.is_planar
                           else np.zeros((1, 2 * samples), np.int16))
                sound = av.AudioFrame.from_ndarray(silence, format=sample_format.name, layout="stereo")
                sound.sample_rate = 48000
                container.mux(audio.encode(sound))
        container.mux(stream.encode())
        if audio is not None:
            container.mux(audio.encode())
    return path
