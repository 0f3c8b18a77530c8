import json
import math

import numpy as np
import pytest
from engine_sources import write_sources

from rvm_data.augment import AugmentConfig, TemporalConfig, imagematte_augment
from rvm_data.augment.easing import ease
from rvm_data.augment.params import ColorJitterConfig, EasingConfig, MotionAffineConfig
from rvm_data.compose import ComposeConfig, SampleSpec, plan_sample

N = 2000


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return write_sources(tmp_path_factory.mktemp("src"), fg_frames=30, bg_frames=30, videos=2, images=3)


@pytest.fixture(scope="module")
def plans(catalog):
    cfg = ComposeConfig(size=(16, 16), frames=4)
    return [plan_sample(cfg, catalog, seed=7, split="train", index=i, augment=True) for i in range(N)]


def binomial_ok(k, n, p):
    return abs(k - n * p) <= 4.5 * math.sqrt(n * p * (1 - p)) + 1e-9


def test_defaults_are_rvms():
    c = ComposeConfig()
    a, t = c.augment, c.temporal
    assert c.size == (512, 512) and c.frames == 15 and c.bgr_video_prob == 0.5
    assert a.fgr_affine.prob == 0.3 and a.bgr_affine.prob + a.camera_affine.prob == 0.3
    assert (a.noise.prob, a.fgr_color.prob, a.bgr_color.prob) == (0.1, 0.3, 0.3)
    assert (a.grayscale_prob, a.sharpen.prob, a.blur.prob, a.hflip_prob) == (0.02, 0.1, 0.02, 0.5)
    assert t.pause_prob == 0.03 and t.speeds == (0.5, 1, 2, 3, 4, 5) and t.reverse_prob == 0.5
    assert a.fgr_static.scale == (0.5, 1.0) and a.bgr_static.scale == (1.0, 1.5)
    assert a.fgr_static.degrees == (-10, 10) and a.fgr_static.translate == (0.1, 0.1) and a.fgr_static.shear == (-5, 5)
    assert a.fgr_affine.range.scale == (0.9, 1.1) and a.aspect_ratio == (0.9, 1.1)
    assert (a.noise.grain, a.noise.strength, a.noise.mono_prob) == ((1, 4), 0.2, 0.5)
    assert a.blur.sigma == (0, 10) and a.sharpen.factor == (0, 8) and a.easing.linear_prob == 0.2
    assert (a.fgr_color.std, a.fgr_color.hue_scale, a.fgr_color.min_factor) == (0.1, 0.1, 0.1)
    assert len(a.easing.curves) == 31 and "linear" not in a.easing.curves
    im = imagematte_augment()
    assert (im.fgr_affine.prob, im.noise.prob, im.grayscale_prob, im.sharpen.prob) == (0.95, 0.05, 0.03, 0.05)


def test_frequencies_match_configured_probabilities(plans):
    a, t = AugmentConfig(), TemporalConfig()
    counts = {
        "fgr_affine": a.fgr_affine.prob, "bgr_affine": a.bgr_affine.prob, "camera_affine": a.camera_affine.prob,
        "fgr_color": a.fgr_color.prob, "bgr_color": a.bgr_color.prob, "noise": a.noise.prob,
        "fgr_blur": a.blur.prob / 3, "bgr_blur": a.blur.prob / 3, "both_blur": a.blur.prob / 3,
    }
    for name, p in counts.items():
        k = sum(name in s.motion for s in plans)
        assert binomial_ok(k, N, p), (name, k, p)
    checks = {
        "grayscale": (sum(s.grayscale for s in plans), a.grayscale_prob),
        "sharpen": (sum(s.sharpen is not None for s in plans), a.sharpen.prob),
        "hflip fgr": (sum(s.fgr.hflip for s in plans), a.hflip_prob),
        "hflip bgr": (sum(s.bgr.hflip for s in plans), a.hflip_prob),
        "pause": (sum(s.pause is not None for s in plans), t.pause_prob),
        "fgr reversed": (sum(s.fgr.temporal["reversed"] for s in plans), t.reverse_prob),
        "bgr video": (sum(s.bgr.source["collection"] == "background_videos" for s in plans), 0.5),
    }
    for speed in t.speeds:
        checks[f"speed {speed}"] = (sum(s.fgr.temporal["speed"] == speed for s in plans), 1 / len(t.speeds))
    for name, (k, p) in checks.items():
        assert binomial_ok(k, N, p), (name, k, p)
    fired = [m for s in plans for m in s.motion.values()]
    k = sum(m["easing"] == "linear" for m in fired)
    assert binomial_ok(k, len(fired), 0.2 + 0.8 / 31)
    noisy = [s.motion["noise"] for s in plans if "noise" in s.motion]
    assert binomial_ok(sum(n["monochrome"] for n in noisy), len(noisy), 0.5)


def test_custom_probabilities_are_honoured(catalog):
    cfg = ComposeConfig(size=(8, 8), frames=3, bgr_video_prob=0.8,
                        augment=AugmentConfig(fgr_affine=MotionAffineConfig(prob=0.7), grayscale_prob=0.4),
                        temporal=TemporalConfig(skip_prob=0.25))
    plans = [plan_sample(cfg, catalog, seed=1, split="train", index=i, augment=True) for i in range(800)]
    assert binomial_ok(sum("fgr_affine" in s.motion for s in plans), 800, 0.7)
    assert binomial_ok(sum(s.grayscale for s in plans), 800, 0.4)
    assert binomial_ok(sum(bool(s.fgr.temporal["skips"]) for s in plans), 800, 0.25)
    assert binomial_ok(sum(s.bgr.source["collection"] == "background_videos" for s in plans), 800, 0.8)


def test_plan_is_deterministic_and_index_dependent(catalog):
    cfg = ComposeConfig(size=(16, 16), frames=5)
    a = plan_sample(cfg, catalog, seed=3, split="train", index=11, augment=True).to_dict()
    b = plan_sample(cfg, catalog, seed=3, split="train", index=11, augment=True).to_dict()
    assert a == b
    others = [plan_sample(cfg, catalog, seed=s, split=sp, index=i, augment=True).to_dict()
              for s, sp, i in ((4, "train", 11), (3, "valid", 11), (3, "train", 12))]
    assert all(o != a for o in others)


@pytest.mark.parametrize("valid_framing", [True, False])
def test_valid_split_has_no_augmentation_and_is_stable(catalog, valid_framing):
    """No motion, flip, colour or time change; the static affine and aspect crop (RVM's validation
    keeps them) unless ``valid_framing`` is off."""
    cfg = ComposeConfig(size=(16, 16), frames=5, augment=AugmentConfig(valid_framing=valid_framing))
    for i in range(30):
        s = plan_sample(cfg, catalog, seed=0, split="valid", index=i, augment=False)
        assert s.motion == {} and s.pause is None and not s.grayscale and s.sharpen is None
        for stream in (s.fgr, s.bgr):
            assert not stream.hflip
            if valid_framing:
                src = stream.source
                assert stream.static is not None and stream.aspect == min(max(src["width"] / src["height"], 0.9), 1.1)
            else:
                assert stream.static is None and stream.aspect == 1.0
            assert len({json.dumps(m) for m in stream.matrices}) == 1  # no motion
            if stream.temporal is not None:
                assert stream.temporal["speed"] == 1.0 and not stream.temporal["reversed"]
                assert np.all(np.diff(stream.source_frames) == 1)
        assert s.to_dict() == plan_sample(cfg, catalog, seed=0, split="valid", index=i, augment=False).to_dict()


def test_spec_json_round_trip(plans):
    for s in plans[:50]:
        text = json.dumps(s.to_dict())
        back = SampleSpec.from_dict(json.loads(text))
        assert back == s and json.dumps(back.to_dict()) == text


def test_from_dict_rejects_bad_specs(plans):
    d = plans[0].to_dict()
    with pytest.raises(ValueError, match="unknown key 'colour'"):
        SampleSpec.from_dict({**d, "colour": 1})
    with pytest.raises(ValueError, match="fgr: missing key 'matrices'"):
        SampleSpec.from_dict({**d, "fgr": {k: v for k, v in d["fgr"].items() if k != "matrices"}})
    with pytest.raises(ValueError, match="version"):
        SampleSpec.from_dict({**d, "version": 99})


def test_eased_values_follow_their_curve(plans):
    """Every per-frame value is lerp(A, B, easing(progress)): A at the start, B at the end, cut to
    the parameter's domain (that cut is tested in test_compose_domains.py)."""
    aug = AugmentConfig()
    for s in plans[:300]:
        for name, m in s.motion.items():
            w = ease(m["easing"], np.array(s.progress))
            raw = {key: m["a"][key] + (m["b"][key] - m["a"][key]) * w for key in m["a"]}
            expected = getattr(aug, "blur" if name.endswith("_blur") else name).clamp(raw)
            for key, values in m["values"].items():
                np.testing.assert_allclose(values, expected[key], atol=1e-12, err_msg=f"{name}.{key}")


def test_color_drift_really_moves_from_a_to_b(catalog):
    cfg = ComposeConfig(size=(8, 8), frames=6, augment=AugmentConfig(fgr_color=ColorJitterConfig(prob=1.0)))
    s = plan_sample(cfg, catalog, seed=0, split="train", index=0, augment=True)
    m = s.motion["fgr_color"]
    assert m["values"]["contrast"][0] == pytest.approx(max(m["a"]["contrast"], 0.1))
    assert m["values"]["contrast"][-1] == pytest.approx(max(m["b"]["contrast"], 0.1))
    assert m["values"]["saturation"] != m["values"]["brightness"]  # RVM's bug: saturation used brightness


def test_single_frame(catalog):
    cfg = ComposeConfig(size=(8, 8), frames=1, temporal=TemporalConfig(pause_prob=1.0))
    for i in range(20):
        s = plan_sample(cfg, catalog, seed=0, split="train", index=i, augment=True)
        assert s.clock == [0] and s.progress == [0.0] and s.pause is None and len(s.fgr.matrices) == 1


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match=r"augment.fgr_affine.prob: must be in \[0, 1\]"):
        ComposeConfig(augment=AugmentConfig(fgr_affine=MotionAffineConfig(prob=1.5)))
    with pytest.raises(ValueError, match="augment.easing.curves: unknown easing 'wobble'"):
        ComposeConfig(augment=AugmentConfig(easing=EasingConfig(curves=("wobble",))))
    with pytest.raises(ValueError, match="temporal.boundary"):
        ComposeConfig(temporal=TemporalConfig(boundary="wrap"))
    with pytest.raises(ValueError, match="size"):
        ComposeConfig(size=(0, 4))


def test_empty_catalog_is_a_clear_error(catalog):
    from rvm_data.sources import Catalog
    with pytest.raises(ValueError, match="no foreground clips"):
        plan_sample(ComposeConfig(), Catalog(), seed=0, split="train", index=0, augment=True)
    with pytest.raises(ValueError, match="no background"):
        plan_sample(ComposeConfig(), Catalog(foregrounds=catalog.foregrounds), seed=0, split="train", index=0,
                    augment=True)
