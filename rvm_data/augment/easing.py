"""Easing curves: how a motion augmentation travels from its parameter set A to B.

Every curve maps progress ``t`` in [0, 1] (a numpy array) to a fraction of the way from A to B,
with ``f(0) = 0`` and ``f(1) = 1``. ``back`` and ``elastic`` overshoot (values outside [0, 1]) and
keep their overshoot: the parameters then swing past B and settle, like a camera that overshoots
(each augmentation cuts the swing only where a parameter would leave its physical domain, such as
a negative blur sigma: see ``rvm_data.augment.params``).
``step`` jumps from A to B halfway, for sudden changes (a cut in lighting, a jolt).

Each family is written once as its "in" form; "out" and "in_out" are derived from it, so the
three variants always agree. Names: ``linear``, ``step`` and ``<family>_<in|out|in_out>`` for the
families quad, cubic, quartic, quintic, sine, circ, expo, elastic, back, bounce (32 curves, the
set RVM draws from).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

Curve = Callable[[np.ndarray], np.ndarray]

_BACK = 1.70158  # the classic overshoot constant: about 10 % past the target


def _bounce_out(t: np.ndarray) -> np.ndarray:
    """Four parabolic arcs of decreasing height, landing exactly on 1."""
    n, d = 7.5625, 2.75
    return np.select(
        [t < 1 / d, t < 2 / d, t < 2.5 / d],
        [n * t * t, n * (t - 1.5 / d) ** 2 + 0.75, n * (t - 2.25 / d) ** 2 + 0.9375],
        n * (t - 2.625 / d) ** 2 + 0.984375,
    )


_IN: dict[str, Curve] = {
    "quad": lambda t: t**2,
    "cubic": lambda t: t**3,
    "quartic": lambda t: t**4,
    "quintic": lambda t: t**5,
    "sine": lambda t: 1.0 - np.cos(t * (np.pi / 2)),
    "circ": lambda t: 1.0 - np.sqrt(np.clip(1.0 - t * t, 0.0, None)),
    # normalised so that both end points are exact (no jump at t = 0)
    "expo": lambda t: (np.exp2(10.0 * t) - 1.0) / 1023.0,
    # a decaying sine that ends on a crest: f(1) = sin(13 pi / 2) = 1
    "elastic": lambda t: np.sin(6.5 * np.pi * t) * (np.exp2(10.0 * t) - 1.0) / 1023.0,
    "back": lambda t: (_BACK + 1.0) * t**3 - _BACK * t**2,
    "bounce": lambda t: 1.0 - _bounce_out(1.0 - t),
}


def _out(f: Curve) -> Curve:
    return lambda t: 1.0 - f(1.0 - t)


def _in_out(f: Curve) -> Curve:
    return lambda t: np.where(t < 0.5, f(2.0 * t) / 2.0, 1.0 - f(2.0 - 2.0 * t) / 2.0)


def _linear(t: np.ndarray) -> np.ndarray:
    return t * 1.0


def _step(t: np.ndarray) -> np.ndarray:
    return np.where(t < 0.5, 0.0, 1.0)


def _build() -> dict[str, Curve]:
    curves: dict[str, Curve] = {"linear": _linear, "step": _step}
    for family, f in _IN.items():
        curves[f"{family}_in"] = f
        curves[f"{family}_out"] = _out(f)
        curves[f"{family}_in_out"] = _in_out(f)
    return curves


EASINGS: dict[str, Curve] = _build()
"""All easing curves by name; each takes and returns a float array of the same shape."""

DISCONTINUOUS = frozenset({"step"})
"""Curves with a jump; every other curve is continuous on [0, 1]."""


def ease(name: str, progress: np.ndarray) -> np.ndarray:
    """Evaluate the named curve at ``progress``; end points are snapped to exactly 0 and 1."""
    try:
        curve = EASINGS[name]
    except KeyError:
        raise ValueError(f"unknown easing {name!r}; known: {', '.join(sorted(EASINGS))}") from None
    t = np.asarray(progress, dtype=np.float64)
    return np.where(t <= 0.0, 0.0, np.where(t >= 1.0, 1.0, curve(t)))
