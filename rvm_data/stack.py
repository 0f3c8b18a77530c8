"""The libraries and machine kind that decide a sample's bytes, recorded with every build.

A recipe and rvm_data's version fix what a sample *is*; its exact bytes also depend on the decoders,
warps and encoders that make them (another OpenCV rounds a warp otherwise, another FFmpeg decodes and
encodes otherwise, an arm64 machine's SIMD rounds OpenCV's warps otherwise). A build records this stack
in its manifest, a resumed build on another one is refused, and a dask worker on another one stops its
build, so one folder never holds samples made by two stacks.
"""

from __future__ import annotations

import functools
import platform
from typing import Any


def pixel_stack() -> dict[str, str]:
    """Name -> version of what makes the pixels and bytes of a sample here, and the machine kind (a new
    dict each call: a manifest keeps it)."""
    return dict(_pixel_stack())


@functools.cache
def _pixel_stack() -> dict[str, str]:
    import av
    import cv2
    import numpy as np
    import PIL
    import simplejpeg

    ffmpeg = ", ".join(f"{name} {'.'.join(map(str, version))}" for name, version in
                       sorted(av.library_versions.items()) if name in ("libavcodec", "libavformat", "libswscale"))
    return {"numpy": np.__version__, "opencv": cv2.__version__, "av": av.__version__, "ffmpeg": ffmpeg,
            "simplejpeg": simplejpeg.__version__, "pillow": PIL.__version__, "machine": platform.machine(),
            "opencv_simd": _opencv_simd(cv2)}


def _opencv_simd(cv2: Any) -> str:
    """The SIMD level that decides how OpenCV's warps and blur round: on x86-64 its AVX2 code and the
    code below it round differently (AVX2 and AVX-512 machines agree); elsewhere the machine kind says it."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return "native"
    dispatched = cv2.getCPUFeaturesLine().split()  # "*AVX2" in use, "*AVX2?" built but not usable here
    return "AVX2" if any(feature.lstrip("*") == "AVX2" for feature in dispatched) else "below AVX2"


def stack_differences(recorded: dict[str, str], here: dict[str, str], where: str = "here") -> list[str]:
    """``name A (here B)`` for each entry that differs, in name order; empty when the stacks agree."""
    return [f"{name} {recorded.get(name, 'none')} ({where} {here.get(name, 'none')})"
            for name in sorted(set(recorded) | set(here)) if recorded.get(name) != here.get(name)]
