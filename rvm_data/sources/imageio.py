"""Still-image decoding and header probing.

Decoding goes through OpenCV because it is the cheapest path for JPEG/PNG and can scale JPEGs
down inside the DCT (``IMREAD_REDUCED_*``). Headers go through Pillow, which reads only the
first bytes of a file, so indexing thousands of clips never decodes pixels.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from .errors import SourceError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")

REDUCTIONS = (8, 4, 2, 1)
_COLOR_FLAGS = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                8: cv2.IMREAD_REDUCED_COLOR_8}
_GRAY_FLAGS = {1: cv2.IMREAD_GRAYSCALE, 2: cv2.IMREAD_REDUCED_GRAYSCALE_2, 4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
               8: cv2.IMREAD_REDUCED_GRAYSCALE_8}
_ROTATING_ORIENTATIONS = (5, 6, 7, 8)  # EXIF orientations that swap width and height
_JPEG_TAIL = 4096  # where a complete JPEG's end-of-image marker must be


def is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> list[object]:
    """Sort key putting ``f2`` before ``f10``: frame files are often numbered without zero padding."""
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(name)]


def reduction_for(height: int, width: int, min_size: tuple[int, int] | None) -> int:
    """Largest power-of-two reduction that keeps the frame at least ``min_size`` (floor rounding)."""
    if min_size is None:
        return 1
    min_h, min_w = min_size
    for factor in REDUCTIONS:
        if height // factor >= min_h and width // factor >= min_w:
            return factor
    return 1


@dataclass(frozen=True)
class ImageHeader:
    height: int
    width: int
    has_alpha: bool


def probe_image(path: str) -> ImageHeader:
    """Size (as OpenCV will decode it, EXIF rotation applied) and whether the file carries alpha."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
                has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
                    im.mode == "P" and "transparency" in im.info)
                if im.format == "JPEG" and im.getexif().get(0x0112) in _ROTATING_ORIENTATIONS:
                    width, height = height, width
    except Image.DecompressionBombError as exc:
        raise SourceError(path, f"image is too large to read safely ({exc})") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise SourceError(path, f"not a readable image ({exc})") from exc
    if width <= 0 or height <= 0:
        raise SourceError(path, f"image has an empty size {width}x{height}")
    return ImageHeader(height=height, width=width, has_alpha=has_alpha)


def _read_bytes(path: str) -> np.ndarray:
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise SourceError(path, f"cannot read file ({exc.strerror or exc})") from exc
    if data.size == 0:
        raise SourceError(path, "file is empty")
    # libjpeg fills a truncated JPEG with grey and only warns; refuse it instead of training on it.
    if data[:2].tobytes() == b"\xff\xd8" and data[-_JPEG_TAIL:].tobytes().rfind(b"\xff\xd9") < 0:
        raise SourceError(path, "JPEG is truncated (no end-of-image marker)")
    return data


def _decode(path: str, flags: int) -> np.ndarray:
    image = cv2.imdecode(_read_bytes(path), flags)
    if image is None:
        raise SourceError(path, "cannot decode image (corrupt, truncated or unsupported format)")
    return image


def read_color(path: str, reduction: int = 1, out: np.ndarray | None = None) -> np.ndarray:
    """RGB uint8 H×W×3; grayscale, 16-bit, CMYK and RGBA inputs are converted (alpha dropped)."""
    bgr = _decode(path, _COLOR_FLAGS[reduction])
    if out is not None and out.shape == bgr.shape:
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=out)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_alpha(path: str, reduction: int = 1) -> np.ndarray:
    """Alpha as uint8 H×W; a colour matte is reduced to luminance, 16-bit to its high byte."""
    return _decode(path, _GRAY_FLAGS[reduction])


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image >> 8).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    raise ValueError(f"unsupported sample type {image.dtype}")


def read_color_and_alpha(path: str, reduction: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """RGB and the file's own alpha channel, for foregrounds that come without a separate matte."""
    image = _decode(path, cv2.IMREAD_UNCHANGED)
    try:
        image = _to_uint8(image)
    except ValueError as exc:
        raise SourceError(path, str(exc)) from exc
    if image.ndim == 2 or image.shape[2] != 4:
        raise SourceError(path, "image has no alpha channel and there is no matte file for it")
    if reduction > 1:
        h, w = image.shape[:2]
        image = cv2.resize(image, (max(w // reduction, 1), max(h // reduction, 1)), interpolation=cv2.INTER_AREA)
    rgb = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return rgb, np.ascontiguousarray(image[:, :, 3])

