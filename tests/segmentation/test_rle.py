"""COCO RLE decoding: both count forms, against an encoder written in the tests."""

from __future__ import annotations

import numpy as np
import pytest
from seg_fixtures import rle_counts, rle_string

from rvm_data.segmentation.rle import decode_counts_string, decode_rle


def test_hand_made_mask_column_major() -> None:
    # 2 x 3 mask, column by column: (0,0)=0 (1,0)=1 | (0,1)=1 (1,1)=1 | (0,2)=0 (1,2)=0
    rle = {"size": [2, 3], "counts": [1, 3, 2]}
    np.testing.assert_array_equal(decode_rle(rle), [[False, True, False], [True, True, False]])


@pytest.mark.parametrize("seed", range(4))
def test_random_masks_round_trip_both_forms(seed: int) -> None:
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 30, size=2)
    mask = rng.random((h, w)) < rng.uniform(0.05, 0.95)
    counts = rle_counts(mask)
    np.testing.assert_array_equal(decode_rle({"size": [int(h), int(w)], "counts": counts}), mask)
    text = rle_string(counts)
    np.testing.assert_array_equal(decode_counts_string(text), counts)
    np.testing.assert_array_equal(decode_rle({"size": [int(h), int(w)], "counts": text}), mask)
    np.testing.assert_array_equal(decode_rle({"size": [int(h), int(w)], "counts": text.encode()}), mask)


def test_large_counts_and_negative_deltas() -> None:
    counts = [5000, 3, 40, 70000, 1, 2]  # deltas from the third count go negative and back up
    np.testing.assert_array_equal(decode_counts_string(rle_string(counts)), counts)


def test_bad_rles_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="cover 5 pixels"):
        decode_rle({"size": [2, 3], "counts": [1, 4]})
    with pytest.raises(ValueError, match="not an RLE"):
        decode_rle({"counts": [1]})
    with pytest.raises(ValueError, match="middle of a count"):
        decode_counts_string("o")  # 'o' = 63: a group that says more follow, then nothing
