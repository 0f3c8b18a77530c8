"""Turning a loader batch into network input on the device: float conversion, RVM's per-batch
random crop, and the composite ``src = fgr·pha + bgr·(1−pha)``.

The composite is made here, after the crop, rather than in the shards, so the stored
foreground and background stay separable (as the design asks).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F


def to_device(batch: dict[str, Any], keys: tuple[str, ...], device: torch.device) -> list[Tensor]:
    """The named B×T×C×H×W tensors on ``device`` as float32 in [0, 1] (uint8 is sent as is, then scaled)."""
    out = []
    for key in keys:
        if key not in batch:
            raise KeyError(f"batch has no {key!r} (has {sorted(batch)})")
        t = batch[key].to(device, non_blocking=True)
        out.append(t.float() / 255.0 if t.dtype == torch.uint8 else t.float())
    return out


def draw_crop(height: int, width: int, generator: torch.Generator) -> tuple[int, int]:
    """Crop size (h, w) drawn uniformly from [height/2, height) × [width/2, width)."""
    h = int(torch.randint(max(height // 2, 1), max(height, 2), (1,), generator=generator))
    w = int(torch.randint(max(width // 2, 1), max(width, 2), (1,), generator=generator))
    return min(h, height), min(w, width)


def crop_resize(tensors: list[Tensor], size: tuple[int, int]) -> list[Tensor]:
    """Resize (keeping aspect) until the frame just covers ``size``, then take the centre crop.

    For square frames this is RVM's resize to max(h, w) followed by centre crop.
    """
    h, w = size
    height, width = tensors[0].shape[-2:]
    scale = max(h / height, w / width)
    rh, rw = max(h, math.ceil(height * scale - 1e-6)), max(w, math.ceil(width * scale - 1e-6))
    top, left = (rh - h) // 2, (rw - w) // 2
    out = []
    for t in tensors:
        b, n = t.shape[:2]
        r = F.interpolate(t.flatten(0, 1), (rh, rw), mode="bilinear", align_corners=False)
        out.append(r[..., top : top + h, left : left + w].reshape(b, n, t.shape[2], h, w))
    return out


def random_crop(tensors: list[Tensor], generator: torch.Generator) -> list[Tensor]:
    """One random crop shared by all tensors of a batch, so each batch has a new aspect."""
    height, width = tensors[0].shape[-2:]
    return crop_resize(tensors, draw_crop(height, width, generator))


def composite(fgr: Tensor, pha: Tensor, bgr: Tensor) -> Tensor:
    return fgr * pha + bgr * (1 - pha)
