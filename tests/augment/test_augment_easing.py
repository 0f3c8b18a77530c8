import numpy as np
import pytest

from rvm_data.augment.easing import DISCONTINUOUS, EASINGS, ease

FAMILIES = ("quad", "cubic", "quartic", "quintic", "sine", "circ", "expo", "elastic", "back", "bounce",
            "penner_back", "penner_bounce")


def test_all_curves_present():
    """RVM's ten families plus the opt-in Penner back and bounce (test_augment_rvm_defaults.py
    checks that the default set is RVM's 31)."""
    expected = {"linear", "step"} | {f"{f}_{m}" for f in FAMILIES for m in ("in", "out", "in_out")}
    assert set(EASINGS) == expected


@pytest.mark.parametrize("name", sorted(EASINGS))
def test_end_points(name):
    f = EASINGS[name]
    assert f(np.array([0.0]))[0] == pytest.approx(0.0, abs=1e-12)
    assert f(np.array([1.0]))[0] == pytest.approx(1.0, abs=1e-12)
    assert ease(name, np.array([0.0, 1.0])).tolist() == [0.0, 1.0]


@pytest.mark.parametrize("name", sorted(set(EASINGS) - DISCONTINUOUS))
def test_continuous(name):
    def biggest_jump(n):
        return np.abs(np.diff(EASINGS[name](np.linspace(0.0, 1.0, n)))).max()

    coarse, fine = biggest_jump(5001), biggest_jump(80001)
    # jumps shrink as the grid refines (at least like sqrt(step), circ's vertical tangent); a step would not
    assert fine < 0.3 * coarse and fine < 0.01


def test_step_is_discontinuous():
    t = np.linspace(0.0, 1.0, 80001)
    assert np.abs(np.diff(EASINGS["step"](t))).max() == 1.0


def test_step_jumps_halfway():
    assert ease("step", np.array([0.0, 0.49, 0.5, 0.9])).tolist() == [0.0, 0.0, 1.0, 1.0]


@pytest.mark.parametrize("family", ["back", "elastic", "penner_back"])
def test_overshoot_kept(family):
    t = np.linspace(0, 1, 1001)
    assert EASINGS[f"{family}_in"](t).min() < -0.01
    assert EASINGS[f"{family}_out"](t).max() > 1.01


@pytest.mark.parametrize("family", FAMILIES)
def test_variants_agree(family):
    t = np.linspace(0, 1, 101)
    f_in, f_out, f_io = (EASINGS[f"{family}_{m}"] for m in ("in", "out", "in_out"))
    np.testing.assert_allclose(f_out(t), 1 - f_in(1 - t), atol=1e-12)
    np.testing.assert_allclose(f_io(t[:50]), f_in(2 * t[:50]) / 2, atol=1e-12)
    assert f_io(np.array([0.5]))[0] == pytest.approx(0.5)


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown easing 'wobble'"):
        ease("wobble", np.array([0.5]))
