"""render_seg_sample: the pixels of a planned segmentation sample.

The clip has one matrix: each distinct source frame is warped once (bilinear for the image, black
outside, as torchvision's affine fills) and the mask goes through the same matrix without
blending: nearest neighbour, or bilinear thresholded at one half. Colour jitter and grayscale use
ENGINE's fused colour matrix, the same for every frame of the clip.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from rvm_data.augment import geometry, ops
from rvm_data.segmentation.plan import SegSampleSpec
from rvm_data.segmentation.readers import SegCatalog, SegItem


def _item(catalog: SegCatalog, ref: dict[str, Any]) -> SegItem:
    index: int = ref["index"]
    name: str = ref["name"]
    if not 0 <= index < len(catalog.items) or catalog.items[index].name != name:
        raise ValueError(f"segmentation catalog has no item {name!r} at index {index}; "
                         "was the spec planned against another catalog?")
    return catalog.items[index]


def _warp(sources: np.ndarray, which: np.ndarray, matrix: np.ndarray, size: tuple[int, int], flags: int) -> np.ndarray:
    """``out[t] = warp(sources[which[t]])`` for N x h x w (x C) uint8 sources, one warp per source."""
    height, width = size
    warped = np.stack([
        cv2.warpAffine(src, matrix, (width, height), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        for src in sources
    ])
    return np.ascontiguousarray(warped[which])


def render_seg_sample(spec: SegSampleSpec, catalog: SegCatalog) -> dict[str, Any]:
    """``img`` T x H x W x 3 uint8 RGB, ``seg`` T x H x W x 1 uint8 (0 or 255), ``spec`` (dict)."""
    item = _item(catalog, spec.item)
    (height, width), frames = spec.size, spec.frames
    full = np.vstack([np.asarray(spec.matrix, dtype=np.float64), [0.0, 0.0, 1.0]])
    distinct, which = np.unique(spec.source_frames, return_inverse=True)
    src_img, src_seg = item.load(distinct, min_size=geometry.min_decode_size(full[None], item.height, item.width))

    img_matrix = geometry.matmul(full, geometry.resize(src_img.shape[1:3], (item.height, item.width)))[:2]
    img = _warp(src_img, which, img_matrix, (height, width), cv2.INTER_LINEAR)
    nearest = spec.mask_resample == "nearest"
    seg = _warp(src_seg.astype(np.uint8) * np.uint8(255), which, full[:2], (height, width),
                cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR)
    if not nearest:
        seg = np.where(seg >= 128, np.uint8(255), np.uint8(0))
    seg = seg[..., None]

    if spec.color is not None or spec.grayscale:
        color = None if spec.color is None else {k: [v] * frames for k, v in spec.color.items()}
        means = ops.frame_means(img) if color is not None else None
        ops.apply_color(img, ops.color_matrices(frames, color, spec.grayscale, means))
    return {"img": img, "seg": seg, "spec": spec.to_dict()}
