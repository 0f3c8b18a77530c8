"""Transcendental functions of small float64 arrays through the C library, one element at a time.

numpy's own ``exp``, ``exp2``, ``tan``, ``arctan2`` and ``power`` pick SIMD code by CPU, and their
AVX2 and AVX-512 versions round differently in the last bit: that moved the easing curves, shears and
blur taps of a few samples in a hundred on an AVX2 machine (``sin`` and ``cos`` go through here too,
to be safe). The plan's arrays hold a handful of frames, so going through ``math`` costs nothing that
shows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def elementwise(function: Callable[[float], float], x: np.ndarray | float) -> np.ndarray:
    """``function`` (a ``math`` function) of every element of ``x``, as a float64 array of its shape."""
    values = np.asarray(x, np.float64)
    return np.array([function(v) for v in values.ravel().tolist()], np.float64).reshape(values.shape)
