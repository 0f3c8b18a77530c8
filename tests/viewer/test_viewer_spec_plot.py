"""The trajectory plot shows the spec's values: read back from the figure's lines, not eyeballed."""

import numpy as np
import pytest

from rvm_data.augment.params import AugmentConfig, BlurConfig, ColorJitterConfig, MotionAffineConfig, NoiseConfig
from rvm_data.augment.temporal import TemporalConfig
from rvm_data.compose import ComposeConfig, plan_sample
from rvm_data.sources import Catalog, ClipInfo
from rvm_data.viewer.affine import AffineParams, compose
from rvm_data.viewer.plots import plotted_series
from rvm_data.viewer.spec_view import frame_captions, parse_spec, spec_figure, time_events

# planning reads only names, frame counts and sizes: no files needed
CATALOG = Catalog(foregrounds=[ClipInfo("fg_a", 60, 90, 160, None), ClipInfo("fg_b", 40, 160, 90, None)],
                  background_videos=[ClipInfo("bg_v", 80, 120, 160, None)],
                  background_images=[ClipInfo("bg_i", 1, 100, 100, None)])
EVERYTHING = AugmentConfig(fgr_affine=MotionAffineConfig(prob=1.0), bgr_affine=MotionAffineConfig(prob=1.0),
                           camera_affine=MotionAffineConfig(prob=1.0), fgr_color=ColorJitterConfig(prob=1.0),
                           bgr_color=ColorJitterConfig(prob=1.0), noise=NoiseConfig(prob=1.0),
                           blur=BlurConfig(prob=1.0), hflip_prob=0.5)


def _spec(index, augment=EVERYTHING, frames=10):
    cfg = ComposeConfig(size=(48, 64), frames=frames, augment=augment,
                        temporal=TemporalConfig(pause_prob=1.0, skip_prob=1.0))
    return plan_sample(cfg, CATALOG, seed=5, split="train", index=index, augment=True).to_dict()


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_plotted_values_equal_the_spec(index):
    spec = _spec(index)
    fig = spec_figure(spec, "t")
    lines = plotted_series(fig)
    motion = spec["motion"]
    for stream in ("fgr", "bgr"):
        np.testing.assert_array_equal(lines[f"time/source frame/{stream}"], spec[stream]["source_frames"])
        for key in ("brightness", "contrast", "saturation"):
            np.testing.assert_array_equal(lines[f"colour/{stream} colour factors/{key}"],
                                          motion[f"{stream}_color"]["values"][key])
        np.testing.assert_array_equal(lines[f"colour/hue shift (turns)/{stream} hue"],
                                      motion[f"{stream}_color"]["values"]["hue"])
        # the plotted geometry rebuilds the stream's matrices exactly (flip is the stream's hflip)
        g = f"{stream} affine"
        params = AffineParams(
            tx=lines[f"{g}/centre shift (px)/tx"], ty=lines[f"{g}/centre shift (px)/ty"],
            scale_x=lines[f"{g}/scale (out px / source px)/scale_x"],
            scale_y=lines[f"{g}/scale (out px / source px)/scale_y"],
            rotation=lines[f"{g}/rotation (deg)/rotation"], shear=lines[f"{g}/shear (deg)/shear"],
            flip=np.full(spec["frames"], float(spec[stream]["hflip"])))
        src = spec[stream]["source"]
        rebuilt = compose(params, centre=((src["width"] - 1) / 2, (src["height"] - 1) / 2), out_centre=(31.5, 23.5))
        np.testing.assert_allclose(rebuilt, spec[stream]["matrices"], atol=1e-9)
    for key in ("strength", "grain"):
        panel = "noise strength (σ, full scale)" if key == "strength" else "noise grain (px)"
        np.testing.assert_array_equal(lines[f"noise & blur/{panel}/{key}"], motion["noise"]["values"][key])
    for blur in ("fgr_blur", "bgr_blur", "both_blur"):
        want = motion[blur]["values"]["sigma"] if blur in motion else np.zeros(spec["frames"])
        np.testing.assert_array_equal(lines[f"noise & blur/blur σ (px)/{blur}"], want)

    # easing names in the legends; events on the time axis where the spec puts them
    labels = {t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()}
    assert f"brightness ({motion['fgr_color']['easing']})" in labels
    assert f"tx (fgr {motion['fgr_affine']['easing']}, camera {motion['camera_affine']['easing']})" in labels
    gids = [a.get_gid() for ax in fig.axes[:1] for a in ax.get_children() if a.get_gid()]
    pause = spec["pause"]
    assert gids.count("event/pause") == pause["length"] - 1
    for stream in ("fgr", "bgr"):
        assert gids.count(f"event/skip/{stream}") == len((spec[stream]["temporal"] or {}).get("skips", []))


def test_skip_marks_land_where_the_source_jumps():
    checked = 0
    for index in range(8):
        spec = parse_spec(_spec(index, frames=12))
        events = {s.name: s for s in time_events(spec).streams}
        for stream in ("fgr", "bgr"):
            s = getattr(spec, stream)
            if s.temporal is None:  # a still background
                continue
            xs = events[stream].skips
            steps = np.abs(np.diff(s.source_frames))
            speed = s.temporal["speed"]
            for t in xs:  # the step into a skip frame is longer than the speed alone gives
                assert steps[int(t) - 1] > np.ceil(speed)
                checked += 1
    assert checked > 3


def test_augmentations_that_did_not_fire_are_neutral_and_marked_off():
    spec = _spec(0, augment=AugmentConfig(fgr_color=ColorJitterConfig(prob=0.0), noise=NoiseConfig(prob=0.0),
                                          blur=BlurConfig(prob=0.0)))
    lines = plotted_series(spec_figure(spec))
    np.testing.assert_array_equal(lines["colour/fgr colour factors/brightness"], np.ones(10))
    np.testing.assert_array_equal(lines["noise & blur/noise strength (σ, full scale)/strength"], np.zeros(10))


def test_captions_and_bad_spec():
    spec = _spec(1, frames=4)
    caps = frame_captions(parse_spec(spec))
    assert caps[0] == f"t0 fg{spec['fgr']['source_frames'][0]} bg{spec['bgr']['source_frames'][0]}"
    with pytest.raises(ValueError, match="version"):
        spec_figure({**spec, "version": 99})
