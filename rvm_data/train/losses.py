"""The paper's losses: alpha L1 + Laplacian pyramid + temporal coherence, foreground L1 +
coherence on pixels with alpha > 0, segmentation BCE with logits.

All tensors are B×T×C×H×W floats in [0, 1] (segmentation predictions are logits).
"""

from __future__ import annotations

from typing import cast

import torch
from torch import Tensor
from torch.nn import functional as F

COHERENCE_WEIGHT = 5.0
PYRAMID_LEVELS = 5


def _gauss_kernel(device: torch.device, dtype: torch.dtype) -> Tensor:
    """5×5 binomial kernel (outer product of [1 4 6 4 1] / 16)."""
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], device=device, dtype=dtype)
    return (torch.outer(k, k) / 256.0)[None, None]


def _blur(img: Tensor, kernel: Tensor) -> Tensor:
    n, c, h, w = img.shape
    out = F.conv2d(F.pad(img.reshape(n * c, 1, h, w), (2, 2, 2, 2), mode="reflect"), kernel)
    return out.reshape(n, c, h, w)


def laplacian_pyramid(img: Tensor, levels: int = PYRAMID_LEVELS) -> list[Tensor]:
    """Band-pass levels of an N×C×H×W image; stops early once a level is too small to blur."""
    kernel = _gauss_kernel(img.device, img.dtype)
    bands = []
    current = img
    for _ in range(levels):
        h, w = current.shape[-2:]
        if min(h, w) < 4:
            break
        current = current[..., : h - h % 2, : w - w % 2]
        down = _blur(current, kernel)[..., ::2, ::2]
        up = torch.zeros_like(current)
        up[..., ::2, ::2] = down * 4
        bands.append(current - _blur(up, kernel))
        current = down
    return bands


def laplacian_loss(pred: Tensor, true: Tensor, levels: int = PYRAMID_LEVELS) -> Tensor:
    """Sum over levels of 2^level · L1 between band-pass images, divided by ``levels``."""
    n = pred.shape[0]
    bands = laplacian_pyramid(torch.cat([pred, true]), levels)
    # sum() starts from 0, which the first tensor term turns into a tensor
    return cast(Tensor, sum((2.0**i) * F.l1_loss(b[:n], b[n:]) for i, b in enumerate(bands))) / levels


def coherence_loss(pred: Tensor, true: Tensor) -> Tensor:
    """MSE between frame-to-frame differences, ×5; zero for single frames."""
    if pred.shape[1] < 2:
        return pred.new_zeros(())
    return F.mse_loss(pred[:, 1:] - pred[:, :-1], true[:, 1:] - true[:, :-1]) * COHERENCE_WEIGHT


def matting_loss(pred_fgr: Tensor, pred_pha: Tensor, true_fgr: Tensor, true_pha: Tensor) -> dict[str, Tensor]:
    """Each term and their sum under ``"total"``."""
    mask = (true_pha > 0).to(pred_fgr.dtype)
    pred_fgr, true_fgr = pred_fgr * mask, true_fgr * mask
    loss = {
        "pha_l1": F.l1_loss(pred_pha, true_pha),
        "pha_laplacian": laplacian_loss(pred_pha.flatten(0, 1), true_pha.flatten(0, 1)),
        "pha_coherence": coherence_loss(pred_pha, true_pha),
        "fgr_l1": F.l1_loss(pred_fgr, true_fgr),
        "fgr_coherence": coherence_loss(pred_fgr, true_fgr),
    }
    loss["total"] = cast(Tensor, sum(loss.values()))
    return loss


def segmentation_loss(pred_seg: Tensor, true_seg: Tensor) -> Tensor:
    """Binary cross-entropy of logits against a {0, 1} mask."""
    return F.binary_cross_entropy_with_logits(pred_seg, true_seg)
