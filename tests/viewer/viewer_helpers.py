"""Tiny synthetic matting samples for the viewer tests (no sources, no engine needed)."""

from __future__ import annotations

import numpy as np


def make_sample(t: int = 3, h: int = 32, w: int = 48, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "fgr": rng.integers(0, 256, (t, h, w, 3), dtype=np.uint8),
        "pha": rng.integers(0, 256, (t, h, w, 1), dtype=np.uint8),
        "bgr": rng.integers(0, 256, (t, h, w, 3), dtype=np.uint8),
    }
