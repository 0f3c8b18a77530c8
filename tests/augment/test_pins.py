"""Pins of three README claims about the render-side pixel ops, through ``render_sample`` and a
hand-made spec (identity warps, so each op's input is exactly the source pixels written here):

- sharpen is torchvision's ``adjust_sharpness``: ``factor * img + (1 - factor) * smoothed`` with the
  3 x 3 kernel [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13; factor > 1 sharpens, < 1 blurs;
- the foreground's contrast pivots about the mean grey of the pixels with alpha > 0 (not of the
  whole frame, not alpha-weighted); the background's about the mean grey of its whole frame;
- blur's ``rvm`` kernel is RVM's: ``int(2 sigma)`` taps made odd (no blur under 2), a Gaussian of
  that sigma; ``full`` is PIL's ``int(3.5 sigma) * 2 + 1`` taps.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from rvm_data.compose import ComposeConfig, plan_sample, render_sample
from rvm_data.sources import Catalog, SourcesConfig, build_catalog

LUMA = np.array([0.2989, 0.587, 0.114])  # torchvision's rgb_to_grayscale weights, the README's "grey"
SHARPEN_KERNEL = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], np.float64) / 13.0


def write_catalog(root: Path, fgr: np.ndarray, pha: np.ndarray, bgr: np.ndarray) -> Catalog:
    """One single-frame foreground clip and one background image (RGB arrays), written losslessly."""
    for kind, image in (("fgr", fgr[..., ::-1]), ("pha", pha)):
        folder = root / "fg" / kind / "clip0"
        folder.mkdir(parents=True)
        assert cv2.imwrite(str(folder / "00000.png"), np.ascontiguousarray(image))
    (root / "bgi").mkdir()
    assert cv2.imwrite(str(root / "bgi" / "image0.png"), np.ascontiguousarray(bgr[..., ::-1]))
    return build_catalog(SourcesConfig(foreground=str(root / "fg"), background_images=str(root / "bgi")))


def hand_spec(catalog: Catalog, frames: int, **fields) -> dict:
    """A spec dict of the catalog's one foreground over its one image, both warped by the identity (the
    output has the sources' size), with no augmentation but ``fields`` (e.g. ``sharpen``, ``motion``)."""
    height, width = catalog.foregrounds[0].height, catalog.foregrounds[0].width
    assert (catalog.background_images[0].height, catalog.background_images[0].width) == (height, width)
    cfg = ComposeConfig(size=(height, width), frames=frames)
    spec = plan_sample(cfg, catalog, seed=0, split="valid", index=0, augment=False).to_dict()
    identity = [[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]] * frames
    spec["fgr"]["matrices"] = spec["bgr"]["matrices"] = identity
    return {**spec, **fields}


# ----------------------------------------------------------------------------------------- sharpen


def sharpened(image: np.ndarray, factor: float) -> np.ndarray:
    """torchvision's adjust_sharpness on the interior (the border ring cut off): the 3 x 3 smoothed
    copy, rounded to uint8, blended with the image by ``factor``, clipped to [0, 255]."""
    x = image.astype(np.float64)
    h, w = x.shape[:2]
    smooth = sum(SHARPEN_KERNEL[dy, dx] * x[dy:h - 2 + dy, dx:w - 2 + dx] for dy in range(3) for dx in range(3))
    return np.clip(factor * x[1:-1, 1:-1] + (1.0 - factor) * np.round(smooth), 0, 255)


@pytest.fixture(scope="module")
def edge_catalog(tmp_path_factory) -> Catalog:
    """Random texture with a vertical step edge in colour, alpha and background."""
    rng = np.random.default_rng(3)
    h, w = 14, 18
    step = np.where(np.arange(w) < w // 2, 70, 170)[None, :, None]
    fgr = np.clip(step + rng.integers(-25, 26, (h, w, 3)), 0, 255).astype(np.uint8)
    pha = np.clip(step[..., 0] + rng.integers(-40, 41, (h, w)), 0, 255).astype(np.uint8)
    bgr = np.clip(255 - step + rng.integers(-25, 26, (h, w, 3)), 0, 255).astype(np.uint8)
    return write_catalog(tmp_path_factory.mktemp("edge"), fgr, pha, bgr)


@pytest.mark.parametrize("factor", [0.0, 0.4, 1.0, 2.5, 8.0])
def test_sharpen_is_torchvision_adjust_sharpness_on_all_three_layers(edge_catalog, factor):
    plain = render_sample(hand_spec(edge_catalog, 2), edge_catalog)
    out = render_sample(hand_spec(edge_catalog, 2, sharpen=factor), edge_catalog)
    for key in ("fgr", "pha", "bgr"):
        for t in range(2):
            want = sharpened(plain[key][t].astype(np.float64), factor)
            got = out[key][t, 1:-1, 1:-1].astype(np.float64)
            assert np.abs(got - want).max() <= 1, f"{key} frame {t}, factor {factor}"  # 1: uint8 rounding
            ring = np.ones(plain[key][t].shape[:2], bool)
            ring[1:-1, 1:-1] = False  # torchvision smooths the interior only: the ring stays as it was
            np.testing.assert_array_equal(out[key][t][ring], plain[key][t][ring])
    if factor == 1.0:
        for key in ("fgr", "pha", "bgr"):
            np.testing.assert_array_equal(out[key], plain[key])


def test_sharpen_factor_above_one_sharpens_and_below_one_blurs(edge_catalog):
    """The step's contrast across the edge (mean of the column right of it minus the one left of it)
    grows with the factor: 0 smooths it, 1 leaves it, 2 and 4 overshoot it."""
    h, w = 14, 18
    mid = w // 2

    def edge_contrast(factor: float | None, key: str) -> float:
        out = render_sample(hand_spec(edge_catalog, 1, sharpen=factor), edge_catalog)[key][0].astype(np.float64)
        ring = out[1:h - 1]
        return float(np.mean(ring[:, mid]) - np.mean(ring[:, mid - 1]))

    for key, sign in (("fgr", 1.0), ("pha", 1.0), ("bgr", -1.0)):
        plain = sign * edge_contrast(None, key)
        contrasts = [sign * edge_contrast(f, key) for f in (0.0, 0.5, 1.0, 2.0, 4.0)]
        assert contrasts[2] == plain
        assert contrasts[0] < contrasts[1] < plain < contrasts[3] < contrasts[4], (key, contrasts)


# --------------------------------------------------------------------------------- contrast pivot


def colour(brightness: float, contrast: float, frames: int) -> dict:
    values = {"brightness": [brightness] * frames, "contrast": [contrast] * frames,
              "saturation": [1.0] * frames, "hue": [0.0] * frames}
    return {"easing": "linear", "a": {}, "b": {}, "values": values, "drift": 1.0}


@pytest.fixture(scope="module")
def figure_catalog(tmp_path_factory) -> Catalog:
    """A figure whose opaque part is dark, whose faint edge (alpha 20) is green, and whose transparent
    surroundings are white: the three candidate pivots (inside alpha > 0, alpha-weighted, the whole
    frame) are tens of grey levels apart."""
    rng = np.random.default_rng(5)
    h, w = 12, 20
    fgr = np.full((h, w, 3), 250, np.uint8)
    fgr[:, :8] = rng.integers(40, 100, (h, 8, 3))
    fgr[:, 8:12] = (30, 210, 40)
    pha = np.zeros((h, w), np.uint8)
    pha[:, :8], pha[:, 8:12] = 255, 20
    bgr = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
    bgr[:, :5] = 240
    return write_catalog(tmp_path_factory.mktemp("figure"), fgr, pha, bgr)


def pivoted(x: np.ndarray, brightness: float, contrast: float, pivot: float) -> np.ndarray:
    """torchvision's order: brightness, then contrast about the (brightened) pivot grey."""
    return np.clip(brightness * (contrast * x + (1.0 - contrast) * pivot), 0, 255)


@pytest.mark.parametrize("brightness, contrast", [(1.0, 0.4), (1.1, 1.7)])
def test_foreground_contrast_pivots_on_the_mean_grey_inside_alpha(figure_catalog, brightness, contrast):
    plain = render_sample(hand_spec(figure_catalog, 1), figure_catalog)
    x = plain["fgr"][0].astype(np.float64)
    a = plain["pha"][0, ..., 0].astype(np.float64)
    grey = x @ LUMA
    pivots = {"inside alpha > 0": grey[a > 0].mean(), "alpha-weighted": (grey * a).sum() / a.sum(),
              "whole frame": grey.mean()}
    out = render_sample(hand_spec(figure_catalog, 1, motion={"fgr_color": colour(brightness, contrast, 1)}),
                        figure_catalog)
    got = out["fgr"][0].astype(np.float64)
    errors = {name: np.abs(got - pivoted(x, brightness, contrast, p)).max() for name, p in pivots.items()}
    assert errors["inside alpha > 0"] <= 1, errors
    assert errors["alpha-weighted"] > 5 and errors["whole frame"] > 5, errors  # the test tells them apart
    np.testing.assert_array_equal(out["pha"], plain["pha"])  # colour never touches alpha
    np.testing.assert_array_equal(out["bgr"], plain["bgr"])


def test_background_contrast_pivots_on_the_mean_grey_of_its_whole_frame(figure_catalog):
    plain = render_sample(hand_spec(figure_catalog, 1), figure_catalog)
    x = plain["bgr"][0].astype(np.float64)
    out = render_sample(hand_spec(figure_catalog, 1, motion={"bgr_color": colour(1.0, 0.5, 1)}), figure_catalog)
    want = pivoted(x, 1.0, 0.5, float((x @ LUMA).mean()))
    assert np.abs(out["bgr"][0] - want).max() <= 1
    np.testing.assert_array_equal(out["fgr"], plain["fgr"])


# ------------------------------------------------------------------------------------- blur kernel


def rvm_width(sigma: float) -> int:
    """RVM's kernel width: int(2 sigma), made odd by adding one; 1 tap (no blur) below 2."""
    n = int(2 * sigma)
    return 1 if n < 2 else n + 1 if n % 2 == 0 else n


def full_width(sigma: float) -> int:
    return int(3.5 * sigma) * 2 + 1


SIZE = 41  # odd: the impulse sits in the middle, 20 pixels from every edge


@pytest.fixture(scope="module")
def impulse_catalog(tmp_path_factory) -> Catalog:
    """A single white pixel in the middle of a black foreground, alpha and background."""
    image = np.zeros((SIZE, SIZE, 3), np.uint8)
    image[SIZE // 2, SIZE // 2] = 255
    return write_catalog(tmp_path_factory.mktemp("impulse"), image, image[..., 0].copy(), image)


def blur(sigmas: list[float], kernel: str) -> dict:
    return {"easing": "linear", "a": {}, "b": {}, "values": {"sigma": sigmas}, "kernel": kernel}


SIGMAS = [0.9, 1.0, 1.6, 2.8, 3.2, 4.0]  # rvm widths 1, 3, 3, 5, 7, 9; full widths 7, 7, 11, 19, 23, 29


@pytest.mark.parametrize("kernel, width", [("rvm", rvm_width), ("full", full_width)])
@pytest.mark.parametrize("layer, blurred", [("fgr_blur", ("fgr", "pha")), ("bgr_blur", ("bgr",)),
                                             ("both_blur", ("fgr", "pha", "bgr"))])
def test_blur_kernel_width_and_taps_follow_sigma(impulse_catalog, kernel, width, layer, blurred):
    """Each frame's impulse response is the outer product of cv2.getGaussianKernel(width(sigma), sigma)
    with itself (for ``rvm`` exactly that many pixels wide); layers the blur is not for stay untouched."""
    T = len(SIGMAS)
    plain = render_sample(hand_spec(impulse_catalog, T), impulse_catalog)
    out = render_sample(hand_spec(impulse_catalog, T, motion={layer: blur(SIGMAS, kernel)}), impulse_catalog)
    c = SIZE // 2
    for key in ("fgr", "pha", "bgr"):
        if key not in blurred:
            np.testing.assert_array_equal(out[key], plain[key])
            continue
        for t, sigma in enumerate(SIGMAS):
            n = width(sigma)
            taps = cv2.getGaussianKernel(n, sigma)[:, 0]
            want = np.zeros((SIZE, SIZE))
            want[c - n // 2:c + n // 2 + 1, c - n // 2:c + n // 2 + 1] = 255.0 * np.outer(taps, taps)
            got = out[key][t, ..., 0].astype(np.float64)
            assert np.abs(got - want).max() <= 1, f"{key} frame {t}: sigma {sigma}, {n} taps expected"
            if kernel == "rvm":  # cut at about one sigma: its last taps are far from zero
                rows, cols = np.nonzero(got)
                assert cols.max() - cols.min() + 1 == rows.max() - rows.min() + 1 == n, (key, sigma, n)


def test_rvm_blur_under_two_taps_is_no_blur(impulse_catalog):
    plain = render_sample(hand_spec(impulse_catalog, 2), impulse_catalog)
    out = render_sample(hand_spec(impulse_catalog, 2, motion={"both_blur": blur([0.0, 0.99], "rvm")}),
                        impulse_catalog)
    for key in ("fgr", "pha", "bgr"):
        np.testing.assert_array_equal(out[key], plain[key])
