"""Pixel helpers shared by the sheet, grid, clip and window views: sample rows, tiles, captions."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from rvm_data.shards import composite

FONT = cv2.FONT_HERSHEY_SIMPLEX
TEXT_COLOUR = (20, 20, 20)
PAPER = 255  # background value of sheets and grids


def check_matting_sample(sample: dict[str, Any]) -> tuple[int, int, int]:
    """Validate a matting Sample's arrays and return (T, H, W); the views all rely on these shapes."""
    for key, channels in (("fgr", 3), ("pha", 1), ("bgr", 3)):
        if key not in sample:
            raise ValueError(f"sample has no {key!r} array (keys: {sorted(sample)})")
        arr = sample[key]
        if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != channels:
            got = getattr(arr, "shape", type(arr).__name__), getattr(arr, "dtype", "")
            raise ValueError(f"sample[{key!r}] must be a T×H×W×{channels} uint8 array, got {got}")
    shape: tuple[int, int, int] = sample["fgr"].shape[:3]
    if sample["pha"].shape[:3] != shape or sample["bgr"].shape[:3] != shape:
        raise ValueError(
            f"sample arrays disagree in T×H×W: fgr {sample['fgr'].shape}, pha {sample['pha'].shape}, "
            f"bgr {sample['bgr'].shape}"
        )
    return shape


def gray_to_rgb(pha: np.ndarray) -> np.ndarray:
    """Repeat a …×1 alpha into …×3 so it can sit beside colour frames."""
    return np.repeat(pha, 3, axis=-1)


def is_segmentation_sample(sample: dict[str, Any]) -> bool:
    """A segmentation sample holds ``img`` (T×H×W×3) and ``seg`` (T×H×W×1) instead of fgr/pha/bgr."""
    return "img" in sample and "seg" in sample and "fgr" not in sample


def check_segmentation_sample(sample: dict[str, Any]) -> tuple[int, int, int]:
    """Validate a segmentation sample's arrays and return (T, H, W)."""
    for key, channels in (("img", 3), ("seg", 1)):
        arr = sample[key]
        if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != channels:
            got = getattr(arr, "shape", type(arr).__name__), getattr(arr, "dtype", "")
            raise ValueError(f"sample[{key!r}] must be a T×H×W×{channels} uint8 array, got {got}")
    if sample["img"].shape[:3] != sample["seg"].shape[:3]:
        raise ValueError(f"sample arrays disagree in T×H×W: img {sample['img'].shape}, seg {sample['seg'].shape}")
    shape: tuple[int, int, int] = sample["img"].shape[:3]
    return shape


OVERLAY = np.array([255, 40, 40], np.float32)  # the mask's tint in the overlay row


def sample_rows(sample: dict[str, Any]) -> dict[str, np.ndarray]:
    """The T×H×W×3 views of a sample in sheet order, the composite (what a model sees, with its answer)
    last: fgr, pha, bgr, composite for matting; img, seg, overlay (img, the mask tinted red) for
    segmentation."""
    if is_segmentation_sample(sample):
        check_segmentation_sample(sample)
        img, seg = sample["img"], sample["seg"]
        a = seg.astype(np.float32) / 255.0 * 0.5
        overlay = np.clip(img + (OVERLAY - img) * a + 0.5, 0, 255).astype(np.uint8)
        return {"img": img, "seg": gray_to_rgb(seg), "overlay": overlay}
    check_matting_sample(sample)
    return {
        "fgr": sample["fgr"],
        "pha": gray_to_rgb(sample["pha"]),
        "bgr": sample["bgr"],
        "composite": composite(sample["fgr"], sample["pha"], sample["bgr"]),
    }


def fit_height(frame: np.ndarray, height: int) -> np.ndarray:
    """Resize an H×W×3 frame to ``height`` rows keeping its aspect; pixelated when enlarged so tiny
    test samples stay readable instead of blurred."""
    h, w = frame.shape[:2]
    if h == height:
        return np.ascontiguousarray(frame)
    width = max(1, round(w * height / h))
    interp = cv2.INTER_AREA if height < h else cv2.INTER_NEAREST
    return cv2.resize(frame, (width, height), interpolation=interp)


def text_strip(text: str, width: int, height: int, *, align: str = "center") -> np.ndarray:
    """A white height×width×3 strip with ``text`` written in it, shrunk to fit the width."""
    strip = np.full((height, width, 3), PAPER, np.uint8)
    scale = min(height, 24) / 34.0
    (tw, th), _ = cv2.getTextSize(text, FONT, scale, 1)
    if tw > width - 2:
        scale *= (width - 2) / tw
        (tw, th), _ = cv2.getTextSize(text, FONT, scale, 1)
    x = max(1, (width - tw) // 2) if align == "center" else 2
    y = (height + th) // 2
    cv2.putText(strip, text, (x, y), FONT, scale, TEXT_COLOUR, 1, cv2.LINE_AA)
    return strip
