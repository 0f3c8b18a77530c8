"""What a build records as the stack that made its bytes, and how two stacks are told apart."""

from __future__ import annotations

import platform

import cv2
import numpy as np

from rvm_data.stack import pixel_stack, stack_differences


def test_the_stack_names_the_pixel_libraries_and_the_machine_kind():
    stack = pixel_stack()
    assert stack["numpy"] == np.__version__ and stack["opencv"] == cv2.__version__
    assert stack["machine"] == platform.machine()
    assert "libavcodec" in stack["ffmpeg"] and "libswscale" in stack["ffmpeg"]
    assert all(isinstance(value, str) and value for value in stack.values())


def test_differences_name_each_entry_with_both_values():
    here = {"numpy": "2.4.6", "opencv": "5.0.0", "machine": "x86_64"}
    assert stack_differences(here, dict(here)) == []
    recorded = {"numpy": "2.3.0", "opencv": "5.0.0", "pillow": "12.0.0"}
    assert stack_differences(recorded, here) == ["machine none (here x86_64)", "numpy 2.3.0 (here 2.4.6)",
                                                 "pillow 12.0.0 (here none)"]


def test_the_stack_tells_opencv_with_and_without_avx2_apart():
    """OpenCV's warps round otherwise below AVX2 (a few values in a million), so such a machine is another stack."""
    import os
    import subprocess
    import sys

    import pytest

    if pixel_stack()["opencv_simd"] != "AVX2":
        pytest.skip("this CPU has no AVX2 for OpenCV to give up")
    probe = "from rvm_data.stack import pixel_stack; print(pixel_stack()['opencv_simd'])"
    child = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                           env={**os.environ, "OPENCV_CPU_DISABLE": "AVX2,FP16"})
    assert child.stdout.strip() == "below AVX2"
