from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from sources_helpers import alpha_frames, smooth_frames, write_frames

from rvm_data.sources import SourceError, SourcesConfig, build_catalog, load_background, load_matte

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
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


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


def test_exif_rotated_jpeg_size_matches_decode(tmp_path):
    rgb = smooth_frames(1, H, W)[0]
    (tmp_path / "bg").mkdir()
    image = Image.fromarray(rgb)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    image.save(tmp_path / "bg" / "rotated.jpg", exif=exif, quality=95)
    fg = _imagematte(tmp_path / "fg")
    cv2.imwrite(str(fg / "fgr" / "x.png"), rgb)
    cv2.imwrite(str(fg / "pha" / "x.png"), rgb[:, :, 0])
    clip = build_catalog(SourcesConfig(str(fg), "imagematte", background_images=str(tmp_path / "bg"))).background_images[0]
    assert (clip.height, clip.width) == (W, H)
    assert load_background(clip, [0]).shape == (1, W, H, 3)


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
