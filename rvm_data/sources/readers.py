"""Pixel reads for catalogued clips: each distinct frame decoded once, results in the order asked."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

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


def _put(out: np.ndarray, image: np.ndarray) -> None:
    """An RGB image into an RGB (h×w×3) or packed (h×w×4, channel 3 set to 255) frame."""
    image = _fit(image, out.shape)
    if out.shape[-1] == 4:
        cv2.cvtColor(image, cv2.COLOR_RGB2RGBA, dst=out)
    else:
        out[...] = image


class _Slots:
    """Where decoded frames go: frame i into slot i of a new N×h×w×C stack, or every frame into one
    reused h×w×C buffer (``count`` 1), sized by the first frame."""

    def __init__(self, count: int, channels: int) -> None:
        self.count, self.channels = count, channels
        self.array: np.ndarray | None = None

    def __call__(self, i: int, shape: tuple[int, ...]) -> np.ndarray:
        if self.array is None:
            self.array = np.empty((self.count, *shape[:2], self.channels), np.uint8)
        slot: np.ndarray = self.array[i % self.count]
        return slot


def _color_frames(stream: Stream, wanted: np.ndarray, reduction: int, slots: _Slots) -> Iterator[np.ndarray]:
    """Colour frames of ``wanted`` in order, each h×w×C in its slot: RGB, or RGB plus a fourth channel of 255
    (the warp's packed layout), decoded straight into the slot where the decoder can. With one reused slot a
    frame is valid until the next is asked for."""
    if stream.kind == "video":
        size = _video_size(stream, reduction)
        with open_video(stream.path) as reader:
            for i, (_, frame) in enumerate(reader.frames(wanted.tolist())):
                image = frame_to_rgb(frame, size)
                out = slots(i, image.shape)
                _put(out, image)
                yield out
        return
    for i, index in enumerate(wanted.tolist()):
        path = stream.frame_path(index)
        if slots.array is None:
            image = read_color(path, reduction)
            out = slots(i, image.shape)
            _put(out, image)
        else:
            out = slots(i, slots.array.shape[1:])
            image = read_color(path, reduction, out=out)
            if image.shape != out.shape:
                _put(out, image)
        yield out


def _color_stack(stream: Stream, wanted: np.ndarray, reduction: int) -> np.ndarray:
    """The colour frames of ``wanted`` as one N×h×w×3 RGB stack, each decoded straight into its slot."""
    slots = _Slots(wanted.size, 3)
    for _ in _color_frames(stream, wanted, reduction, slots):
        pass
    assert slots.array is not None
    return slots.array


def _alpha_frames(stream: Stream, wanted: np.ndarray, shape: tuple[int, int]) -> Iterator[np.ndarray]:
    """Alpha frames of ``wanted`` in order at ``shape`` (h, w: the colour's), decoded as small as that allows."""
    reduction = reduction_for(stream.height, stream.width, shape)
    if stream.kind == "video":
        size = _video_size(stream, reduction)
        with open_video(stream.path) as reader:
            for _, frame in reader.frames(wanted.tolist()):
                yield _fit(frame_to_gray(frame, size), shape)
        return
    for index in wanted.tolist():
        yield _fit(read_alpha(stream.frame_path(index), reduction), shape)


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
    color = _color_stack(clip.color, wanted, reduction)
    alpha = np.empty((*color.shape[:3], 1), np.uint8)
    for i, image in enumerate(_alpha_frames(clip.alpha, wanted, color.shape[1:3])):
        alpha[i, :, :, 0] = image
    return _in_order(color, inverse), _in_order(alpha, inverse)


def load_background(clip: ClipInfo, indices: Sequence[int] | np.ndarray, *,
                    min_size: tuple[int, int] | None = None) -> np.ndarray:
    """Background RGB N×h×w×3 uint8 for source frames ``indices`` (rules as in :func:`load_matte`)."""
    wanted, inverse = _distinct(clip, indices)
    return _in_order(_color_stack(clip.color, wanted, reduction_for(clip.height, clip.width, min_size)), inverse)


def iter_matte_packed(clip: ClipInfo, indices: Sequence[int] | np.ndarray, *,
                      min_size: tuple[int, int] | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """:func:`load_matte`'s frames one distinct frame at a time, as (the positions in ``indices`` showing it, its
    h×w×4 RGB-then-alpha frame: the layout the warp takes). Every frame is decoded into one reused buffer,
    JPEG colour straight into it and alpha written beside it, so a frame is valid until the next is asked for:
    decoding and warping frame by frame keep one frame in cache instead of a window's stack in memory."""
    wanted, inverse = _distinct(clip, indices)
    if clip.alpha_in_color or clip.alpha is None:
        color, alpha = load_matte(clip, wanted, min_size=min_size)
        packed = np.empty((*color.shape[1:3], 4), np.uint8)
        for i in range(wanted.size):
            cv2.mixChannels([color[i], alpha[i]], [packed], [0, 0, 1, 1, 2, 2, 3, 3])
            yield np.flatnonzero(inverse == i), packed
        return
    colors = _color_frames(clip.color, wanted, reduction_for(clip.height, clip.width, min_size), _Slots(1, 4))
    first = next(colors)
    alphas = _alpha_frames(clip.alpha, wanted, first.shape[:2])
    for i, (packed, alpha) in enumerate(zip(itertools.chain([first], colors), alphas, strict=True)):
        cv2.insertChannel(alpha, packed, 3)  # a third faster than numpy's strided copy
        yield np.flatnonzero(inverse == i), packed


def iter_background_packed(clip: ClipInfo, indices: Sequence[int] | np.ndarray, *,
                           min_size: tuple[int, int] | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """:func:`load_background`'s frames as :func:`iter_matte_packed` gives them: RGB then a channel of 255."""
    wanted, inverse = _distinct(clip, indices)
    frames = _color_frames(clip.color, wanted, reduction_for(clip.height, clip.width, min_size), _Slots(1, 4))
    for i, packed in enumerate(frames):
        yield np.flatnonzero(inverse == i), packed
