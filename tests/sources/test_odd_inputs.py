from __future__ import annotations

import dataclasses
import os
import socket
import struct
import threading
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image
from sources_helpers import alpha_frames, smooth_frames, write_frames

from rvm_data.segmentation.config import SegSourceConfig
from rvm_data.segmentation.readers import build_seg_catalog
from rvm_data.sources import SourceError, SourcesConfig, build_catalog, load_background, load_matte
from rvm_data.sources.imageio import probe_image, read_alpha, read_color, read_color_and_alpha

H, W = 32, 48


def _imagematte(root: Path) -> Path:
    (root / "fgr").mkdir(parents=True, exist_ok=True)
    (root / "pha").mkdir(parents=True, exist_ok=True)
    return root


def _one_still(tmp_path: Path, fgr: Image.Image, pha: Image.Image | None, ext: str = ".png"):
    root = _imagematte(tmp_path / "im")
    fgr.save(root / "fgr" / f"x{ext}")
    if pha is not None:
        pha.save(root / "pha" / "x.png")
    return build_catalog(SourcesConfig(str(root), foreground_kind="imagematte")).foregrounds[0]


def test_grayscale_16bit_and_rgba_inputs_become_rgb(tmp_path):
    rgb = smooth_frames(1, H, W)[0]
    alpha = alpha_frames(1, H, W)[0, :, :, 0]
    gray16 = (rgb[:, :, 0].astype(np.uint16) << 8) | 0x7F
    clip = _one_still(tmp_path / "a", Image.fromarray(gray16), Image.fromarray(alpha.astype(np.uint16) << 8))
    fgr, pha = load_matte(clip, [0])
    np.testing.assert_array_equal(fgr[0], np.repeat(rgb[:, :, :1], 3, axis=2))
    np.testing.assert_array_equal(pha[0, :, :, 0], alpha)
    # RGBA foreground with its own matte file: the fourth channel is not the matte, the colour is kept
    rgba = np.dstack([rgb, np.full((H, W), 7, np.uint8)])
    clip = _one_still(tmp_path / "b", Image.fromarray(rgba, "RGBA"), Image.fromarray(alpha))
    assert not clip.alpha_in_color
    fgr, pha = load_matte(clip, [0, 0])
    np.testing.assert_array_equal(fgr[1], rgb)
    np.testing.assert_array_equal(pha[1, :, :, 0], alpha)


def test_rgba_foreground_without_matte_uses_its_alpha(tmp_path):
    rgb = smooth_frames(1, H, W)[0]
    alpha = alpha_frames(1, H, W)[0, :, :, 0]
    clip = _one_still(tmp_path, Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), None)
    assert clip.alpha_in_color and clip.frames == 1
    fgr, pha = load_matte(clip, [0, 0, 0])
    assert fgr.shape == (3, H, W, 3) and pha.shape == (3, H, W, 1)
    np.testing.assert_array_equal(fgr[2], rgb)
    np.testing.assert_array_equal(pha[0, :, :, 0], alpha)


def test_cmyk_jpeg_background(tmp_path):
    rgb = smooth_frames(1, H, W)[0]
    (tmp_path / "bg").mkdir()
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "bg" / "cmyk.jpg", quality=98)
    fg = _imagematte(tmp_path / "fg")
    cv2.imwrite(str(fg / "fgr" / "x.png"), rgb)
    cv2.imwrite(str(fg / "pha" / "x.png"), rgb[:, :, 0])
    catalog = build_catalog(SourcesConfig(str(fg), "imagematte", background_images=str(tmp_path / "bg")))
    image = load_background(catalog.background_images[0], [0])[0]
    reference = np.asarray(Image.open(tmp_path / "bg" / "cmyk.jpg").convert("RGB"))
    assert np.abs(image.astype(int) - reference).max() <= 2


def test_matte_of_other_size(tmp_path):
    root = tmp_path / "vm"
    write_frames(root / "fgr" / "c", smooth_frames(3, H, W), ".png")
    write_frames(root / "pha" / "c", alpha_frames(3, 2 * H, 2 * W), ".png")
    clip = build_catalog(SourcesConfig(str(root))).foregrounds[0]
    assert clip.frames == 3
    fgr, pha = load_matte(clip, [2, 0])
    assert fgr.shape == (2, H, W, 3) and pha.shape == (2, H, W, 1)
    expected = cv2.resize(alpha_frames(3, 2 * H, 2 * W)[2, :, :, 0], (W, H), interpolation=cv2.INTER_AREA)
    assert np.abs(pha[0, :, :, 0].astype(int) - expected).max() <= 1


def test_mixed_frame_sizes_in_one_clip_are_fitted(tmp_path):
    root = tmp_path / "vm"
    write_frames(root / "fgr" / "c", smooth_frames(2, H, W), ".png")
    write_frames(root / "fgr" / "c", smooth_frames(1, H + 6, W + 4), ".png", start=2)
    write_frames(root / "pha" / "c", alpha_frames(3, H, W), ".png")
    fgr, pha = load_matte(build_catalog(SourcesConfig(str(root))).foregrounds[0], [0, 1, 2])
    assert fgr.shape == (3, H, W, 3) and pha.shape == (3, H, W, 1)


def test_truncated_jpeg_fails_on_read_naming_the_file(tmp_path):
    root = tmp_path / "vm"
    write_frames(root / "fgr" / "c", smooth_frames(3, H, W), ".jpg")
    write_frames(root / "pha" / "c", alpha_frames(3, H, W), ".png")
    broken = root / "fgr" / "c" / "00001.jpg"
    broken.write_bytes(broken.read_bytes()[:200])
    clip = build_catalog(SourcesConfig(str(root))).foregrounds[0]
    load_matte(clip, [0, 2])
    with pytest.raises(SourceError, match="00001.jpg.*truncated"):
        load_matte(clip, [0, 1])
    (root / "pha" / "c" / "00002.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(SourceError, match="00002.png"):
        load_matte(clip, [2])


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims a huge size (no pixel data): enough to test the size guard."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
                     + chunk(b"IEND", b""))


@pytest.fixture()
def bad_root(tmp_path):
    """Three imagematte stills: one good, one that is not an image, one with no matte and no alpha."""
    root = _imagematte(tmp_path / "im")
    rgb = smooth_frames(1, H, W)[0]
    for name in ("good", "nomatte"):
        cv2.imwrite(str(root / "fgr" / f"{name}.png"), rgb)
    cv2.imwrite(str(root / "pha" / "good.png"), rgb[:, :, 0])
    (root / "fgr" / "junk.jpg").write_bytes(b"this is not a jpeg")
    cv2.imwrite(str(root / "pha" / "junk.png"), rgb[:, :, 0])
    return root


def test_bad_clips_raise_naming_the_file(bad_root):
    with pytest.raises(SourceError, match="junk.jpg"):
        build_catalog(SourcesConfig(str(bad_root), "imagematte"))


def test_skip_mode_warns_and_counts(bad_root):
    with pytest.warns(UserWarning) as caught:
        catalog = build_catalog(SourcesConfig(str(bad_root), "imagematte", on_bad_clip="skip"))
    assert [c.name for c in catalog.foregrounds] == ["good"]
    assert sorted(s.name for s in catalog.skipped) == ["junk", "nomatte"]
    messages = " ".join(str(w.message) for w in caught)
    assert "junk.jpg" in messages and "nomatte.png" in messages


def test_huge_image_and_empty_inputs_name_the_path(tmp_path, bad_root):
    bg = tmp_path / "bg"
    bg.mkdir()
    _png_header_only(bg / "huge.png", 30000, 30000)
    for name in ("junk", "nomatte"):
        next((bad_root / "fgr").glob(f"{name}.*")).unlink()
    with pytest.raises(SourceError, match="huge.png.*too large"):
        build_catalog(SourcesConfig(str(bad_root), "imagematte", background_images=str(bg)))
    (tmp_path / "vm" / "fgr" / "empty").mkdir(parents=True)
    (tmp_path / "vm" / "pha" / "empty").mkdir(parents=True)
    with pytest.raises(SourceError, match="empty: frame folder has no images"):
        build_catalog(SourcesConfig(str(tmp_path / "vm")))
    with pytest.raises(SourceError, match="nowhere"):
        build_catalog(SourcesConfig(str(tmp_path / "nowhere")))
    (tmp_path / "none" / "fgr").mkdir(parents=True)
    with pytest.raises(SourceError, match="no clips found"):
        build_catalog(SourcesConfig(str(tmp_path / "none")))


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="foreground_kind"):
        SourcesConfig("x", foreground_kind="video")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="on_bad_clip"):
        SourcesConfig("x", on_bad_clip="ignore")  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SourcesConfig("x", background_images=None)


# ---------------------------------------------------------------- EXIF orientation and odd encodings

# what a viewer shows for each EXIF orientation, as a function of the stored pixels
SHOWN = {3: lambda a: a[::-1, ::-1], 6: lambda a: np.rot90(a, -1), 8: lambda a: np.rot90(a, 1)}
FORMATS = {"JPEG": (".jpg", {"quality": 98}), "PNG": (".png", {}), "WEBP": (".webp", {"lossless": True, "exact": True}),
           "TIFF": (".tif", {})}


def _save_oriented(path: Path, pixels: np.ndarray, mode: str, orientation: int, fmt: str) -> Path:
    image = Image.fromarray(pixels, mode)
    exif = image.getexif()
    exif[0x0112] = orientation
    image.save(path, format=fmt, exif=exif, **FORMATS[fmt][1])
    return path


@pytest.mark.parametrize("orientation", sorted(SHOWN))
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_exif_orientation_probe_and_every_decode_agree(tmp_path, fmt, orientation):
    rgb = smooth_frames(1, H, W)[0]
    path = str(_save_oriented(tmp_path / f"x{FORMATS[fmt][0]}", rgb, "RGB", orientation, fmt))
    header = probe_image(path)
    shown = np.ascontiguousarray(SHOWN[orientation](rgb))
    assert (header.height, header.width) == shown.shape[:2]
    color = read_color(path)
    assert color.shape[:2] == (header.height, header.width) and read_alpha(path).shape == color.shape[:2]
    tolerance = 4 if fmt == "JPEG" else 0
    error = np.abs(color.astype(int) - shown)
    assert error.max() <= tolerance * 4 and error.mean() <= tolerance
    jpeg = read_color(str(_save_oriented(tmp_path / "same.jpg", rgb, "RGB", orientation, "JPEG")))
    assert np.abs(color.astype(int) - jpeg).mean() <= 4  # the orientation a JPEG with this EXIF decodes to
    for reduction in (2, 4):
        reduced = read_color(path, reduction)
        assert abs(reduced.shape[0] - header.height / reduction) < 1
        assert abs(reduced.shape[1] - header.width / reduction) < 1
        small = cv2.resize(shown, (reduced.shape[1], reduced.shape[0]), interpolation=cv2.INTER_AREA)
        assert np.abs(reduced.astype(int) - small).mean() <= 6
        assert read_alpha(path, reduction).shape == reduced.shape[:2]


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "TIFF"])
def test_exif_orientation_applies_to_a_foregrounds_own_alpha(tmp_path, fmt):
    rgb, alpha = smooth_frames(1, H, W)[0], alpha_frames(1, H, W)[0]
    root = _imagematte(tmp_path / "im")
    _save_oriented(root / "fgr" / f"x{FORMATS[fmt][0]}", np.concatenate([rgb, alpha], axis=2), "RGBA", 6, fmt)
    clip = build_catalog(SourcesConfig(str(root), "imagematte")).foregrounds[0]
    assert clip.alpha_in_color and (clip.height, clip.width) == (W, H)
    fgr, pha = load_matte(clip, [0])
    np.testing.assert_array_equal(pha[0], SHOWN[6](alpha))
    # OpenCV's TIFF reader premultiplies colour by alpha (oriented or not), so compare where opaque
    opaque = np.ones((W, H), bool) if fmt != "TIFF" else pha[0, :, :, 0] == 255
    assert opaque.sum() > 20
    np.testing.assert_array_equal(fgr[0][opaque], SHOWN[6](rgb)[opaque])


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_rotated_background_size_matches_decode(tmp_path, fmt):
    rgb = smooth_frames(1, H, W)[0]
    (tmp_path / "bg").mkdir()
    _save_oriented(tmp_path / "bg" / f"rotated{FORMATS[fmt][0]}", rgb, "RGB", 8, fmt)
    fg = _imagematte(tmp_path / "fg")
    cv2.imwrite(str(fg / "fgr" / "x.png"), rgb)
    cv2.imwrite(str(fg / "pha" / "x.png"), rgb[:, :, 0])
    sources = SourcesConfig(str(fg), "imagematte", background_images=str(tmp_path / "bg"))
    clip = build_catalog(sources).background_images[0]
    assert (clip.height, clip.width) == (W, H)
    assert load_background(clip, [0]).shape == (1, W, H, 3)


def _odd_encodings(folder: Path) -> dict[str, tuple[Path, np.ndarray]]:
    """name -> (file, the RGB a viewer shows) for 16-bit, CMYK, grayscale and palette inputs."""
    rgb = smooth_frames(1, H, W)[0]
    gray = rgb[:, :, 1]
    out = {}
    Image.fromarray(gray.astype(np.uint16) << 8).save(folder / "gray16.png")
    out["gray16"] = (folder / "gray16.png", np.dstack([gray] * 3))
    cv2.imwrite(str(folder / "rgb16.png"), (rgb[:, :, ::-1].astype(np.uint16) << 8) | 0x55)
    out["rgb16"] = (folder / "rgb16.png", rgb)
    Image.fromarray(rgb).convert("CMYK").save(folder / "cmyk.jpg", quality=98)
    out["cmyk"] = (folder / "cmyk.jpg", np.asarray(Image.open(folder / "cmyk.jpg").convert("RGB")))
    Image.fromarray(gray).save(folder / "gray.jpg", quality=98)
    out["gray_jpeg"] = (folder / "gray.jpg", np.dstack([gray] * 3))
    palette = Image.fromarray(rgb).quantize(16)
    palette.save(folder / "palette.png", transparency=0)
    out["palette"] = (folder / "palette.png", np.asarray(palette.convert("RGB")))
    return out


def test_odd_encodings_probe_like_they_decode(tmp_path):
    for name, (path, shown) in _odd_encodings(tmp_path).items():
        header = probe_image(str(path))
        color = read_color(str(path))
        assert (header.height, header.width) == color.shape[:2] == (H, W), name
        assert np.abs(color.astype(int) - shown).mean() <= 3, name
        assert header.has_alpha == (name == "palette"), name
    rgb, alpha = read_color_and_alpha(str(tmp_path / "palette.png"))
    index = np.asarray(Image.open(tmp_path / "palette.png"))
    np.testing.assert_array_equal(alpha, np.where(index == 0, 0, 255))
    assert rgb.shape == (H, W, 3)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_truncated_image_is_an_error_naming_the_file(tmp_path, fmt):
    path = tmp_path / f"cut{FORMATS[fmt][0]}"
    Image.fromarray(smooth_frames(1, 64, 96)[0]).save(path, format=fmt, **FORMATS[fmt][1])
    whole = path.read_bytes()
    for keep in (len(whole) // 2, len(whole) - 1):
        path.write_bytes(whole[:keep])
        for read in (read_color, read_alpha):
            with pytest.raises(SourceError, match=f"cut{FORMATS[fmt][0]}: .*(truncated|cannot decode)"):
                read(str(path))


def test_unpadded_frame_names_sort_naturally(tmp_path):
    frames = smooth_frames(11, 16, 16)
    root = tmp_path / "vm"
    for side, data in (("fgr", frames), ("pha", frames[..., :1])):
        (root / side / "c").mkdir(parents=True)
        for t, frame in enumerate(data):
            cv2.imwrite(str(root / side / "c" / f"f{t + 1}.png"), frame if side == "pha" else frame[..., ::-1])
    clip = build_catalog(SourcesConfig(str(root))).foregrounds[0]
    assert clip.color.files[:3] == ("f1.png", "f2.png", "f3.png") and clip.color.files[-1] == "f11.png"
    fgr, _ = load_matte(clip, [10, 9])
    np.testing.assert_array_equal(fgr, frames[[10, 9]])


def test_rgba_frame_folder_without_matte_uses_its_alpha(tmp_path):
    rgb, alpha = smooth_frames(3, H, W), alpha_frames(3, H, W)
    folder = tmp_path / "vm" / "fgr" / "c"
    folder.mkdir(parents=True)
    for t in range(3):
        Image.fromarray(np.concatenate([rgb[t], alpha[t]], axis=2), "RGBA").save(folder / f"{t:05d}.png")
    clip = build_catalog(SourcesConfig(str(tmp_path / "vm"))).foregrounds[0]
    assert clip.alpha_in_color and clip.frames == 3
    fgr, pha = load_matte(clip, [2, 0, 2])
    np.testing.assert_array_equal(fgr, rgb[[2, 0, 2]])
    np.testing.assert_array_equal(pha, alpha[[2, 0, 2]])


# ---------------------------------------------------------------- files that are not regular files

NON_REGULAR = {"fifo": "is a named pipe", "socket": "is a socket", "device": "is a character device",
               "broken link": "is a broken symbolic link"}


def _make_non_regular(path: Path, kind: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":  # bound from its folder: socket paths are limited to ~100 bytes
        cwd = os.getcwd()
        os.chdir(path.parent)
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.bind(path.name)
        finally:
            os.chdir(cwd)
    elif kind == "device":
        path.symlink_to("/dev/null")
    else:
        path.symlink_to(path.parent / "gone")


def _without_hanging(call: Callable[[], Any], root: Path, seconds: float = 60.0) -> Any:
    """``call()``'s result (or its exception), failing instead of hanging if it blocks on a FIFO under
    ``root``: every FIFO there is then opened for writing and closed, which wakes a blocked reader."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(seconds)
        hung = worker.is_alive()
        if hung:
            for fifo in (p for p in root.rglob("*") if p.is_fifo()):
                try:
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                except OSError:
                    pass
            worker.join(seconds)
    if hung:
        pytest.fail("reading the sources blocked on a non-regular file")
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _two_clips(root: Path) -> Path:
    for name in ("a", "b"):
        write_frames(root / "fgr" / name, smooth_frames(3, H, W), ".jpg")
        write_frames(root / "pha" / name, alpha_frames(3, H, W), ".png")
    return root


@pytest.mark.parametrize("kind", NON_REGULAR)
@pytest.mark.parametrize("side", ["fgr", "pha"])
def test_non_regular_frame_fails_or_skips_its_clip(tmp_path, kind, side):
    root = _two_clips(tmp_path / "vm")
    frame = root / side / "a" / f"00001.{'jpg' if side == 'fgr' else 'png'}"
    frame.unlink()
    _make_non_regular(frame, kind)
    with pytest.raises(SourceError, match=f"00001.*{NON_REGULAR[kind]}") as caught:
        _without_hanging(lambda: build_catalog(SourcesConfig(str(root))), root)
    assert caught.value.path == str(frame)
    with pytest.warns(UserWarning, match=f"skipping clip 'a': .*00001.*{NON_REGULAR[kind]}"):
        catalog = _without_hanging(lambda: build_catalog(SourcesConfig(str(root), on_bad_clip="skip")), root)
    assert [c.name for c in catalog.foregrounds] == ["b"]
    assert [(s.collection, s.name, s.path) for s in catalog.skipped] == [("foregrounds", "a", str(frame))]


def test_non_image_fifo_in_a_frame_folder_is_ignored_unopened(tmp_path):
    root = _two_clips(tmp_path / "vm")
    _make_non_regular(root / "fgr" / "a" / "pipe", "fifo")
    _make_non_regular(root / "pha" / "a" / "notes.txt", "fifo")
    catalog = _without_hanging(lambda: build_catalog(SourcesConfig(str(root))), root)
    assert [(c.name, c.frames) for c in catalog.foregrounds] == [("a", 3), ("b", 3)]


@pytest.mark.parametrize("side", ["fgr", "pha"])
def test_fifo_video_clip_fails_or_is_skipped(tmp_path, side):
    root = _two_clips(tmp_path / "vm")
    if side == "pha":
        write_frames(root / "fgr" / "c", smooth_frames(3, H, W), ".jpg")
    _make_non_regular(root / side / "c.mp4", "fifo")
    with pytest.raises(SourceError, match=r"c\.mp4: is a named pipe"):
        _without_hanging(lambda: build_catalog(SourcesConfig(str(root))), root)
    with pytest.warns(UserWarning, match="skipping clip 'c'"):
        catalog = _without_hanging(lambda: build_catalog(SourcesConfig(str(root), on_bad_clip="skip")), root)
    assert [c.name for c in catalog.foregrounds] == ["a", "b"]


def test_non_regular_backgrounds_are_skipped_by_collection(tmp_path):
    fg = _two_clips(tmp_path / "vm")
    bgv, bgi = tmp_path / "bgv", tmp_path / "bgi"
    write_frames(bgv / "good", smooth_frames(2, H, W), ".jpg")
    _make_non_regular(bgv / "pipe.mp4", "fifo")
    write_frames(bgi / "sub", smooth_frames(1, H, W), ".jpg")
    for i, kind in enumerate(NON_REGULAR):
        _make_non_regular(bgi / "sub" / f"odd{i}.{'png' if i % 2 else 'jpg'}", kind)
    sources = SourcesConfig(str(fg), background_videos=str(bgv), background_images=str(bgi))
    with pytest.raises(SourceError, match=r"pipe\.mp4: is a named pipe"):
        _without_hanging(lambda: build_catalog(sources), tmp_path)
    with pytest.warns(UserWarning):
        catalog = _without_hanging(lambda: build_catalog(dataclasses.replace(sources, on_bad_clip="skip")), tmp_path)
    assert [c.name for c in catalog.background_videos] == ["good"]
    assert [c.name for c in catalog.background_images] == ["sub/00000"]
    reasons = {(s.collection, s.name): s.reason for s in catalog.skipped}
    assert reasons[("background_videos", "pipe")] == "is a named pipe (FIFO), not a regular file"
    for i, kind in enumerate(NON_REGULAR):
        assert reasons[("background_images", f"sub/odd{i}")].startswith(NON_REGULAR[kind])


def test_non_regular_stills_fail_naming_them(tmp_path):
    root = _imagematte(tmp_path / "im")
    rgb = smooth_frames(1, H, W)[0]
    cv2.imwrite(str(root / "fgr" / "y.png"), rgb)
    _make_non_regular(root / "pha" / "y.png", "fifo")
    with pytest.raises(SourceError, match=r"pha/y\.png: is a named pipe"):
        _without_hanging(lambda: build_catalog(SourcesConfig(str(root), "imagematte")), root)
    (root / "pha" / "y.png").unlink()
    cv2.imwrite(str(root / "pha" / "y.png"), rgb[:, :, 0])
    _make_non_regular(root / "fgr" / "x.png", "fifo")
    with pytest.raises(SourceError, match=r"fgr/x\.png: is a named pipe"):
        _without_hanging(lambda: build_catalog(SourcesConfig(str(root), "imagematte")), root)


def test_frame_replaced_by_a_fifo_after_indexing_fails_at_read(tmp_path):
    root = _two_clips(tmp_path / "vm")
    clip = build_catalog(SourcesConfig(str(root))).foregrounds[0]
    for side, name in (("fgr", "00002.jpg"), ("pha", "00001.png")):
        (root / side / "a" / name).unlink()
        _make_non_regular(root / side / "a" / name, "fifo")
    with pytest.raises(SourceError, match=r"fgr/a/00002\.jpg: is a named pipe"):
        _without_hanging(lambda: load_matte(clip, [2]), root)
    with pytest.raises(SourceError, match=r"pha/a/00001\.png: is a named pipe"):
        _without_hanging(lambda: load_matte(clip, [1]), root)
    fifo = str(root / "fgr" / "a" / "00002.jpg")
    for read in (probe_image, read_color, read_alpha, read_color_and_alpha):
        with pytest.raises(SourceError, match="is a named pipe"):
            _without_hanging(lambda read=read: read(fifo), root)


def test_non_regular_segmentation_files_fail_naming_them(tmp_path):
    images, masks = tmp_path / "spd" / "img", tmp_path / "spd" / "seg"
    write_frames(images, smooth_frames(2, H, W), ".jpg")
    write_frames(masks, alpha_frames(2, H, W), ".png")
    (masks / "00001.png").unlink()
    _make_non_regular(masks / "00001.png", "fifo")
    config = SegSourceConfig(kind="supervisely", images=str(images), masks=str(masks))
    with pytest.raises(SourceError, match=r"seg/00001\.png: is a named pipe"):
        _without_hanging(lambda: build_seg_catalog([config]), tmp_path)
    (masks / "00001.png").unlink()
    write_frames(masks, alpha_frames(2, H, W), ".png")
    catalog = build_seg_catalog([config])
    (masks / "00000.png").unlink()
    _make_non_regular(masks / "00000.png", "fifo")
    with pytest.raises(SourceError, match=r"seg/00000\.png: cannot read mask \(is a named pipe"):
        _without_hanging(lambda: catalog.items[0].load([0]), tmp_path)
    annotations = tmp_path / "panoptic.json"
    _make_non_regular(annotations, "fifo")
    coco = SegSourceConfig(kind="coco_panoptic", images=str(images), masks=str(masks), annotations=str(annotations))
    with pytest.raises(SourceError, match=r"panoptic\.json: is a named pipe"):
        _without_hanging(lambda: build_seg_catalog([coco]), tmp_path)


def test_a_jpeg_with_trailing_data_reads_and_a_cut_one_is_named(tmp_path):
    """Phone cameras append data after the end-of-image marker: such a file is whole. A cut one is not."""
    from rvm_data.sources import SourceError
    from rvm_data.sources.imageio import read_color

    image = cv2.GaussianBlur(np.random.default_rng(1).integers(0, 256, (60, 80, 3), dtype=np.uint8), (7, 7), 2)
    ok, encoded = cv2.imencode(".jpg", image)
    whole = tmp_path / "trailer.jpg"
    whole.write_bytes(encoded.tobytes() + bytes(range(256)) * 40)  # 10 KiB after the marker
    assert read_color(str(whole), 1).shape == (60, 80, 3)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(encoded.tobytes()[: len(encoded) // 2])
    with pytest.raises(SourceError, match="JPEG is truncated") as info:
        read_color(str(cut), 1)
    assert info.value.path == str(cut)
