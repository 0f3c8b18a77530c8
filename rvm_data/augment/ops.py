"""Pixel operations (render side): each applies per-frame values fixed by the plan.

They work on whole T x H x W x C uint8 stacks in place, one OpenCV call per frame, and never
touch alpha unless the operation is geometric (warp, blur, sharpen). Colour jitter and grayscale
are linear in RGB, so a frame's brightness, contrast, saturation, hue and grayscale fold into one
3 x 4 matrix applied in a single ``cv2.transform`` pass (albumentations' functional colour ops
would make one full pass and one clamp per adjustment).
"""

from __future__ import annotations

import functools
import math
from typing import cast

import cv2
import numpy as np

from rvm_data.augment.geometry import matmul
from rvm_data.augment.libm import elementwise

INTERPOLATIONS = {"linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC, "nearest": cv2.INTER_NEAREST}
BORDERS = {"reflect": cv2.BORDER_REFLECT_101, "replicate": cv2.BORDER_REPLICATE, "constant": cv2.BORDER_CONSTANT}

LUMA = np.array([0.2989, 0.587, 0.114])  # torchvision's rgb_to_grayscale weights
_GRAY = np.tile(LUMA, (3, 1))
_SHARPEN_KERNEL = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], dtype=np.float32) / 13.0  # torchvision's smoothing


def warp_frame(
    packed: np.ndarray,
    outputs: np.ndarray,
    matrices: np.ndarray,
    color: np.ndarray,
    alpha: np.ndarray | None = None,
    *,
    interpolation: str,
    border: str,
    scratch: np.ndarray | None = None,
) -> None:
    """``color[t]`` (and ``alpha[t]``) = the source frame ``packed`` warped by ``matrices[t]``, for each output
    frame t in ``outputs``; an output whose matrix equals an earlier one's is copied.

    ``packed`` is h×w×4, RGB then alpha (or 255): OpenCV's SIMD bilinear warp is about twice as fast on four
    channels as on three, and colour and alpha then share one sampling grid by construction. ``scratch``, an
    H×W×4 buffer for the warped frame, may be passed to reuse one across calls.
    """
    height, width = color.shape[1:3]
    flags = INTERPOLATIONS[interpolation]
    mode = BORDERS[border]
    warped = np.empty((height, width, 4), np.uint8) if scratch is None else scratch
    done: dict[bytes, int] = {}
    for t in outputs.tolist():
        key = matrices[t].tobytes()
        if key in done:
            color[t] = color[done[key]]
            if alpha is not None:
                alpha[t] = alpha[done[key]]
            continue
        done[key] = t
        cv2.warpAffine(packed, matrices[t], (width, height), dst=warped, flags=flags, borderMode=mode, borderValue=0)
        cv2.cvtColor(warped, cv2.COLOR_RGBA2RGB, dst=color[t])
        if alpha is not None:  # two SIMD copies: a third of mixChannels' time
            cv2.extractChannel(warped, 3, dst=alpha[t, :, :, 0])


def hue_rotation(turns: float) -> np.ndarray:
    """Rotate RGB about the gray axis by ``turns`` of a full circle (positive: red towards green);
    greys stay grey and the channel mean is kept."""
    a = 2.0 * np.pi * turns
    k = np.full(3, 1.0 / np.sqrt(3.0))
    cross = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    cos, sin = math.cos(a), math.sin(a)  # the C library's, the same on every CPU (see augment.libm)
    rotation: np.ndarray = cos * np.eye(3) + sin * cross + (1.0 - cos) * np.outer(k, k)
    return rotation


def frame_means(stack: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    """Mean gray level of each frame (inside ``alpha > 0`` when given), the pivot of contrast."""
    means = np.empty(stack.shape[0])
    for t in range(stack.shape[0]):
        mask = None if alpha is None else (alpha[t, ..., 0] > 0).astype(np.uint8)
        if mask is not None and not mask.any():
            means[t] = 127.5
            continue
        r, g, b = cv2.mean(stack[t], mask=mask)[:3]
        means[t] = r * LUMA[0] + g * LUMA[1] + b * LUMA[2]  # in this order on every CPU (see geometry.matmul)
    return means


def color_matrices(
    frames: int,
    color: dict[str, list[float]] | None,
    grayscale: bool,
    means: np.ndarray | None,
) -> np.ndarray:
    """One 3 x 4 RGB matrix per frame doing brightness, contrast (about the frame's mean gray),
    saturation, hue, then grayscale, in torchvision's order (without its clamps in between)."""
    mats = np.zeros((frames, 3, 4))
    for t in range(frames):
        lin, offset = np.eye(3), 0.0
        if color is not None:
            b, c = color["brightness"][t], color["contrast"][t]
            s, h = color["saturation"][t], color["hue"][t]
            sat = s * np.eye(3) + (1.0 - s) * _GRAY
            lin = matmul(hue_rotation(h), sat) * (b * c)
            assert means is not None  # callers pass the frames' means with colour values
            offset = (1.0 - c) * b * means[t]  # greys are fixed points of saturation and hue
        if grayscale:
            lin = matmul(_GRAY, lin)
        mats[t, :, :3] = lin
        mats[t, :, 3] = offset
    return mats


def apply_color(stack: np.ndarray, matrices: np.ndarray) -> None:
    """Apply frame t's 3 x 4 matrix to frame t, in place; one call for the whole stack when every
    frame has the same matrix (grayscale alone, a still clip)."""
    if np.all(matrices == matrices[0]):
        flat = stack.reshape(-1, stack.shape[2], 3)
        cv2.transform(flat, matrices[0], dst=flat)
        return
    for t in range(stack.shape[0]):
        cv2.transform(stack[t], matrices[t], dst=stack[t])


@functools.cache
def _gaussian_quantiles() -> np.ndarray:
    """65,536 equally likely values of a standard normal (its quantiles at (i + 0.5) / 65536),
    rescaled to exactly zero mean and unit variance. Indexing this table with uniform 16-bit
    integers draws Gaussian noise about six times faster than ``Generator.standard_normal``."""
    x = np.linspace(-6.0, 6.0, 24001)
    cdf = 0.5 * (1.0 + np.array([math.erf(v / math.sqrt(2.0)) for v in x]))
    table = np.interp((np.arange(65536) + 0.5) / 65536.0, cdf, x)
    standard: np.ndarray = (table - table.mean()) / table.std()
    return standard


def add_noise(
    stacks: list[np.ndarray],
    clock: list[int],
    grain: list[float],
    strength: list[float] | list[list[float]],
    monochrome: bool,
    seed: int,
) -> None:
    """Add Gaussian grain (std ``strength`` of full scale, blobs of ``grain`` pixels) to each
    stack, independent noise per stack; a paused frame repeats the noise of the frame it holds.
    ``strength`` is one per-frame list shared by every stack, or one such list per stack (RVM
    draws a strength per layer)."""
    rng = np.random.default_rng(seed)
    table = _gaussian_quantiles()
    height, width = stacks[0].shape[1:3]
    channels = 1 if monochrome else 3
    per_stack: list[list[float]]  # np.ndim tells the two forms apart, which mypy cannot narrow by
    if np.ndim(strength) == 1:
        per_stack = [list(cast("list[float]", strength))] * len(stacks)
    else:
        per_stack = [list(s) for s in cast("list[list[float]]", strength)]
    if len(per_stack) != len(stacks):
        raise ValueError(f"add_noise: {len(per_stack)} strength lists for {len(stacks)} stacks")
    for t in range(len(clock)):
        if t > 0 and clock[t] == clock[t - 1]:
            for stack in stacks:
                stack[t] = stack[t - 1]
            continue
        small = (max(1, round(height / grain[t])), max(1, round(width / grain[t])))
        for stack, strengths in zip(stacks, per_stack, strict=True):  # lengths checked above
            scaled = (table * (strengths[t] * 255.0)).astype(np.float32)
            noise: np.ndarray = np.take(scaled, rng.integers(0, 65536, (*small, channels), dtype=np.uint16))
            if small != (height, width):
                noise = cv2.resize(noise, (width, height), interpolation=cv2.INTER_LINEAR)
            noise = noise.reshape(height, width, channels)
            if monochrome:
                noise = cv2.merge([noise] * 3)
            cv2.add(stack[t], noise, dst=stack[t], dtype=cv2.CV_8U)


def sharpen(stack: np.ndarray, factor: float) -> None:
    """torchvision's ``adjust_sharpness`` (RVM's): blend each frame with its 3 x 3 smoothed copy, the
    one-pixel border ring left as it is (torchvision smooths the interior only, so the blend leaves the
    ring unchanged), rounded to the nearest level (RVM blends float frames)."""
    for t in range(stack.shape[0]):
        frame = stack[t] if stack.shape[-1] > 1 else stack[t, ..., 0]
        if min(frame.shape[:2]) < 3:
            continue  # no interior: torchvision returns such an image as it is
        ring = frame[0].copy(), frame[-1].copy(), frame[:, 0].copy(), frame[:, -1].copy()
        smooth = cv2.filter2D(frame, -1, _SHARPEN_KERNEL, borderType=cv2.BORDER_REPLICATE)
        cv2.addWeighted(frame, factor, smooth, 1.0 - factor, 0.0, dst=frame)
        frame[0], frame[-1], frame[:, 0], frame[:, -1] = ring


def gaussian_taps(sigma: float, size: int) -> np.ndarray:
    """A normalised 1-D Gaussian of ``size`` taps (made odd) at integer offsets, PIL's formula (and
    albumentations'). Computed here, not with ``cv2.getGaussianKernel``, whose taps differ in the last
    bits and would change blurred bytes."""
    size = size + 1 if size % 2 == 0 else size
    x = np.arange(-(size // 2), size // 2 + 1, dtype=np.float64)
    taps = elementwise(math.exp, -0.5 * (x / sigma) ** 2)  # the same taps on every CPU (see augment.libm)
    normalised: np.ndarray = taps / taps.sum()
    return normalised


def blur(stack: np.ndarray, sigma: list[float], kernel: str) -> None:
    """Gaussian blur of frame t with ``sigma[t]`` pixels (0: unchanged), separable (one
    ``cv2.sepFilter2D``, reflected border); ``kernel`` is ``rvm`` (width int(2 sigma), as RVM's
    torchvision call) or ``full`` (the whole Gaussian, ``int(3.5 sigma) * 2 + 1`` taps, as PIL)."""
    for t in range(stack.shape[0]):
        if sigma[t] <= 0:
            continue
        size = int(2 * sigma[t]) if kernel == "rvm" else int(float(sigma[t]) * 3.5) * 2 + 1
        if kernel == "rvm" and size < 2:
            continue  # RVM's 1-tap kernel: no blur
        taps = gaussian_taps(float(sigma[t]), size)
        frame = stack[t] if stack.shape[-1] > 1 else stack[t, ..., 0]
        frame[...] = cv2.sepFilter2D(frame, -1, taps, taps)
