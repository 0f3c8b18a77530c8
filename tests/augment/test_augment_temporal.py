import numpy as np
import pytest

from rvm_data.augment.temporal import TemporalConfig, plan_clock, plan_stream_frames


def rngs(n):
    return (np.random.default_rng(i) for i in range(n))


def test_clock_without_pause():
    clock, pause = plan_clock(np.random.default_rng(0), 6, 0.0)
    assert clock == list(range(6)) and pause is None


@pytest.mark.parametrize("frames", [2, 3, 8])
def test_pause_holds_at_least_two_frames_then_resumes(frames):
    for rng in rngs(200):
        clock, pause = plan_clock(rng, frames, 1.0)
        start, length = pause["start"], pause["length"]
        assert length >= 2 and start + length <= frames and len(clock) == frames
        assert clock[start:start + length] == [start] * length
        steps = np.diff(clock)
        assert set(steps.tolist()) <= {0, 1}  # time stops, never jumps
        assert (steps == 0).sum() == length - 1


def test_single_frame_never_pauses():
    assert plan_clock(np.random.default_rng(0), 1, 1.0) == ([0], None)


@pytest.mark.parametrize("speed", [0.5, 1.0, 2.0, 3.0])
def test_speed(speed):
    cfg = TemporalConfig(speeds=(speed,), reverse_prob=0.0)
    for rng in rngs(20):
        frames, rec = plan_stream_frames(rng, cfg, 8, 100, True)
        assert rec["speed"] == speed and rec["boundary"] is None
        assert (np.array(frames) - rec["start"]).tolist() == [int(np.floor(k * speed)) for k in range(8)]


def test_reverse_plays_backwards():
    cfg = TemporalConfig(speeds=(2.0,), reverse_prob=1.0)
    frames, rec = plan_stream_frames(np.random.default_rng(3), cfg, 5, 50, True)
    assert rec["reversed"] and frames == [rec["start"] + o for o in (8, 6, 4, 2, 0)]


def test_skips_jump_exactly_as_recorded():
    cfg = TemporalConfig(speeds=(1.0,), reverse_prob=0.0, skip_prob=1.0, skip_events=(1, 3), skip_frames=(2, 5))
    for rng in rngs(50):
        frames, rec = plan_stream_frames(rng, cfg, 10, 200, True)
        expected = np.arange(10)
        for tick, drop in rec["skips"]:
            assert 1 <= tick < 10 and 2 <= drop <= 5
            expected[tick:] += drop
        assert rec["skips"] and (np.array(frames) - rec["start"]).tolist() == expected.tolist()


@pytest.mark.parametrize("boundary", ["fit", "clamp", "bounce"])
def test_never_wraps_past_clip_end(boundary):
    cfg = TemporalConfig(boundary=boundary, skip_prob=0.5)
    for rng in rngs(300):
        clip = int(rng.integers(2, 30))
        frames, rec = plan_stream_frames(rng, cfg, 15, clip, True)
        assert min(frames) >= 0 and max(frames) < clip
        steps = np.abs(np.diff(frames))
        if rec["boundary"] is None:
            assert steps.max(initial=0) <= 5 + 4 * 2  # speed + skips, never a wrap-around cut
        if boundary == "bounce":  # playing back and forth moves at most `speed` frames per tick
            assert steps.max(initial=0) <= max(np.ceil(rec["speed"]), 1) + 4 * 2


def test_fit_slows_down_to_cover_clip():
    cfg = TemporalConfig(speeds=(5.0,), reverse_prob=0.0, boundary="fit")
    frames, rec = plan_stream_frames(np.random.default_rng(0), cfg, 15, 20, True)
    assert rec["boundary"] == "fit" and frames[0] == 0 and frames[-1] == 19
    assert np.all(np.diff(frames) >= 0)


def test_clamp_holds_last_frame():
    cfg = TemporalConfig(speeds=(1.0,), reverse_prob=0.0, boundary="clamp")
    frames, _ = plan_stream_frames(np.random.default_rng(0), cfg, 6, 4, True)
    assert frames == [0, 1, 2, 3, 3, 3]


def test_bounce_plays_back():
    cfg = TemporalConfig(speeds=(1.0,), reverse_prob=0.0, boundary="bounce")
    frames, _ = plan_stream_frames(np.random.default_rng(0), cfg, 8, 4, True)
    assert frames == [0, 1, 2, 3, 2, 1, 0, 1]


def test_still_image_and_no_augment():
    assert plan_stream_frames(np.random.default_rng(0), TemporalConfig(), 4, 1, True) == ([0] * 4, None)
    frames, rec = plan_stream_frames(np.random.default_rng(0), TemporalConfig(), 4, 10, False)
    assert rec["speed"] == 1.0 and not rec["reversed"] and np.all(np.diff(frames) == 1)


def test_validation_names_field():
    with pytest.raises(ValueError, match="temporal.boundary"):
        TemporalConfig(boundary="wrap").validate("temporal")
    with pytest.raises(ValueError, match=r"temporal.pause_prob: must be in \[0, 1\]"):
        TemporalConfig(pause_prob=2).validate("temporal")
