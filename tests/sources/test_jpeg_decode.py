"""JPEG frames read through simplejpeg give exactly OpenCV's pixels and OpenCV's errors.

The reference is OpenCV's own decode (orientation ignored, then the EXIF turn done as OpenCV does it), so
these tests fail if the fast path ever picks another libjpeg scale, colour conversion or upsampling, or
accepts a file OpenCV refuses.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from rvm_data.sources import SourceError, imageio
from rvm_data.sources.imageio import read_alpha, read_color

SAMPLING = {"444": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444, "422": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
            "420": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420, "440": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_440,
            "411": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_411}
# baseline, progressive, optimised Huffman tables with restart markers
EXTRAS = ([], [cv2.IMWRITE_JPEG_PROGRESSIVE, 1], [cv2.IMWRITE_JPEG_OPTIMIZE, 1, cv2.IMWRITE_JPEG_RST_INTERVAL, 2])
REDUCED = {1: (cv2.IMREAD_COLOR, cv2.IMREAD_GRAYSCALE), 2: (cv2.IMREAD_REDUCED_COLOR_2, cv2.IMREAD_REDUCED_GRAYSCALE_2),
           4: (cv2.IMREAD_REDUCED_COLOR_4, cv2.IMREAD_REDUCED_GRAYSCALE_4),
           8: (cv2.IMREAD_REDUCED_COLOR_8, cv2.IMREAD_REDUCED_GRAYSCALE_8)}


def _picture(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([128 + 100 * np.sin(x / 9.0), 128 + 100 * np.cos(y / 7.0), 128 + 80 * np.sin((x + y) / 5.0)], -1)
    return np.clip(base + rng.normal(0, 20, (height, width, 3)), 0, 255).astype(np.uint8)


def _opencv(path: Path, reduction: int, gray: bool) -> np.ndarray:
    """OpenCV's decode of the frame, oriented as the readers promise (the pixels before this change)."""
    flag = REDUCED[reduction][1 if gray else 0] | cv2.IMREAD_IGNORE_ORIENTATION
    image = cv2.imdecode(np.fromfile(path, np.uint8), flag)
    assert image is not None
    with Image.open(path) as im:
        orientation = imageio._orientation(im)
    image = imageio._orient(image, orientation)
    return image if gray else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _jpegs(root: Path) -> list[Path]:
    """Ordinary and odd JPEGs: every chroma subsampling, progressive, optimised with restart markers,
    grayscale, Adobe RGB, sizes at and below libjpeg's 8-pixel block and odd sizes that round up when
    reduced, EXIF-rotated."""
    paths = []
    for height, width in ((1, 1), (3, 5), (7, 7), (8, 3), (9, 17), (33, 65), (61, 90)):
        image = _picture(height, width)
        for name, code in SAMPLING.items():
            for extra in EXTRAS:
                path = root / f"c{height}x{width}_{name}_{len(extra)}.jpg"
                params = [cv2.IMWRITE_JPEG_QUALITY, 93, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, code, *extra]
                cv2.imwrite(str(path), image, params)
                paths.append(path)
        path = root / f"g{height}x{width}.jpg"
        cv2.imwrite(str(path), image[..., 1], [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(path)
    image = Image.fromarray(_picture(37, 52, 1))
    image.save(root / "adobe_rgb.jpg", quality=90, keep_rgb=True)
    paths.append(root / "adobe_rgb.jpg")
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(root / f"exif{orientation}.jpg", quality=90, exif=exif.tobytes())
        paths.append(root / f"exif{orientation}.jpg")
    return paths


def test_jpeg_frames_decode_to_opencvs_pixels(tmp_path: Path) -> None:
    for path in _jpegs(tmp_path):
        for reduction in (1, 2, 4, 8):
            for gray, read in ((False, read_color), (True, read_alpha)):
                got, want = read(str(path), reduction), _opencv(path, reduction, gray)
                assert got.shape == want.shape and np.array_equal(got, want), (path.name, reduction, gray)


def test_decode_into_the_callers_frame(tmp_path: Path) -> None:
    for path in _jpegs(tmp_path)[::5]:
        want = _opencv(path, 2, False)
        stack = np.full((3, *want.shape), 7, np.uint8)
        got = read_color(str(path), 2, out=stack[1])
        assert np.shares_memory(got, stack) and np.array_equal(stack[1], want), path.name
        assert (stack[0] == 7).all() and (stack[2] == 7).all()


def test_cmyk_jpeg_reads_as_opencv_converts_it(tmp_path: Path) -> None:
    """simplejpeg's own CMYK conversion differs from OpenCV's: such files stay on OpenCV's path."""
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(_picture(40, 56)).convert("CMYK").save(path, quality=90)
    for reduction in (1, 2):
        assert np.array_equal(read_color(str(path), reduction), _opencv(path, reduction, False))


def test_damaged_jpegs_keep_opencvs_outcome(tmp_path: Path) -> None:
    """A file libjpeg warns about (extraneous bytes, a corrupt scan) decodes as OpenCV decodes it, and one
    OpenCV refuses (truncated) is the same SourceError as before."""
    good = tmp_path / "good.jpg"
    cv2.imwrite(str(good), _picture(64, 96), [cv2.IMWRITE_JPEG_QUALITY, 90])
    data = good.read_bytes()
    at = data.find(b"\xff\xdb")
    extraneous = tmp_path / "extraneous.jpg"
    extraneous.write_bytes(data[:at] + b"\x00\x11" + data[at:])
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x10
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(bytes(flipped))
    trailing = tmp_path / "trailing.jpg"
    trailing.write_bytes(data + b"\0tail" * 50)
    for path in (extraneous, corrupt, trailing):
        assert np.array_equal(read_color(str(path)), _opencv(path, 1, False)), path.name
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match="JPEG is truncated") as error:
        read_color(str(truncated))
    assert str(truncated) in str(error.value)
