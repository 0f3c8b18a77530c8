"""Still-image decoding and header probing.

Decoding goes through OpenCV because it is the cheapest path for JPEG/PNG and can scale JPEGs
down inside the DCT (``IMREAD_REDUCED_*``). Headers go through Pillow, which reads only the
first bytes of a file, so indexing thousands of clips never decodes pixels.

EXIF orientation: probe and decode read it through one function (:func:`_orientation`), so the
size a probe reports is the size a decode returns, in every format and every decode mode. OpenCV's
own handling cannot be trusted for that: it rotates JPEG, PNG (eXIf) and WebP (EXIF chunk) in the
colour and grayscale modes but not in ``IMREAD_UNCHANGED``, and its TIFF decoder always rotates and
then squashes a reduced decode of a 90-degree rotation into the unrotated size. So JPEG, PNG and
WebP decode with ``IMREAD_IGNORE_ORIENTATION`` and are turned here (the same flips and transposes
OpenCV applies, so the pixels match its colour decode exactly); TIFF keeps OpenCV's rotation and is
reduced here after a full decode (the same resize OpenCV does, bit for bit). A PNG's orientation is
the one in an eXIf chunk before the pixel data (what Pillow reads without decoding).

JPEG colour and grayscale reads go through simplejpeg (libjpeg-turbo's own API, the same 3.1.2
that OpenCV builds in, with the same IDCT and upsampling, up to twice as fast at full size and
able to decode straight into the caller's array, RGB or the warp's RGBX) wherever that gives OpenCV's pixels: a YCbCr,
grayscale or RGB JPEG, at least 8 pixels on one side (so libjpeg's scale is exactly 1/reduction),
that libjpeg decodes without a single warning. Anything else (CMYK, damaged, truncated, other
formats) is decoded by OpenCV as before, with its errors.

Only regular files are opened: a named pipe blocks ``open`` until a writer comes and a device can
stream forever, so :func:`require_regular` checks before any open.
"""

from __future__ import annotations

import io
import os
import re
import stat
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np
import simplejpeg
from PIL import Image

from .errors import SourceError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")

REDUCTIONS = (8, 4, 2, 1)
_COLOR_FLAGS = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                8: cv2.IMREAD_REDUCED_COLOR_8}
_GRAY_FLAGS = {1: cv2.IMREAD_GRAYSCALE, 2: cv2.IMREAD_REDUCED_GRAYSCALE_2, 4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
               8: cv2.IMREAD_REDUCED_GRAYSCALE_8}
_ORIENTATION_TAG = 0x0112
_ROTATING_ORIENTATIONS = (5, 6, 7, 8)  # EXIF orientations that swap width and height
_FLIPS = {2: 1, 3: -1, 4: 0, 6: 1, 7: -1, 8: 0}  # cv2.flip code after the transpose of 5-8 (as OpenCV's ExifTransform)
# Where a complete JPEG's end-of-image marker is, to say why a decode failed. OpenCV 5 refuses a
# truncated JPEG itself (4.x filled it with grey and only warned); valid files with trailing data
# (phone cameras append some) must still read.
_JPEG_TAIL = 4096
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
# JPEG colour spaces whose simplejpeg decode equals OpenCV's (CMYK/YCCK: simplejpeg converts on its own)
_FAST_JPEG_SPACES = ("YCbCr", "Gray", "RGB")
_FAST_JPEG_MAX_PIXELS = 1 << 26  # larger frames keep OpenCV's own size checks
_EXIF_MARKER = b"Exif\x00\x00"


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


def _file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return kind
    return "not a plain file"


def require_regular(path: str) -> None:
    """Refuse anything but a regular file (symlinks followed) before it is opened; the error names it."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError as exc:
        problem = "is a broken symbolic link" if os.path.islink(path) else "does not exist"
        raise SourceError(path, problem) from exc
    except OSError as exc:
        raise SourceError(path, f"cannot stat file ({exc.strerror or exc})") from exc
    if not stat.S_ISREG(mode):
        raise SourceError(path, f"is {_file_kind(mode)}, not a regular file")


@contextmanager
def _pillow(path: str, source: str | io.BytesIO) -> Iterator[Image.Image]:
    """Pillow's lazy open (header only), its errors as SourceErrors naming ``path``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as im:
                yield im
    except Image.DecompressionBombError as exc:
        raise SourceError(path, f"image is too large to read safely ({exc})") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise SourceError(path, f"not a readable image ({exc})") from exc


def _orientation(im: Image.Image) -> int:
    """EXIF orientation 1-8 from the header: the TIFF tag, or the EXIF block of JPEG (APP1), WebP
    (EXIF chunk) or PNG (an eXIf chunk before the pixel data). Unreadable or absent: 1."""
    if im.format == "TIFF":
        value = im.tag_v2.get(_ORIENTATION_TAG)  # type: ignore[attr-defined]
    else:
        blob = im.info.get("exif")
        if not isinstance(blob, bytes) or not blob:
            return 1
        exif = Image.Exif()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about corrupt EXIF and reads what it can
            try:
                exif.load(blob)
            except (OSError, ValueError, SyntaxError, KeyError, IndexError, TypeError):
                return 1
        value = exif.get(_ORIENTATION_TAG)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _stored_size(im: Image.Image) -> tuple[int, int]:
    """(width, height) as stored, before any rotation (Pillow reports TIFFs rotated, other formats not)."""
    if im.format == "TIFF":
        tags = im.tag_v2  # type: ignore[attr-defined]
        return int(tags.get(256, im.size[0])), int(tags.get(257, im.size[1]))
    return im.size


@dataclass(frozen=True)
class ImageHeader:
    height: int
    width: int
    has_alpha: bool


def probe_image(path: str) -> ImageHeader:
    """Size (as :func:`read_color` decodes it, EXIF orientation applied) and whether the file carries alpha."""
    require_regular(path)
    with _pillow(path, path) as im:
        width, height = _stored_size(im)
        has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (im.mode == "P" and "transparency" in im.info)
        if _orientation(im) in _ROTATING_ORIENTATIONS:
            width, height = height, width
    if width <= 0 or height <= 0:
        raise SourceError(path, f"image has an empty size {width}x{height}")
    return ImageHeader(height=height, width=width, has_alpha=has_alpha)


def _read_bytes(path: str) -> bytes:
    require_regular(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise SourceError(path, f"cannot read file ({exc.strerror or exc})") from exc
    if not data:
        raise SourceError(path, "file is empty")
    return data


def _decoded_orientation(path: str, data: bytes) -> int:
    """The orientation :func:`probe_image` sees, for a JPEG, PNG or WebP held in memory. Pillow is
    asked only when the bytes hold an EXIF marker at all, so unrotated frames cost a substring search."""
    if data[:2] == b"\xff\xd8":
        marker = b"Exif\x00\x00"
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        marker = b"eXIf"
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        marker = b"EXIF"
    else:
        return 1
    if marker not in data:
        return 1
    with _pillow(path, io.BytesIO(data)) as im:
        return _orientation(im)


def _orient(image: np.ndarray, orientation: int) -> np.ndarray:
    if orientation in _ROTATING_ORIENTATIONS:
        image = cv2.transpose(image)
    flip = _FLIPS.get(orientation)
    return image if flip is None else cv2.flip(image, flip)


def _decode(path: str, flags: dict[int, int] | None, reduction: int = 1, data: bytes | None = None) -> np.ndarray:
    """Decode (OpenCV) with the EXIF orientation applied; ``flags`` maps reduction to an imread mode, None is
    ``IMREAD_UNCHANGED`` (full size)."""
    data = _read_bytes(path) if data is None else data
    buffer = np.frombuffer(data, np.uint8)
    if data[:4] in _TIFF_MAGIC:  # OpenCV rotates TIFFs itself; a reduced decode of it would be squashed
        image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED if flags is None else flags[1])
        if image is not None and reduction > 1:
            image = cv2.resize(image, (image.shape[1] // reduction, image.shape[0] // reduction),
                               interpolation=cv2.INTER_LINEAR_EXACT)
    else:
        mode = cv2.IMREAD_UNCHANGED if flags is None else flags[reduction] | cv2.IMREAD_IGNORE_ORIENTATION
        image = cv2.imdecode(buffer, mode)
        if image is not None:
            image = _orient(image, _decoded_orientation(path, data))
    if image is None:
        if data[:2] == b"\xff\xd8" and data.rfind(b"\xff\xd9", max(len(data) - _JPEG_TAIL, 0)) < 0:
            raise SourceError(path, "JPEG is truncated (no end-of-image marker)")
        raise SourceError(path, "cannot decode image (corrupt, truncated or unsupported format)")
    return image


def _fast_jpeg(path: str, data: bytes, reduction: int, gray: bool, out: np.ndarray | None) -> np.ndarray | None:
    """The JPEG in ``data`` decoded by simplejpeg (RGB H×W×3 or gray H×W), straight into ``out`` (H×W×3 RGB or
    H×W×4 RGBX) when its size fits and the file has no EXIF block; None where OpenCV must decode it (see the
    module docstring)."""
    if data[:2] != b"\xff\xd8":
        return None
    try:
        height, width, space, _ = simplejpeg.decode_jpeg_header(data)
    except (ValueError, RuntimeError):
        return None
    if space not in _FAST_JPEG_SPACES or max(height, width) < 8 or height * width > _FAST_JPEG_MAX_PIXELS:
        return None
    # libjpeg-turbo decodes at the largest scale whose output fits this shape: with a side of 8 pixels
    # or more, that is 1/reduction, OpenCV's scale (below, 1/1 and 1/2 could both give 1 pixel)
    shape = (-(-height // reduction), -(-width // reduction))
    exif = _EXIF_MARKER in data
    into = not gray and not exif and out is not None and out.shape[:2] == shape and out.shape[-1] in (3, 4)
    target = out if into else None
    mode = "GRAY" if gray else "RGBX" if target is not None and target.shape[-1] == 4 else "RGB"
    try:
        image = simplejpeg.decode_jpeg(data, mode, min_height=shape[0], min_width=shape[1], min_factor=reduction,
                                       buffer=target, strict=True)
    except (ValueError, RuntimeError):
        return None
    if image.shape[:2] != shape:
        return None
    if gray:
        image = image.reshape(shape)
    if exif:
        image = _orient(image, _decoded_orientation(path, data))
    return np.asarray(image)


def read_color(path: str, reduction: int = 1, out: np.ndarray | None = None) -> np.ndarray:
    """RGB uint8 H×W×3; grayscale, 16-bit, CMYK and RGBA inputs are converted (alpha dropped). With ``out`` of
    the decoded size, H×W×3 or H×W×4 (RGB then 255: the warp's packed layout), the pixels are written there
    and ``out`` returned."""
    data = _read_bytes(path)
    image = _fast_jpeg(path, data, reduction, False, out)
    if image is not None:
        if out is None or out.shape[:2] != image.shape[:2]:
            return image
        if not np.may_share_memory(image, out):  # decoded elsewhere (EXIF orientation)
            if out.shape[-1] == 4:
                cv2.cvtColor(image, cv2.COLOR_RGB2RGBA, dst=out)
            else:
                out[...] = image
        return out
    bgr = _decode(path, _COLOR_FLAGS, reduction, data)
    if out is not None and out.shape[:2] == bgr.shape[:2] and out.shape[-1] in (3, 4):
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGBA if out.shape[-1] == 4 else cv2.COLOR_BGR2RGB, dst=out)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_alpha(path: str, reduction: int = 1) -> np.ndarray:
    """Alpha as uint8 H×W; a colour matte is reduced to luminance, 16-bit to its high byte."""
    data = _read_bytes(path)
    image = _fast_jpeg(path, data, reduction, True, None)
    return image if image is not None else np.asarray(_decode(path, _GRAY_FLAGS, reduction, data))


def read_mask(path: str, *, color: bool) -> np.ndarray:
    """A mask file at full size, as stored (``color``: 3-channel BGR, else every channel and bit depth)."""
    return _decode(path, {1: cv2.IMREAD_COLOR} if color else None)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image >> 8).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        scaled: np.ndarray = np.clip(image, 0.0, 1.0) * 255.0 + 0.5
        return scaled.astype(np.uint8)
    raise ValueError(f"unsupported sample type {image.dtype}")


def read_color_and_alpha(path: str, reduction: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """RGB and the file's own alpha channel, for foregrounds that come without a separate matte."""
    image = _decode(path, None)
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

