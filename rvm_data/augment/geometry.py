"""Affine matrices (3x3, homogeneous, pixel-centre coordinates) shared by plan and render.

Plan composes, per stream and frame, one forward matrix from source pixels to output pixels
(static affine, eased motion, aspect crop + resize, flip, camera move); render applies it with a
single ``cv2.warpAffine``. Pixel centres sit at integer coordinates, as in OpenCV.

Every product and inverse here is a fixed sequence of elementwise IEEE operations (:func:`matmul`,
:func:`inverse`, :func:`max_scale`), never BLAS or LAPACK: those pick their kernels by CPU, and the
kernels sum and fuse in different orders, so ``@`` gave matrices differing in the last digit on
another machine, and with them the spec and sometimes the pixels of a sample.
"""

from __future__ import annotations

import math

import numpy as np


def affine(
    center: tuple[float, float],
    angle: float = 0.0,
    translate: tuple[float, float] = (0.0, 0.0),
    scale: float = 1.0,
    shear: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Rotate (degrees, counter-clockwise on screen), shear (degrees) and scale about ``center``
    (x, y), then translate by ``translate`` pixels."""
    cx, cy = center
    a = math.radians(angle)
    rot = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    shx = np.array([[1.0, math.tan(math.radians(shear[0]))], [0.0, 1.0]])
    shy = np.array([[1.0, 0.0], [math.tan(math.radians(shear[1])), 1.0]])
    lin = matmul(matmul(rot, shx), shy) * scale
    m = np.eye(3)
    m[:2, :2] = lin
    m[:2, 2] = np.array([cx + translate[0], cy + translate[1]]) - matmul(lin, np.array([cx, cy]))
    return m


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` (stacks broadcast, ``b`` may be a vector) as products then sums in index order: the
    same bits on every CPU, where BLAS's kernels differ (see the module's docstring)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    vector = b.ndim == 1
    products = a[..., :, :, None] * (b[:, None] if vector else b)[..., None, :, :]  # ... x n x k x m
    out: np.ndarray = products[..., 0, :]
    for k in range(1, products.shape[-2]):
        out = out + products[..., k, :]
    return out[..., 0] if vector else out


def inverse(m: np.ndarray) -> np.ndarray:
    """Inverse of a stack of 3x3 affine matrices (last row 0 0 1), in closed form (see :func:`matmul`)."""
    m = np.asarray(m, np.float64)
    a, b, c, d = m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1]
    det = a * d - b * c
    if not np.all(det):
        raise np.linalg.LinAlgError("singular affine matrix")  # as np.linalg.inv would: a bug upstream
    out = np.zeros_like(m)
    out[..., 0, 0], out[..., 0, 1], out[..., 1, 0], out[..., 1, 1] = d / det, -b / det, -c / det, a / det
    out[..., :2, 2] = -matmul(out[..., :2, :2], m[..., :2, 2:3])[..., 0]
    out[..., 2, 2] = 1.0
    return out


def resize(src_hw: tuple[float, float], dst_hw: tuple[float, float],
           offset: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Map the box of size ``src_hw`` starting at pixel ``offset`` (x, y) onto an image of
    size ``dst_hw``, pixel edges to pixel edges (OpenCV's resize convention)."""
    sx = dst_hw[1] / src_hw[1]
    sy = dst_hw[0] / src_hw[0]
    return np.array(
        [[sx, 0.0, (0.5 - offset[0]) * sx - 0.5], [0.0, sy, (0.5 - offset[1]) * sy - 0.5], [0.0, 0.0, 1.0]]
    )


def hflip(width: int) -> np.ndarray:
    """Mirror an image of ``width`` pixels left to right."""
    return np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def center_crop(src_hw: tuple[int, int], aspect: float) -> tuple[float, float, float, float]:
    """Largest centred box (x0, y0, h, w) of width/height ratio ``aspect`` inside ``src_hw``."""
    h, w = src_hw
    if w / h > aspect:
        ch, cw = float(h), h * aspect
    else:
        ch, cw = w / aspect, float(w)
    return (w - cw) / 2.0, (h - ch) / 2.0, ch, cw


def max_scale(matrices: np.ndarray) -> float:
    """Largest magnification (output pixels per source pixel) over a stack of N x 2 x 3 or
    N x 3 x 3 matrices: the largest singular value of their linear parts."""
    lin = np.asarray(matrices, np.float64)[:, :2, :2]
    a, b, c, d = lin[:, 0, 0], lin[:, 0, 1], lin[:, 1, 0], lin[:, 1, 1]
    # closed form, no cancellation when the two singular values are close (see :func:`matmul`)
    similar, mirror = (a + d) / 2.0, (c - b) / 2.0
    stretch, skew = (a - d) / 2.0, (c + b) / 2.0
    largest = np.sqrt(similar * similar + mirror * mirror) + np.sqrt(stretch * stretch + skew * skew)
    return float(largest.max())


def min_decode_size(matrices: np.ndarray, height: int, width: int) -> tuple[int, int] | None:
    """The smallest decode of a ``height`` x ``width`` source that still gives at least one source
    pixel per output pixel under every matrix of the stack; None when the warp magnifies."""
    scale = max_scale(matrices)
    return None if scale >= 1.0 else (math.ceil(height * scale), math.ceil(width * scale))
