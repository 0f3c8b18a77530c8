"""What every augmentation of a matting sample is: the :class:`Augmentation` protocol and its parts.

An augmentation has a ``name`` (its record's key in ``SampleSpec.motion`` and the name of its random
stream), the layers it may change (``targets``: fgr, pha, bgr), and a kind:

- ``geometry``: contributes a 3 x 3 matrix per frame to its layers' warp, in a declared ``space``
  (``source`` pixels, before the clip's framing, or ``output`` pixels, after it); eased ones can be
  evaluated at any time, sub-frame included (``matrices_at``);
- ``pixel``: changes the rendered stacks in place, in the place the render order gives it
  (:data:`rvm_data.augment.registry.RENDER_ORDER`); it is handed writable arrays of its targets only
  (:class:`Layers`), so a colour op cannot write alpha even by mistake.

Plan calls ``draw(rng, ctx)`` (its own generator, :class:`PlanContext`), which returns the JSON record
or None (did not fire); render and the viewer read the record back with ``read(spec)``;
``SampleSpec.from_dict`` calls ``check(entry, frames, where)``. ``neutral`` gives each plotted value
when the augmentation did not fire, ``plots`` the viewer's panels.

The per-clip switches of spec version 1 (flip, grayscale, sharpen) are augmentations too, kept in
their own spec fields and sharing the ``switches`` stream. Not augmentations here: the choice of
sources, the temporal stage (clock, pause, per-stream speed; :mod:`rvm_data.augment.temporal`) and
the framing (static affine, aspect crop), which plan draws first because every augmentation reads
their outcome (``PlanContext``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rvm_data.augment.params import AugmentConfig, Eased, trajectory
from rvm_data.errors import RvmDataError, did_you_mean

TARGETS = ("fgr", "pha", "bgr")
KINDS = ("geometry", "pixel")
SPACES = ("source", "output")


class SpecError(RvmDataError, ValueError):
    """A sample spec that does not match the engine: ``key`` is the path of the bad entry
    (``motion.fgr_colour``), ``where`` names the sample."""

    def __init__(self, where: str, key: str, problem: str) -> None:
        self.where, self.key, self.problem = where, key, problem
        super().__init__(f"{where}: {key}: {problem}" if key else f"{where}: {problem}")


@dataclass(frozen=True)
class Plot:
    """One viewer panel an augmentation feeds: per-frame ``keys`` of its record's ``values``, shown
    as ``labels`` (default: the keys). Plots of several augmentations with the same group and title
    share one panel."""

    group: str
    title: str
    keys: tuple[str, ...]
    labels: tuple[str, ...] | None = None


@dataclass
class PlanContext:
    """What an augmentation's ``draw`` may use: the settings, the sample's clock, the sources, the
    records drawn before it (registry order) and ``matrices(stream)``, a stream's per-frame 3 x 3
    source -> output matrices from the framing and the geometry drawn so far."""

    config: Any  # ComposeConfig (compose imports this module)
    clock: list[int]
    progress: np.ndarray
    sources: Mapping[str, dict[str, Any]]
    drawn: dict[str, Any]
    matrices: Callable[[str], list[np.ndarray]]

    @property
    def frames(self) -> int:
        return len(self.clock)


class Layers:
    """The rendered stacks handed to a pixel op: its ``targets`` writable (``layers["fgr"]``), every
    layer readable through ``read`` (a read-only view), anything else refused."""

    def __init__(self, stacks: Mapping[str, np.ndarray], targets: frozenset[str]) -> None:
        self._stacks, self._targets = stacks, targets

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._targets:
            raise KeyError(f"{name!r} is not a target of this augmentation (targets: {sorted(self._targets)})")
        return self._stacks[name]

    def read(self, name: str) -> np.ndarray:
        view = self._stacks[name].view()
        view.flags.writeable = False
        return view


@runtime_checkable
class Augmentation(Protocol):
    # Read-only members (properties), so an augmentation may declare narrower types (a dict for a
    # Mapping, None for a space) as plain class or instance attributes.
    @property
    def name(self) -> str: ...

    @property
    def decision(self) -> str:
        """Its random stream; the name, but for the version-1 switches' shared one."""
        ...

    @property
    def field(self) -> str:
        """Where its record lives: "motion" (``SampleSpec.motion[name]``) or a version-1 field."""
        ...

    @property
    def targets(self) -> frozenset[str]: ...

    @property
    def kind(self) -> str: ...

    @property
    def space(self) -> str | None: ...

    @property
    def neutral(self) -> Mapping[str, float]: ...

    @property
    def plots(self) -> tuple[Plot, ...]: ...

    def settings(self, augment: Any) -> Any:
        """Its settings in an ``AugmentConfig``."""
        ...

    def draw(self, rng: np.random.Generator, ctx: PlanContext) -> Any:
        """The JSON record of one sample, or None when it does not fire."""
        ...

    def off(self) -> Any:
        """Its record when augmentation is off (validation samples)."""
        ...

    def can_fire(self, augment: Any) -> bool:
        """False when its settings make it never fire (probability 0): plan then skips its draw
        (its own stream: nothing else moves), which keeps an unused augmentation free."""
        ...

    def read(self, spec: Any) -> Any:
        """Its record in a ``SampleSpec``."""
        ...

    def check(self, entry: Any, frames: int, where: str) -> None:
        """Raise :class:`SpecError` for a record render could not use."""
        ...

    def label(self, entry: Any) -> str:
        """What the viewer writes beside its curves (the easing, a shutter ...)."""
        ...


@runtime_checkable
class PixelOp(Augmentation, Protocol):
    def apply(self, spec: Any, layers: Layers) -> None:
        """Change ``layers`` in place as the spec's record says (nothing when it did not fire)."""
        ...


@runtime_checkable
class GeometryOp(Augmentation, Protocol):
    def matrices(self, entry: Any, stream: str, frames: int, height: int, width: int) -> list[np.ndarray | None]:
        """Its 3 x 3 matrix at each output frame for ``stream`` on an image of ``height`` x ``width``
        (of its space), None where it has no effect: from the record's per-frame values, exactly."""
        ...

    def matrices_at(self, entry: Any, stream: str, times: np.ndarray, clock: list[int], height: int,
                    width: int) -> np.ndarray:
        """N x 3 x 3: its matrices at any output times (fractional frames: sub-frame samples), the
        clock interpolated between frames (:func:`progress_at`)."""
        ...


def progress_at(clock: list[int], times: np.ndarray) -> np.ndarray:
    """Progress (0 -> 1 over the clip, as ``SampleSpec.progress``) at output times that may fall between
    frames: the clock interpolated (a pause holds it) and held at the clip's ends."""
    frames = np.arange(len(clock), dtype=np.float64)
    return np.interp(np.asarray(times, np.float64), frames, clock) / max(clock[-1], 1)


class MotionRecord:
    """Base of the augmentations recorded in ``SampleSpec.motion[name]``: a dict with ``values``
    (per-frame lists, one per parameter) and the record's other ``required`` and ``optional`` keys."""

    name: str
    decision: str
    field = "motion"
    required: frozenset[str] = frozenset({"easing", "a", "b", "values"})
    optional: frozenset[str] = frozenset()
    value_keys: frozenset[str] = frozenset()
    optional_values: frozenset[str] = frozenset()

    def off(self) -> None:
        return None

    def settings(self, augment: AugmentConfig) -> Any:
        """Its settings in ``augment`` (each subclass names its own, with its type)."""
        raise NotImplementedError

    def can_fire(self, augment: AugmentConfig) -> bool:
        prob: float = self.settings(augment).prob
        return prob > 0

    def read(self, spec: Any) -> dict[str, Any] | None:
        record: dict[str, Any] | None = spec.motion.get(self.name)
        return record

    def label(self, entry: dict[str, Any]) -> str:
        easing: str = entry["easing"]
        return easing

    def check(self, entry: Any, frames: int, where: str) -> None:
        key = f"motion.{self.name}"
        if not isinstance(entry, dict):
            raise SpecError(where, key, f"expected a mapping, got {type(entry).__name__}")
        _check_keys(entry, self.required, self.optional, where, key)
        values = entry["values"]
        if not isinstance(values, dict):
            raise SpecError(where, f"{key}.values", f"expected a mapping, got {type(values).__name__}")
        _check_keys(values, self.value_keys, self.optional_values, where, f"{key}.values")
        for name, series in values.items():
            if not isinstance(series, list) or len(series) != frames:
                raise SpecError(where, f"{key}.values.{name}", f"expected a list of {frames} numbers (one per frame)")


def _check_keys(d: Mapping[str, object], required: frozenset[str], optional: frozenset[str], where: str,
                key: str) -> None:
    known = required | optional
    for name in sorted(set(d) - known):
        raise SpecError(where, f"{key}.{name}", f"unknown key{did_you_mean(str(name), sorted(known))}")
    if missing := sorted(required - set(d)):
        raise SpecError(where, f"{key}.{missing[0]}", "missing")


Extra = Callable[[np.random.Generator, dict[str, float], dict[str, float]],
                 tuple[dict[str, float], dict[str, float], dict[str, Any]]]


def draw_eased(rng: np.random.Generator, ctx: PlanContext, prob: float, params: Eased,
               extra: Extra | None = None) -> dict[str, Any] | None:
    """Whether an eased augmentation fires and, if so, its curve, A, B and per-frame values (the
    curve's overshoot kept, cut only to each parameter's physical domain).

    ``extra(rng, a, b) -> (a, b, fields)`` draws an augmentation's further choices after these, from
    the same generator, so they never move them (colour's drift changes ``b`` to the point reached)."""
    if rng.random() >= prob:
        return None
    easing = ctx.config.augment.easing.draw(rng)
    a, b = params.draw(rng)
    fields: dict[str, Any] = {}
    if extra is not None:
        a, b, fields = extra(rng, a, b)
    return {"easing": easing, "a": a, "b": b, "values": params.clamp(trajectory(a, b, easing, ctx.progress)),
            **fields}
