"""Pixel reads for catalogued clips: each distinct frame decoded once, results in the order asked."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .catalog import ClipInfo, Stream
from .errors import SourceError
from .imageio import read_alpha, read_color, read_color_and_alpha, reduction_for
from .video import frame_to_gray, frame_to_rgb, open_video


def _distinct(clip: ClipInfo, indices: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct indices and, for each asked index, its position among them."""
    asked = np.asarray(indices)
    if asked.ndim != 1 or asked.size == 0 or not np.issubdtype(asked.dtype, np.integer):
        raise ValueError(f"clip {clip.name!r}: indices must be a non-empty 1-D sequence of integers, got {indices!r}")
    if asked.min() < 0 or asked.max() >= clip.frames:
        raise SourceError(clip.color.path, f"frame indices {asked.min()}..{asked.max()} out of range for "
                          f"clip {clip.name!r} with {clip.frames} frames")
    return np.unique(asked, return_inverse=True)


def _in_order(frames: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    if inverse.size == frames.shape[0] and np.array_equal(inverse, np.arange(inverse.size)):
        return frames
    reordered: np.ndarray = frames[inverse]
    return reordered


def _fit(image: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Resize a frame whose size differs from the rest of its window (mixed-size folders, fgr vs pha)."""
    if image.shape[:2] == shape[:2]:
        return image
    return cv2.resize(image, (shape[1], shape[0]), interpolation=cv2.INTER_AREA if image.shape[0] > shape[0]
                      else cv2.INTER_LINEAR)


def _video_size(stream: Stream, reduction: int) -> tuple[int, int]:
    """The size to read a video's frames at: as the file shows them (``stream``'s probed size, which
    counts non-square pixels and a display matrix's turn), reduced."""
    return max(stream.height // reduction, 1), max(stream.width // reduction, 1)


def _put(out: np.ndarray, i: int, image: np.ndarray) -> None:
    """Frame ``i`` of an RGB (N×h×w×3) or packed (N×h×w×4, channel 3 set to 255) stack from an RGB image."""
    image = _fit(image, out.shape[1:])
    if out.shape[-1] == 4:
        cv2.cvtColor(image, cv2.COLOR_RGB2RGBA, dst=out[i])
    else:
        out[i] = image


def _read_color(stream: Stream, wanted: np.ndarray, reduction: int, channels: int = 3) -> np.ndarray:
    """Colour frames N×h×w×``channels``: RGB, or RGB plus a fourth channel of 255 (the warp's packed layout),
    decoded straight into the stack where the decoder can."""
    out: np.ndarray | None = None
    if stream.kind == "video":
        size = _video_size(stream, reduction)
        with open_video(stream.path) as reader:
            for i, (_, frame) in enumerate(reader.frames(wanted.tolist())):
                image = frame_to_rgb(frame, size)
                if out is None:
                    out = np.empty((wanted.size, *image.shape[:2], channels), np.uint8)
                _put(out, i, image)
        assert out is not None
        return out
    for i, index in enumerate(wanted.tolist()):
        path = stream.frame_path(index)
        if out is None:
            image = read_color(path, reduction)
            out = np.empty((wanted.size, *image.shape[:2], channels), np.uint8)
            _put(out, 0, image)
            continue
        image = read_color(path, reduction, out=out[i])
        if image.shape != out.shape[1:]:
            _put(out, i, image)
    assert out is not None
    return out


def _read_alpha(stream: Stream, wanted: np.ndarray, shape: tuple[int, ...], out: np.ndarray | None = None,
                channel: int = 0) -> np.ndarray:
    """Alpha frames at ``shape`` (N×h×w×C of the colour), decoded as small as that allows, into channel
    ``channel`` of ``out`` (default: a new N×h×w×1 stack)."""
    reduction = reduction_for(stream.height, stream.width, (shape[1], shape[2]))
    out = np.empty((*shape[:3], 1), np.uint8) if out is None else out

    def put(i: int, image: np.ndarray) -> None:
        image = _fit(image, shape[1:3])
        if out.shape[-1] == 1:
            out[i, :, :, 0] = image
        else:  # a third faster than numpy's strided copy
            cv2.insertChannel(image, out[i], channel)

    if stream.kind == "video":
        size = _video_size(stream, reduction)
        with open_video(stream.path) as reader:
            for i, (_, frame) in enumerate(reader.frames(wanted.tolist())):
                put(i, frame_to_gray(frame, size))
        return out
    for i, index in enumerate(wanted.tolist()):
        put(i, read_alpha(stream.frame_path(index), reduction))
    return out


def _read_color_and_alpha(stream: Stream, wanted: np.ndarray, reduction: int) -> tuple[np.ndarray, np.ndarray]:
    """RGB and the frames' own alpha channel, for foregrounds without a separate matte."""
    color: np.ndarray | None = None
    alpha: np.ndarray | None = None
    for i, index in enumerate(wanted.tolist()):
        rgb, a = read_color_and_alpha(stream.frame_path(index), reduction)
        if color is None or alpha is None:
            color = np.empty((wanted.size, *rgb.shape), np.uint8)
            alpha = np.empty((wanted.size, *rgb.shape[:2], 1), np.uint8)
        color[i] = _fit(rgb, color.shape[1:])
        alpha[i, :, :, 0] = _fit(a, color.shape[1:3])
    assert color is not None and alpha is not None
    return color, alpha


def load_matte(clip: ClipInfo, indices: Sequence[int] | np.ndarray, *,
               min_size: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Foreground RGB N×h×w×3 and alpha N×h×w×1 (uint8, same size) for source frames ``indices``.

    Each distinct index is decoded once; duplicates and any order are allowed. With ``min_size``
    (h, w) frames may be decoded reduced by 2, 4 or 8 while staying at least that big.
    """
    wanted, inverse = _distinct(clip, indices)
    reduction = reduction_for(clip.height, clip.width, min_size)
    if clip.alpha_in_color:
        color, alpha = _read_color_and_alpha(clip.color, wanted, reduction)
        return _in_order(color, inverse), _in_order(alpha, inverse)
    if clip.alpha is None:
        raise SourceError(clip.color.path, f"clip {clip.name!r} has no alpha; it is not a foreground")
    color = _read_color(clip.color, wanted, reduction)
    alpha = _read_alpha(clip.alpha, wanted, color.shape)
    return _in_order(color, inverse), _in_order(alpha, inverse)


def load_background(clip: ClipInfo, indices: Sequence[int] | np.ndarray, *,
                    min_size: tuple[int, int] | None = None) -> np.ndarray:
    """Background RGB N×h×w×3 uint8 for source frames ``indices`` (rules as in :func:`load_matte`)."""
    wanted, inverse = _distinct(clip, indices)
    return _in_order(_read_color(clip.color, wanted, reduction_for(clip.height, clip.width, min_size)), inverse)


def load_matte_packed(clip: ClipInfo, indices: Sequence[int] | np.ndarray, *,
                      min_size: tuple[int, int] | None = None) -> np.ndarray:
    """:func:`load_matte`'s frames as one N×h×w×4 stack, RGB then alpha: the layout the warp takes, with
    JPEG colour decoded straight into it and alpha written beside it (no interleaving pass)."""
    if clip.alpha_in_color or clip.alpha is None:
        color, alpha = load_matte(clip, indices, min_size=min_size)
        packed = np.empty((*color.shape[:3], 4), np.uint8)
        for i in range(color.shape[0]):
            cv2.mixChannels([color[i], alpha[i]], [packed[i]], [0, 0, 1, 1, 2, 2, 3, 3])
        return packed
    wanted, inverse = _distinct(clip, indices)
    packed = _read_color(clip.color, wanted, reduction_for(clip.height, clip.width, min_size), channels=4)
    _read_alpha(clip.alpha, wanted, packed.shape, out=packed, channel=3)
    return _in_order(packed, inverse)


def load_background_packed(clip: ClipInfo, indices: Sequence[int] | np.ndarray, *,
                           min_size: tuple[int, int] | None = None) -> np.ndarray:
    """:func:`load_background`'s frames as N×h×w×4, RGB then a channel of 255 (the warp's layout)."""
    wanted, inverse = _distinct(clip, indices)
    return _in_order(_read_color(clip.color, wanted, reduction_for(clip.height, clip.width, min_size), channels=4),
                     inverse)
