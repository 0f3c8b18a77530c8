"""Motion blur along the foreground's own trajectory: along the motion only, still figures untouched,
colour and alpha consistent (premultiplied), and off means byte-identical samples."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from rvm_data.augment import AugmentConfig, TemporalConfig
from rvm_data.augment.motion_blur import exposure_warps, own_motion
from rvm_data.augment.params import (
    AffineRange,
    BlurConfig,
    ColorJitterConfig,
    EasingConfig,
    MotionAffineConfig,
    MotionBlurConfig,
    NoiseConfig,
    SharpenConfig,
)
from rvm_data.compose import ComposeConfig, plan_sample, render_sample
from rvm_data.errors import ConfigError
from rvm_data.recipe import load_recipe, parse_recipe
from rvm_data.sources import SourcesConfig, build_catalog

H, W, T = 48, 64, 4
QUICKSTART = Path(__file__).resolve().parents[2] / "recipes" / "quickstart.yaml"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    """One still foreground clip: a soft-edged square (2-pixel ramps), colour unlike the background."""
    root = tmp_path_factory.mktemp("blur_src")
    y, x = np.mgrid[0:H, 0:W]
    inside = np.minimum(np.minimum(x - 18, 45 - x), np.minimum(y - 12, 35 - y))
    alpha = np.clip((inside + 1) / 2 * 255, 0, 255).astype(np.uint8)
    colour = np.dstack([np.full((H, W), 40), 80 + x * 2, 250 - y * 3]).astype(np.uint8)  # BGR on disk
    for t in range(T):
        for kind, image in (("fgr", colour), ("pha", alpha)):
            folder = root / "fg" / kind / "clip0"
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"{t:05d}.png"), image)
    (root / "bgi").mkdir()
    cv2.imwrite(str(root / "bgi" / "grey.png"), np.full((H, W, 3), 128, np.uint8))
    return build_catalog(SourcesConfig(foreground=str(root / "fg"), background_images=str(root / "bgi")))


BLUR = MotionBlurConfig(prob=1.0, shutter=(1.0, 1.0))  # frozen: one shared default, as before


def config(move: bool = True, blur: MotionBlurConfig = BLUR,
           pause: float = 0.0, frames: int = T) -> ComposeConfig:
    """Only a horizontal foreground move (if ``move``) and the motion blur; everything else off."""
    slide = MotionAffineConfig(prob=1.0 if move else 0.0,
                               range=AffineRange(degrees=(0, 0), translate=(0.25, 0.0), scale=(1, 1), shear=(0, 0)))
    off = MotionAffineConfig(prob=0.0)
    aug = AugmentConfig(static_affine=False, fgr_affine=slide, bgr_affine=off, camera_affine=off,
                        fgr_color=ColorJitterConfig(prob=0.0), bgr_color=ColorJitterConfig(prob=0.0),
                        noise=NoiseConfig(prob=0.0), blur=BlurConfig(prob=0.0), sharpen=SharpenConfig(prob=0.0),
                        grayscale_prob=0.0, hflip_prob=0.0, easing=EasingConfig(linear_prob=1.0), motion_blur=blur)
    return ComposeConfig(size=(H, W), frames=frames, augment=aug,
                         temporal=TemporalConfig(speeds=(1.0,), reverse_prob=0.0, pause_prob=pause))


def fast_index(catalog, cfg: ComposeConfig) -> int:
    """A sample whose foreground slides at least 4 output pixels per frame."""
    for index in range(50):
        spec = plan_sample(cfg, catalog, seed=3, split="train", index=index, augment=True)
        a, b = spec.motion["fgr_affine"]["a"], spec.motion["fgr_affine"]["b"]
        if abs(b["translate_x"] - a["translate_x"]) * W / (T - 1) >= 4:
            return index
    raise AssertionError("no fast sample")


def render(catalog, cfg: ComposeConfig, index: int) -> dict:
    return render_sample(plan_sample(cfg, catalog, seed=3, split="train", index=index, augment=True), catalog)


def ramp(profile: np.ndarray) -> int:
    """How many pixels of a profile are partly transparent (the width of its edges)."""
    return int(np.count_nonzero((profile > 0) & (profile < 255)))


def test_moving_edge_is_blurred_along_the_motion_only(catalog):
    index = fast_index(catalog, config())
    blurred = render(catalog, config(), index)
    sharp = render(catalog, config(blur=MotionBlurConfig(prob=0.0)), index)
    lengths = blurred["spec"]["motion"]["motion_blur"]["values"]["length"]
    assert min(lengths) >= 4  # a 1-frame shutter: as long as the move per frame
    for t in range(T):
        pha, ref = blurred["pha"][t, ..., 0], sharp["pha"][t, ..., 0]
        row = H // 2 - 1
        assert ramp(pha[row]) >= ramp(ref[row]) + 4  # the left and right edges are smeared
        column = int(np.flatnonzero(ref[row] == 255).mean())  # the square's middle, away from its moving edges
        assert np.abs(pha[:, column].astype(int) - ref[:, column]).max() <= 1  # top and bottom edges are not
        assert abs(float(pha.sum()) - float(ref.sum())) / float(ref.sum()) < 0.02  # coverage is kept


def test_still_foreground_is_untouched(catalog):
    cfg = config(move=False)
    sample = render(catalog, cfg, 0)
    plain = render(catalog, config(move=False, blur=MotionBlurConfig(prob=0.0)), 0)
    assert sample["spec"]["motion"]["motion_blur"]["values"]["length"] == [0.0] * T
    for key in ("fgr", "pha", "bgr"):
        np.testing.assert_array_equal(sample[key], plain[key])


def test_the_frames_of_a_pause_are_blurred_alike(catalog):
    """A pause shows one tick again: its frames get that tick's exposure, so they stay identical (as a
    held frame of real footage is), and their blur is the moving figure's there (found in review: the
    first frame of a pause was half blurred and the rest sharp)."""
    cfg = config(pause=1.0, frames=8)
    rendered = 0
    for index in range(10):
        spec = plan_sample(cfg, catalog, seed=3, split="train", index=index, augment=True)
        clock, lengths = spec.clock, spec.motion["motion_blur"]["values"]["length"]
        held = [t for t in range(1, 8) if clock[t - 1] == clock[t]]
        for t in held:
            assert lengths[t] == lengths[t - 1]
        moving = [t for t in range(1, 7) if clock[t - 1] < clock[t] < clock[t + 1]]
        assert all(lengths[t] > 0.01 for t in moving)
        if held and rendered < 2:
            rendered += 1
            sample = render_sample(spec, catalog)
            for t in held:
                np.testing.assert_array_equal(sample["pha"][t], sample["pha"][t - 1])
                np.testing.assert_array_equal(sample["fgr"][t], sample["fgr"][t - 1])
    assert rendered == 2


def test_composite_of_blur_is_blur_of_composite_over_a_uniform_background(catalog):
    cfg = config(blur=MotionBlurConfig(prob=1.0, shutter=(0.8, 0.8), samples=6))
    index = fast_index(catalog, cfg)
    spec = plan_sample(cfg, catalog, seed=3, split="train", index=index, augment=True)
    blurred = render_sample(spec, catalog)
    sharp = render_sample(plan_sample(config(blur=MotionBlurConfig(prob=0.0)), catalog, seed=3, split="train",
                                      index=index, augment=True), catalog)
    background = np.array([30.0, 90.0, 200.0], np.float32)

    def over(fgr, pha):
        a = pha.astype(np.float32) / 255.0
        return fgr.astype(np.float32) * a + background * (1.0 - a)

    record = spec.motion["motion_blur"]
    warps = exposure_warps(np.asarray(spec.fgr.matrices), own_motion(spec.motion), spec.clock, (H, W),
                           record["shutter"], record["samples"])
    for t in range(T):
        composite = over(sharp["fgr"][t], sharp["pha"][t])
        expected = np.mean([cv2.warpAffine(composite, m[:2], (W, H), flags=cv2.INTER_LINEAR,
                                           borderMode=cv2.BORDER_REPLICATE) for m in warps[t]], axis=0)
        assert np.abs(over(blurred["fgr"][t], blurred["pha"][t]) - expected).max() <= 2.0


def test_off_is_byte_identical_and_keeps_the_recipe_hash(catalog):
    on_settings_off = MotionBlurConfig(prob=0.0, shutter=(0.1, 0.9), samples=3)
    index = fast_index(catalog, config())
    a = render(catalog, config(blur=on_settings_off), index)
    b = render(catalog, config(blur=MotionBlurConfig()), index)
    assert "motion_blur" not in a["spec"]["motion"] and a["spec"] == b["spec"]
    for key in ("fgr", "pha", "bgr"):
        np.testing.assert_array_equal(a[key], b[key])
    base = load_recipe(QUICKSTART)
    assert load_recipe(QUICKSTART, ["outputs.lr.compose.augment.motion_blur.prob=0"]).hash == base.hash
    assert "motion_blur" not in base.to_dict()["outputs"]["lr"]["compose"]["augment"]
    on = load_recipe(QUICKSTART, ["outputs.lr.compose.augment.motion_blur={prob: 0.3, shutter: [0.2, 0.6]}"])
    assert on.hash != base.hash and on.outputs["lr"].compose.augment.motion_blur.prob == 0.3
    assert on.to_dict()["outputs"]["lr"]["compose"]["augment"]["motion_blur"]["samples"] == 8
    for recipe in (base, on):  # what a manifest records reads back as the same recipe
        assert parse_recipe(recipe.to_dict()).hash == recipe.hash


def test_settings_are_checked_with_their_key():
    with pytest.raises(ConfigError, match=r"augment\.motion_blur\.shutter: must be fractions") as caught:
        ComposeConfig(augment=AugmentConfig(motion_blur=MotionBlurConfig(shutter=(0.5, 2.0))))
    assert caught.value.key == "augment.motion_blur.shutter"
    with pytest.raises(ConfigError, match=r"augment\.motion_blur\.samples: must be an integer >= 2"):
        ComposeConfig(augment=AugmentConfig(motion_blur=MotionBlurConfig(samples=1)))
    assert dataclasses.replace(MotionBlurConfig(), prob=0.5).samples == 8


@pytest.mark.parametrize("change, key", [({"samples": 0}, "samples"), ({"samples": 1.5}, "samples"),
                                         ({"shutter": -3}, "shutter"), ({"shutter": "wide"}, "shutter")])
def test_a_stored_record_render_could_not_use_is_refused_naming_its_key(catalog, change, key):
    """Found in review: samples 0 rendered an empty alpha, shutter -3 rendered, 1.5 was a TypeError."""
    from rvm_data.augment.base import SpecError
    from rvm_data.compose import SampleSpec

    spec = plan_sample(config(), catalog, seed=3, split="train", index=0, augment=True).to_dict()
    spec["motion"]["motion_blur"].update(change)
    with pytest.raises(SpecError) as caught:
        SampleSpec.from_dict(spec)
    assert caught.value.key == f"motion.motion_blur.{key}"
