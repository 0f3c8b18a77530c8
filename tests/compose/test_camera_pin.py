"""Pin of the README's camera move: one output-space matrix per frame, composed after each layer's own
geometry, the same for the foreground (colour and alpha) and the background, so a pure camera move
shifts the whole composite, figure and background alike.

Each plan decision has its own generator, so a plan with the camera on and one with it off differ in
the camera alone: their matrices' quotient is the camera's matrix.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from rvm_data.augment import AugmentConfig
from rvm_data.augment.geometry import affine
from rvm_data.augment.params import (
    AffineRange,
    BlurConfig,
    ColorJitterConfig,
    MotionAffineConfig,
    NoiseConfig,
    SharpenConfig,
)
from rvm_data.compose import ComposeConfig, plan_sample, render_sample
from rvm_data.sources import Catalog, SourcesConfig, build_catalog

SIZE = (48, 56)  # output H, W; the sources have other sizes and aspects, so each layer has its own crop


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Catalog:
    """A soft disc of a figure (40 x 50) and a background image (60 x 66) holding one soft bright blob."""
    root: Path = tmp_path_factory.mktemp("camera")
    yy, xx = np.mgrid[0:40, 0:50]
    disc = np.clip((9 - np.hypot(xx - 25, yy - 20)) * 60, 0, 255).astype(np.uint8)
    for kind, image in (("fgr", np.dstack([disc] * 3)), ("pha", disc)):
        (root / "fg" / kind / "clip0").mkdir(parents=True)
        assert cv2.imwrite(str(root / "fg" / kind / "clip0" / "00000.png"), image)
    yy, xx = np.mgrid[0:60, 0:66]
    blob = (20 + 230 * np.exp(-((xx - 33) ** 2 + (yy - 30) ** 2) / (2 * 5.0 ** 2))).astype(np.uint8)
    (root / "bgi").mkdir()
    assert cv2.imwrite(str(root / "bgi" / "image0.png"), np.dstack([blob] * 3))
    return build_catalog(SourcesConfig(foreground=str(root / "fg"), background_images=str(root / "bgi")))


def config(camera: MotionAffineConfig, layers: MotionAffineConfig, **changes) -> ComposeConfig:
    """Geometry only: colour, noise, blur and sharpening off."""
    aug = AugmentConfig(fgr_affine=layers, bgr_affine=layers, camera_affine=camera,
                        fgr_color=ColorJitterConfig(prob=0.0), bgr_color=ColorJitterConfig(prob=0.0),
                        noise=NoiseConfig(prob=0.0), blur=BlurConfig(prob=0.0),
                        sharpen=SharpenConfig(prob=0.0), grayscale_prob=0.0, **changes)
    return ComposeConfig(size=SIZE, frames=4, augment=aug)


def full(matrix: list[list[float]]) -> np.ndarray:
    return np.vstack([np.asarray(matrix, np.float64), [0.0, 0.0, 1.0]])


def camera_matrix(values: dict[str, list[float]], t: int) -> np.ndarray:
    """The camera's move at frame t in output pixels: about the output's centre, translations as
    fractions of the output's size."""
    h, w = SIZE
    v = {k: float(x[t]) for k, x in values.items()}
    return affine(((w - 1) / 2.0, (h - 1) / 2.0), angle=v["angle"],
                  translate=(v["translate_x"] * w, v["translate_y"] * h), scale=v["scale"],
                  shear=(v["shear_x"], v["shear_y"]))


def test_camera_is_one_output_space_matrix_composed_after_each_layers_own(catalog):
    move = MotionAffineConfig(prob=1.0, range=AffineRange(degrees=(-20, 20), translate=(0.2, 0.2), scale=(0.8, 1.2),
                                                          shear=(-8, 8)))
    on, off = config(move, move, hflip_prob=0.5), config(MotionAffineConfig(prob=0.0), move, hflip_prob=0.5)
    flips = set()
    for index in range(8):
        with_camera = plan_sample(on, catalog, seed=3, split="train", index=index, augment=True)
        without = plan_sample(off, catalog, seed=3, split="train", index=index, augment=True)
        values = with_camera.motion["camera_affine"]["values"]
        assert "camera_affine" not in without.motion
        flips.add((with_camera.fgr.hflip, with_camera.bgr.hflip))
        for t in range(on.frames):
            want = camera_matrix(values, t)
            assert not np.allclose(want, np.eye(3), atol=1e-3)
            for stream in ("fgr", "bgr"):
                mine = full(getattr(without, stream).matrices[t])
                got = full(getattr(with_camera, stream).matrices[t])
                np.testing.assert_allclose(got, want @ mine, atol=1e-9, err_msg=f"sample {index} {stream} frame {t}")
    assert len(flips) > 1  # flips are a layer's own geometry: the camera comes after them too


def centroid(image: np.ndarray) -> np.ndarray:
    """Intensity-weighted (x, y) centre of a 2-D image."""
    weights = image.astype(np.float64)
    yy, xx = np.mgrid[0:image.shape[0], 0:image.shape[1]]
    return np.array([(weights * xx).sum(), (weights * yy).sum()]) / weights.sum()


def test_a_pure_camera_move_shifts_figure_and_background_alike(catalog):
    """A camera that only translates moves the rendered alpha's centre and the background blob's
    centre by the same output-pixel offset, ``translate * (W, H)``, frame by frame."""
    pan = MotionAffineConfig(prob=1.0, range=AffineRange(degrees=(0, 0), translate=(0.15, 0.15), scale=(1, 1),
                                                         shear=(0, 0)))
    still = MotionAffineConfig(prob=0.0)
    h, w = SIZE
    moved = 0
    for index in range(4):
        a = plan_sample(config(pan, still, static_affine=False), catalog, seed=1, split="train", index=index,
                        augment=True)
        b = plan_sample(config(still, still, static_affine=False), catalog, seed=1, split="train", index=index,
                        augment=True)
        ra, rb = render_sample(a, catalog), render_sample(b, catalog)
        values = a.motion["camera_affine"]["values"]
        for t in range(a.frames):
            shift = np.array([values["translate_x"][t] * w, values["translate_y"][t] * h])
            moved += bool(np.abs(shift).max() > 2)
            fg = centroid(ra["pha"][t, ..., 0]) - centroid(rb["pha"][t, ..., 0])
            bg = centroid(ra["bgr"][t, ..., 0] - 20.0) - centroid(rb["bgr"][t, ..., 0] - 20.0)
            np.testing.assert_allclose(fg, shift, atol=0.1, err_msg=f"figure, sample {index} frame {t}")
            np.testing.assert_allclose(bg, shift, atol=0.1, err_msg=f"background, sample {index} frame {t}")
            np.testing.assert_array_equal(ra["fgr"][t, ..., 0], ra["pha"][t, ..., 0])  # colour moved with alpha
    assert moved >= 4  # the pans are large enough to tell a moved layer from a still one
