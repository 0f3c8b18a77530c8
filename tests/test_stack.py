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
