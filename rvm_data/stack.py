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


@functools.cache
def pixel_stack() -> dict[str, str]:
    """Name -> version of what makes the pixels and bytes of a sample here, and the machine kind."""
    import av
    import cv2
    import numpy as np
    import PIL
    import simplejpeg

    ffmpeg = ", ".join(f"{name} {'.'.join(map(str, version))}" for name, version in
                       sorted(av.library_versions.items()) if name in ("libavcodec", "libavformat", "libswscale"))
    return {"numpy": np.__version__, "opencv": cv2.__version__, "av": av.__version__, "ffmpeg": ffmpeg,
            "simplejpeg": simplejpeg.__version__, "pillow": PIL.__version__, "machine": platform.machine()}


def stack_differences(recorded: dict[str, str], here: dict[str, str]) -> list[str]:
    """``name A (here B)`` for each entry that differs, in name order; empty when the stacks agree."""
    return [f"{name} {recorded.get(name, 'none')} (here {here.get(name, 'none')})"
            for name in sorted(set(recorded) | set(here)) if recorded.get(name) != here.get(name)]
