"""Easing curves: how a motion augmentation travels from its parameter set A to B.

Every curve maps progress ``t`` in [0, 1] (a numpy array) to a fraction of the way from A to B,
with ``f(0) = 0`` and ``f(1) = 1``. ``back`` and ``elastic`` overshoot (values outside [0, 1]) and
keep their overshoot: the parameters then swing past B and settle, like a camera that overshoots
(each augmentation cuts the swing only where a parameter would leave its physical domain, such as
a negative blur sigma: see ``rvm_data.augment.params``).
``step`` jumps from A to B halfway, for sudden changes (a cut in lighting, a jolt).

The curves are those of the ``easing-functions`` package (1.0.4) that RVM's training draws from:
``back_in(t) = t^3 - t sin(pi t)`` (about 38 % overshoot back past A) and ``bounce_out`` as four
arcs with breaks at 4/11, 8/11 and 9/10. Robert Penner's classic back (constant 1.70158, about 10 %
overshoot) and bounce (breaks at 1/2.75, 2/2.75, 2.5/2.75) are kept as the extra families
``penner_back`` and ``penner_bounce``: usable in ``easing.curves``, not drawn by default. ``expo``
and ``elastic`` are normalised so that f(0) is exactly 0 (the package's ``2^(10 (t - 1))`` starts
at 2^-10, a jump at t = 0); that is the only difference, below 1e-3 at every t.

Each family is written once as its "in" form; "out" and "in_out" are derived from it, so the
three variants always agree. Names: ``linear``, ``step`` and ``<family>_<in|out|in_out>`` for the
families quad, cubic, quartic, quintic, sine, circ, expo, elastic, back, bounce (32 curves, the
set RVM draws from), plus the two Penner families above.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from rvm_data.augment.libm import elementwise

Curve = Callable[[np.ndarray], np.ndarray]

_PENNER_BACK = 1.70158  # Penner's overshoot constant: about 10 % past the target


def _bounce_out(t: np.ndarray) -> np.ndarray:
    """easing-functions' bounce: four parabolic arcs (breaks at 4/11, 8/11, 9/10), landing on 1."""
    return np.select(
        [t < 4 / 11, t < 8 / 11, t < 9 / 10],
        [121 / 16 * t * t, 363 / 40 * t * t - 99 / 10 * t + 17 / 5,
         4356 / 361 * t * t - 35442 / 1805 * t + 16061 / 1805],
        54 / 5 * t * t - 513 / 25 * t + 268 / 25,
    )


def _penner_bounce_out(t: np.ndarray) -> np.ndarray:
    """Penner's bounce: four parabolic arcs of decreasing height, landing exactly on 1."""
    n, d = 7.5625, 2.75
    return np.select(
        [t < 1 / d, t < 2 / d, t < 2.5 / d],
        [n * t * t, n * (t - 1.5 / d) ** 2 + 0.75, n * (t - 2.25 / d) ** 2 + 0.9375],
        n * (t - 2.625 / d) ** 2 + 0.984375,
    )


_IN: dict[str, Curve] = {
    "quad": lambda t: t**2,
    "cubic": lambda t: t * t * t,
    "quartic": lambda t: t * t * t * t,
    "quintic": lambda t: t * t * t * t * t,
    "sine": lambda t: 1.0 - elementwise(math.cos, t * (np.pi / 2)),
    "circ": lambda t: 1.0 - np.sqrt(np.clip(1.0 - t * t, 0.0, None)),
    # normalised so that both end points are exact (no jump at t = 0)
    "expo": lambda t: (elementwise(math.exp2, 10.0 * t) - 1.0) / 1023.0,
    # a decaying sine that ends on a crest: f(1) = sin(13 pi / 2) = 1
    "elastic": lambda t: elementwise(math.sin, 6.5 * np.pi * t) * (elementwise(math.exp2, 10.0 * t) - 1.0) / 1023.0,
    "back": lambda t: t * t * t - t * elementwise(math.sin, np.pi * t),
    "bounce": lambda t: 1.0 - _bounce_out(1.0 - t),
    "penner_back": lambda t: (_PENNER_BACK + 1.0) * (t * t * t) - _PENNER_BACK * (t * t),
    "penner_bounce": lambda t: 1.0 - _penner_bounce_out(1.0 - t),
}

RVM_FAMILIES = ("quad", "cubic", "quartic", "quintic", "sine", "circ", "expo", "elastic", "back", "bounce")
"""The families RVM's ``random_easing_fn`` draws (each in its in, out and in_out form)."""


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

RVM_CURVES: tuple[str, ...] = tuple(sorted(
    [f"{family}_{mode}" for family in RVM_FAMILIES for mode in ("in", "out", "in_out")] + ["step"]))
"""The 31 non-linear curves RVM draws uniformly when it does not pick linear (30 + its step)."""

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
