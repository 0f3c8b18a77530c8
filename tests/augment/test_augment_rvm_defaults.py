"""Every engine default touched by issue 14, pinned to RVM's value or formula.

The reference curves below are written out here, scalar by scalar, from the formulas the
``easing-functions`` 1.0.4 package publishes (the package RVM's ``random_easing_fn`` draws from),
not taken from rvm_data, so a change to rvm_data's curves cannot agree with itself.
"""

import math

import numpy as np
import pytest

from rvm_data.augment import geometry, ops
from rvm_data.augment.easing import EASINGS, ease
from rvm_data.augment.params import AugmentConfig, ColorJitterConfig, NoiseConfig, crop_aspect
from rvm_data.augment.temporal import TemporalConfig, plan_stream_frames, speed_line, speed_stats


def _bounce_out(t):
    if t < 4 / 11:
        return 121 * t * t / 16
    if t < 8 / 11:
        return 363 / 40 * t * t - 99 / 10 * t + 17 / 5
    if t < 9 / 10:
        return 4356 / 361 * t * t - 35442 / 1805 * t + 16061 / 1805
    return 54 / 5 * t * t - 513 / 25 * t + 268 / 25


def _back_in(t):
    return t ** 3 - t * math.sin(t * math.pi)


REFERENCE = {
    "quad_in": lambda t: t * t,
    "quad_out": lambda t: -(t * (t - 2)),
    "quad_in_out": lambda t: 2 * t * t if t < 0.5 else -2 * t * t + 4 * t - 1,
    "cubic_in": lambda t: t ** 3,
    "cubic_out": lambda t: (t - 1) ** 3 + 1,
    "cubic_in_out": lambda t: 4 * t ** 3 if t < 0.5 else 0.5 * (2 * t - 2) ** 3 + 1,
    "quartic_in": lambda t: t ** 4,
    "quartic_out": lambda t: (t - 1) ** 3 * (1 - t) + 1,
    "quartic_in_out": lambda t: 8 * t ** 4 if t < 0.5 else -8 * (t - 1) ** 4 + 1,
    "quintic_in": lambda t: t ** 5,
    "quintic_out": lambda t: (t - 1) ** 5 + 1,
    "quintic_in_out": lambda t: 16 * t ** 5 if t < 0.5 else 0.5 * (2 * t - 2) ** 5 + 1,
    "sine_in": lambda t: math.sin((t - 1) * math.pi / 2) + 1,
    "sine_out": lambda t: math.sin(t * math.pi / 2),
    "sine_in_out": lambda t: 0.5 * (1 - math.cos(t * math.pi)),
    "circ_in": lambda t: 1 - math.sqrt(1 - t * t),
    "circ_out": lambda t: math.sqrt((2 - t) * t),
    "circ_in_out": lambda t: (0.5 * (1 - math.sqrt(1 - 4 * t * t)) if t < 0.5
                              else 0.5 * (math.sqrt(-(2 * t - 3) * (2 * t - 1)) + 1)),
    "expo_in": lambda t: 0.0 if t == 0 else 2 ** (10 * (t - 1)),
    "expo_out": lambda t: 1.0 if t == 1 else 1 - 2 ** (-10 * t),
    "expo_in_out": lambda t: (t if t in (0, 1) else 0.5 * 2 ** (20 * t - 10) if t < 0.5
                              else -0.5 * 2 ** (-20 * t + 10) + 1),
    "elastic_in": lambda t: math.sin(13 * math.pi / 2 * t) * 2 ** (10 * (t - 1)),
    "elastic_out": lambda t: math.sin(-13 * math.pi / 2 * (t + 1)) * 2 ** (-10 * t) + 1,
    "elastic_in_out": lambda t: (0.5 * math.sin(13 * math.pi / 2 * 2 * t) * 2 ** (10 * (2 * t - 1)) if t < 0.5
                                 else 0.5 * (math.sin(-13 * math.pi / 2 * (2 * t)) * 2 ** (-10 * (2 * t - 1)) + 2)),
    "back_in": _back_in,
    "back_out": lambda t: 1 - _back_in(1 - t),
    "back_in_out": lambda t: 0.5 * _back_in(2 * t) if t < 0.5 else 0.5 * (1 - _back_in(2 - 2 * t)) + 0.5,
    "bounce_in": lambda t: 1 - _bounce_out(1 - t),
    "bounce_out": _bounce_out,
    "bounce_in_out": lambda t: 0.5 * (1 - _bounce_out(1 - 2 * t)) if t < 0.5 else 0.5 * _bounce_out(2 * t - 1) + 0.5,
    "step": lambda t: 0 if t < 0.5 else 1,  # RVM's own Step
    "linear": lambda t: t,  # LinearInOut
}
GRID = np.unique(np.concatenate([np.linspace(0.0, 1.0, 4001), [4 / 11, 8 / 11, 0.9, 2 / 11, 4 / 11 + 0.5, 0.95]]))


def test_default_curve_set_is_rvms_31_plus_linear():
    easing = AugmentConfig().easing
    assert sorted(easing.curves) == sorted(set(REFERENCE) - {"linear"}) and len(easing.curves) == 31
    assert easing.linear_prob == 0.2


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_curve_matches_easing_functions_formula(name):
    expected = np.array([REFERENCE[name](float(t)) for t in GRID])
    assert np.abs(ease(name, GRID) - expected).max() < 1e-3


def test_back_overshoot_is_38_percent_and_penner_is_kept_as_an_option():
    t = np.linspace(0.0, 1.0, 100001)
    assert EASINGS["back_in"](t).min() == pytest.approx(-0.3788, abs=1e-3)
    assert EASINGS["penner_back_in"](t).min() == pytest.approx(-0.1002, abs=1e-3)
    assert "penner_back_in" not in AugmentConfig().easing.curves


def _torchvision_rrc_params(rng, height, width, ratio):
    """torchvision's RandomResizedCrop.get_params(scale=(1, 1), ratio) as documented: 10 tries of a
    crop of the whole area at a log-uniform ratio, else the centred fallback (i, j, h, w)."""
    area = height * width
    for _ in range(10):
        r = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        w, h = int(round(math.sqrt(area * r))), int(round(math.sqrt(area / r)))
        if 0 < w <= width and 0 < h <= height:
            return int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1)), h, w
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, int(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        h, w = height, int(round(height * ratio[1]))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


@pytest.mark.parametrize("hw", [(1080, 1920), (1920, 1080), (270, 480), (384, 512), (216, 384), (500, 520),
                                (1000, 1000)])
def test_rvm_aspect_crop_is_torchvisions_fallback(hw):
    """RVM's crop is (within a pixel) always the centred fallback; rvm mode gives that box."""
    aug = AugmentConfig()
    assert aug.aspect == "rvm" and aug.aspect_ratio == (0.9, 1.1)
    rng = np.random.default_rng(0)
    aspect = crop_aspect("rvm", aug.aspect_ratio, hw, (512, 512), jitter=1.07)
    x0, y0, ch, cw = geometry.center_crop(hw, aspect)
    for _ in range(50):
        i, j, h, w = _torchvision_rrc_params(rng, *hw, aug.aspect_ratio)
        assert abs(h - ch) <= 1 and abs(w - cw) <= 1 and abs(i - y0) <= 1 and abs(j - x0) <= 1


def test_aspect_modes_relative_to_output_and_jitter_passes_through():
    assert crop_aspect("rvm", (0.9, 1.1), (216, 384), (256, 256), 1.0) == 1.1  # landscape squeezed by 1/1.1
    assert crop_aspect("rvm", (0.9, 1.1), (384, 216), (256, 256), 1.0) == 0.9
    assert crop_aspect("rvm", (0.9, 1.1), (270, 480), (288, 512), 1.0) == pytest.approx(1.0)  # same aspect as output
    assert crop_aspect("jitter", (0.9, 1.1), (216, 384), (256, 256), 0.95) == 0.95
    with pytest.raises(ValueError, match="x.aspect: must be one of"):
        AugmentConfig(aspect="stretch").validate("x")


def test_valid_framing_noise_and_drift_defaults_are_rvms():
    aug = AugmentConfig()
    assert aug.valid_framing and aug.static_affine  # VideoMatteValidAugmentation keeps static_affine=True
    assert aug.noise.per_layer and NoiseConfig().per_layer  # one random() * 0.2 / grain per layer
    assert aug.fgr_color.drift == (0.0, 0.2) and aug.bgr_color.drift == (0.0, 0.2)  # strength = random() * 0.2
    assert TemporalConfig().speed_fit == "nearest"
    with pytest.raises(ValueError, match="c.drift"):
        ColorJitterConfig(drift=(0.0, 1.5)).validate("c")
    with pytest.raises(ValueError, match="t.speed_fit"):
        TemporalConfig(speed_fit="wrap").validate("t")


def test_drift_shortens_b_and_draws_last():
    cfg = ColorJitterConfig(drift=(0.1, 0.2))
    a, b = {"brightness": 1.0, "hue": 0.0}, {"brightness": 2.0, "hue": 0.5}
    d, reached = cfg.draw_drift(np.random.default_rng(1), a, b)
    assert 0.1 <= d <= 0.2 and reached == pytest.approx({"brightness": 1.0 + d, "hue": 0.5 * d})
    assert ColorJitterConfig(drift=(1.0, 1.0)).draw_drift(np.random.default_rng(1), a, b) == (1.0, b)


def test_speed_fit_takes_nearest_listed_speed_that_fits():
    """T=50 on 100-frame clips: speeds 3-5 do not fit; they become 2, never a slowed 2.02."""
    cfg = TemporalConfig()
    specs = []
    for i in range(600):
        frames, rec = plan_stream_frames(np.random.default_rng(i), cfg, 50, 100, True)
        assert max(frames) < 100 and rec["speed"] in (0.5, 1.0, 2.0) and rec["boundary"] in (None, "nearest")
        assert np.abs(np.diff(frames)).max() <= 2
        if rec["boundary"] == "nearest":
            assert rec["drawn_speed"] in (3.0, 4.0, 5.0) and rec["speed"] == 2.0
        specs.append({"clock": list(range(50)), "fgr": {"temporal": rec, "source": {"frames": 100}},
                      "bgr": {"temporal": None, "source": {"frames": 1}}})
    stats = speed_stats(specs)["fgr"]
    assert set(stats["counts"]) == {0.5, 1.0, 2.0} and stats["streams"] == 600
    assert abs(stats["lowered"] / 600 - 0.5) < 0.08 and abs(stats["counts"][2.0] / 600 - 4 / 6) < 0.08
    line = speed_line("fgr", stats)
    assert line.startswith("fgr speeds (600 streams): 0.5:") and " 2:" in line and "lowered to fit" in line
    assert speed_line("bgr", speed_stats(specs)["bgr"]) == "bgr speeds: no video streams"
    old = TemporalConfig(speed_fit="boundary")
    slowed = [plan_stream_frames(np.random.default_rng(i), old, 50, 100, True)[1] for i in range(200)]
    assert {r["boundary"] for r in slowed} == {None, "fit"}
    pairs = zip(specs, slowed, strict=False)  # the first 200 of the 600 specs
    old_stats = speed_stats([{**s, "fgr": {"temporal": r, "source": {"frames": 100}}} for s, r in pairs])
    assert 2.02 in old_stats["fgr"]["counts"]


def test_speed_fit_keeps_the_stream_when_the_speed_fits():
    """Streams whose drawn speed fits are exactly what speed_fit: boundary gives."""
    for i in range(100):
        new = plan_stream_frames(np.random.default_rng(i), TemporalConfig(), 15, 100, True)
        old = plan_stream_frames(np.random.default_rng(i), TemporalConfig(speed_fit="boundary"), 15, 100, True)
        assert new == old


def test_no_listed_speed_fits_slowest_then_boundary():
    cfg = TemporalConfig(speeds=(1.0, 5.0), reverse_prob=0.0, boundary="clamp")
    records = [plan_stream_frames(np.random.default_rng(i), cfg, 10, 6, True) for i in range(20)]
    lowered = [(frames, rec) for frames, rec in records if rec.get("drawn_speed") == 5.0]
    assert lowered
    for frames, rec in lowered:
        assert rec["speed"] == 1.0 and frames == [0, 1, 2, 3, 4, 5, 5, 5, 5, 5] and rec["boundary"] == "clamp"


def test_noise_strength_per_layer():
    """Each layer gets its own strength (RVM), grain shared; a zero strength leaves its layer alone."""
    cfg = NoiseConfig()
    a, b = cfg.draw(np.random.default_rng(3))
    a2, b2 = cfg.draw_bgr(np.random.default_rng(4), a, b)
    assert {k: a2[k] for k in a} == a and {k: b2[k] for k in b} == b
    assert 0.0 <= a2["bgr_strength"] <= 0.2 / a["grain"] and a2["bgr_strength"] != a["strength"]
    fgr, bgr = np.full((2, 8, 8, 3), 128, np.uint8), np.full((2, 8, 8, 3), 128, np.uint8)
    ops.add_noise([fgr, bgr], [0, 1], [1.0, 1.0], [[0.1, 0.1], [0.0, 0.0]], False, seed=1)
    assert fgr.std() > 5 and np.all(bgr == 128)
    shared, per = np.full((2, 8, 8, 3), 128, np.uint8), np.full((2, 8, 8, 3), 128, np.uint8)
    ops.add_noise([shared], [0, 1], [1.0, 1.0], [0.1, 0.1], False, seed=1)
    ops.add_noise([per], [0, 1], [1.0, 1.0], [[0.1, 0.1]], False, seed=1)
    assert np.array_equal(shared, per)
