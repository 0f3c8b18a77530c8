"""COCO run-length encoded masks (as YouTubeVIS and COCO store them), decoded with numpy.

An RLE is ``{"size": [height, width], "counts": ...}``: alternating run lengths of 0s and 1s,
starting with 0s, over the mask read column by column (Fortran order). ``counts`` is either a
list of integers (uncompressed) or a string (compressed): each count is written as 5-bit groups,
least significant first, in characters ``chr(48 + group)`` with bit 0x20 meaning "more groups
follow" and bit 0x10 of the last group the sign; from the third count on, the value stored is
the difference to the count two places back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def decode_counts_string(text: str) -> np.ndarray:
    """The run lengths of a compressed COCO RLE string."""
    counts: list[int] = []
    value = shift = 0
    for ch in text.encode("ascii"):
        group = ch - 48
        if not 0 <= group < 64:
            raise ValueError(f"character {chr(ch)!r} cannot appear in a compressed RLE")
        value |= (group & 0x1F) << shift
        shift += 5
        if group & 0x20:
            continue
        if group & 0x10:
            value -= 1 << shift  # sign-extend the last group
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
        value = shift = 0
    if shift:
        raise ValueError("compressed RLE ends in the middle of a count")
    return np.asarray(counts, dtype=np.int64)


def decode_rle(rle: Mapping[str, Any]) -> np.ndarray:
    """A COCO RLE (compressed or not) as an H x W bool mask."""
    try:
        height, width = (int(v) for v in rle["size"])
        counts = rle["counts"]
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"not an RLE (needs 'size' [h, w] and 'counts'): {str(rle)[:80]}") from None
    if isinstance(counts, (bytes, str)):
        runs = decode_counts_string(counts.decode("ascii") if isinstance(counts, bytes) else counts)
    else:
        runs = np.asarray(counts, dtype=np.int64)
    if runs.ndim != 1 or (runs < 0).any():
        raise ValueError("RLE counts must be non-negative run lengths")
    if runs.sum() != height * width:
        raise ValueError(f"RLE runs cover {int(runs.sum())} pixels, the mask has {height}x{width} = {height * width}")
    values = np.arange(len(runs)) % 2 == 1  # runs alternate 0s, 1s, 0s, ...
    flat = np.repeat(values, runs)
    return flat.reshape(width, height).T
