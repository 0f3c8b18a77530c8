"""Overshooting curves keep their overshoot, but no recorded value leaves its physical domain,
and the recorded values are the ones render uses."""

import math

import numpy as np
import pytest
from engine_sources import write_sources

from rvm_data.augment import AugmentConfig
from rvm_data.augment.easing import EASINGS, ease
from rvm_data.augment.params import (
    AffineRange,
    BlurConfig,
    ColorJitterConfig,
    EasingConfig,
    MotionAffineConfig,
    NoiseConfig,
    trajectory,
)
from rvm_data.compose import ComposeConfig, plan_sample, render_sample

OVERSHOOTING = tuple(sorted(k for k in EASINGS if k.startswith(("back_", "elastic_"))))
N = 400
MIN_FACTOR = 0.05


def domain(name: str, key: str) -> tuple[float, float]:
    """Where each eased parameter means something (written out here, independent of the engine)."""
    if name.endswith("_affine"):
        return {"scale": (1e-3, math.inf), "shear_x": (-80.0, 80.0)}.get(key, (-math.inf, math.inf))
    if name.endswith("_color"):
        return (-0.5, 0.5) if key == "hue" else (MIN_FACTOR, math.inf)
    if name == "noise":
        return (1.0, math.inf) if key == "grain" else (0.0, math.inf)
    assert name.endswith("_blur") and key == "sigma"
    return (0.0, math.inf)


def wide_overshooting() -> ComposeConfig:
    """Every eased augmentation on, with ranges reaching their domain's edge, only overshooting curves."""
    move = MotionAffineConfig(prob=1.0, range=AffineRange(scale=(0.01, 3.0), shear=(-80.0, 80.0)))
    colour = ColorJitterConfig(prob=1.0, std=0.6, hue_scale=1.0, min_factor=MIN_FACTOR)
    return ComposeConfig(size=(16, 16), frames=8, augment=AugmentConfig(
        fgr_affine=move, bgr_affine=move, camera_affine=move, fgr_color=colour, bgr_color=colour,
        noise=NoiseConfig(prob=1.0, grain=(1.0, 6.0), strength=0.5), blur=BlurConfig(prob=1.0, sigma=(0.0, 10.0)),
        easing=EasingConfig(linear_prob=0.0, curves=OVERSHOOTING)))


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return write_sources(tmp_path_factory.mktemp("src"), fg_frames=12, bg_frames=12)


@pytest.fixture(scope="module")
def plans(catalog):
    cfg = wide_overshooting()
    return [plan_sample(cfg, catalog, seed=5, split="train", index=i, augment=True) for i in range(N)]


def test_recorded_values_stay_in_their_domain_and_keep_overshoot_inside_it(plans):
    clamped, kept = set(), set()
    for s in plans:
        for name, m in s.motion.items():
            w = ease(m["easing"], np.array(s.progress))
            for key, values in m["values"].items():
                lo, hi = domain(name, key)
                values = np.asarray(values)
                assert np.all((values >= lo) & (values <= hi)), (s.index, name, key, values)
                raw = m["a"][key] + (m["b"][key] - m["a"][key]) * w
                # cut exactly at the domain's edge, and nowhere else
                np.testing.assert_allclose(values, np.clip(raw, lo, hi), atol=1e-12, err_msg=f"{name}.{key}")
                if np.any((raw < lo) | (raw > hi)):
                    clamped.add((name.split("_")[-1], key))
                span = sorted((m["a"][key], m["b"][key]))
                past = (values < span[0] - 1e-6) | (values > span[1] + 1e-6)
                if np.any(past & (values > lo) & (values < hi)):
                    kept.add((name.split("_")[-1], key))
    eased_keys = {("affine", "scale"), ("affine", "shear_x"), ("color", "brightness"), ("color", "contrast"),
                  ("color", "saturation"), ("noise", "grain"), ("noise", "strength"), ("blur", "sigma")}
    assert eased_keys <= clamped  # the test reaches every domain edge ...
    assert eased_keys | {("affine", "angle"), ("affine", "translate_x")} <= kept  # ... and overshoot survives


def test_matrices_use_the_clamped_scale(plans):
    """A motion scale eased below 0 would mirror the stream; after clamping only hflip mirrors."""
    for s in plans:
        for stream in (s.fgr, s.bgr):
            dets = np.linalg.det(np.asarray(stream.matrices)[:, :, :2])
            assert np.all(np.sign(dets) == (-1.0 if stream.hflip else 1.0)), (s.index, dets)


def test_quickstart_281_blur_keeps_its_swing_above_a_but_not_below_zero():
    """The reported case: elastic_in_out from sigma 9.71 to 0.88 swung to -0.72."""
    progress = np.arange(8) / 7.0
    raw = trajectory({"sigma": 9.71}, {"sigma": 0.88}, "elastic_in_out", progress)["sigma"]
    assert raw.min() < 0
    sigma = BlurConfig().clamp({"sigma": raw})["sigma"]
    assert sigma.min() == 0.0 and sigma.max() == raw.max() > 9.71
    np.testing.assert_array_equal(sigma[raw >= 0], raw[raw >= 0])


def test_overshooting_samples_render(plans, catalog):
    for s in plans[:6]:
        out = render_sample(s, catalog)
        assert out["fgr"].shape == (8, 16, 16, 3) and out["spec"]["motion"] == s.to_dict()["motion"]
