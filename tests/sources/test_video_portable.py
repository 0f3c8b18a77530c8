"""Every pixel conversion through swscale gives the same bytes on every CPU.

swscale picks its converters by CPU, and without ``SWSCALE_EXACT`` they round differently: a build from
video sources, and the mp4 members it writes, had other bytes on another machine (x86-64 and arm64 gave
20 of these 50 digests differently). Each case below runs in a fresh interpreter whose FFmpeg is told
which CPU features it may use (``av_force_cpu_flags``, as FFmpeg's own checkasm does): the C code, SSE2,
SSSE3 and AVX2 without AVX-512 on x86-64, and everything the CPU has. The RGB and luma frames read from
videos of four pixel formats (whole and scaled), and the bytes of an mp4 member and its decode, must
not depend on which.
"""

from __future__ import annotations

import ctypes
import glob
import hashlib
import json
import os
import platform
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

_AV_LIBS = Path(av.__file__).parent.parent / "av.libs"
LIBAVUTIL = sorted(glob.glob(str(_AV_LIBS / "libavutil*.so*")))
CPU_FLAGS = {"everything": -1, "C": 0}  # -1: what av_get_cpu_flags detects; 0: no SIMD at all
if platform.machine() in ("x86_64", "AMD64"):
    # AV_CPU_FLAG_MMX|MMXEXT|SSE|SSE2 (|SSE3|SSSE3), and those with SSE4, SSE4.2, AVX, AVX2 and FMA3 (no AVX-512)
    CPU_FLAGS |= {"SSE2": 0x001B, "SSSE3": 0x00DB, "AVX2": 0x1C3DB}
PIX_FMTS = ("yuv420p", "yuvj420p", "yuv444p", "yuv420p10le")
H, W = 48, 64


def _write_video(path: Path, pix_fmt: str) -> None:
    rng = np.random.default_rng(5)
    ramp = np.linspace(0, 255, W)[None, :, None] * np.array([1.0, 0.4, 0.8])
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(25), options={"crf": "10"})
        stream.width, stream.height, stream.pix_fmt = W, H, pix_fmt
        for t in range(3):
            noise = rng.normal(0, 40, (H, W, 3))
            rgb = np.clip(ramp + noise + 20 * t, 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _digests(videos: dict[str, str]) -> dict[str, str]:
    """What this interpreter's FFmpeg makes of the videos and of one mp4 member (run in a child)."""
    from rvm_data.shards.codec import CodecConfig, decode_video, encode_field
    from rvm_data.sources.video import frame_to_gray, frame_to_rgb, open_video

    out = {}
    for pix_fmt, path in videos.items():
        with open_video(Path(path)) as reader:
            for index, frame in reader.frames([0, 1, 2]):
                conversions = {"rgb": frame_to_rgb(frame, None), "rgb-scaled": frame_to_rgb(frame, (30, 40)),
                               "gray": frame_to_gray(frame, None), "gray-scaled": frame_to_gray(frame, (30, 40))}
                for name, pixels in conversions.items():
                    out[f"{pix_fmt}/{index}/{name}"] = hashlib.sha256(pixels.tobytes()).hexdigest()
    rng = np.random.default_rng(9)
    rendered = np.clip(rng.normal(128, 60, (4, 32, 48, 3)), 0, 255).astype(np.uint8)
    [(_, mp4)] = encode_field("fgr", rendered, CodecConfig(color="mp4", alpha="mkv"))
    out["mp4-member"] = hashlib.sha256(mp4).hexdigest()
    out["mp4-member-decoded"] = hashlib.sha256(decode_video(mp4).tobytes()).hexdigest()
    return out


def _child(flags: int, videos: dict[str, str]) -> None:
    ctypes.CDLL(LIBAVUTIL[0]).av_force_cpu_flags(ctypes.c_int(flags))  # before any converter is made
    print(json.dumps(_digests(videos)))


@pytest.mark.skipif(not LIBAVUTIL, reason=f"PyAV's own libavutil is not in {_AV_LIBS} (not a manylinux wheel)")
def test_conversions_give_the_same_bytes_whatever_simd_the_cpu_has(tmp_path: Path) -> None:
    videos = {}
    for pix_fmt in PIX_FMTS:
        videos[pix_fmt] = str(tmp_path / f"{pix_fmt}.mp4")
        _write_video(Path(videos[pix_fmt]), pix_fmt)
    results = {}
    for name, flags in CPU_FLAGS.items():
        child = subprocess.run([sys.executable, __file__, str(flags), json.dumps(videos)], capture_output=True,
                               text=True, check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        results[name] = json.loads(child.stdout)
    reference = results["everything"]
    assert len(reference) == len(PIX_FMTS) * 3 * 4 + 2
    for name, digests in results.items():
        differ = sorted(key for key in reference if digests[key] != reference[key])
        assert not differ, f"with {name} only, {len(differ)} of {len(reference)} differ, e.g. {differ[:4]}"


if __name__ == "__main__":
    _child(int(sys.argv[1]), json.loads(sys.argv[2]))
