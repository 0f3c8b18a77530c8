"""The per-clip switches: horizontal flip (geometry, per stream), grayscale and sharpening (pixel ops).

They keep the places version 1 of the spec gave them (``StreamSpec.hflip``, ``SampleSpec.grayscale``,
``SampleSpec.sharpen``, named by ``field``) and share one random stream, ``switches``, drawn in
registry order (flip fgr, flip bgr, grayscale, sharpen), as they always were. A new augmentation
has a stream of its own and a record in ``SampleSpec.motion`` instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rvm_data.augment import geometry, ops
from rvm_data.augment.base import Layers, PlanContext, SpecError

SWITCHES = "switches"


class _Switch:
    name: str
    field: str
    decision = SWITCHES
    neutral: dict[str, float] = {}
    plots = ()
    space: str | None = None

    def settings(self, augment: Any) -> Any:
        return augment

    def can_fire(self, augment: Any) -> bool:
        return True  # a shared stream: every switch draws, so the next one's draws stay in place

    def label(self, entry: Any) -> str:
        return self.name

    def read(self, spec: Any) -> Any:
        return getattr(spec, self.field)


class HFlip(_Switch):
    """Mirror a stream left to right (output space, inside the camera move); fgr and bgr apart."""

    name = field = "hflip"
    kind = "geometry"
    space = "output"
    targets = frozenset({"fgr", "pha", "bgr"})

    def draw(self, rng: np.random.Generator, ctx: PlanContext) -> dict[str, bool]:
        prob = ctx.config.augment.hflip_prob
        return {stream: bool(rng.random() < prob) for stream in ("fgr", "bgr")}

    def off(self) -> dict[str, bool]:
        return {"fgr": False, "bgr": False}

    def read(self, spec: Any) -> dict[str, bool]:
        return {"fgr": spec.fgr.hflip, "bgr": spec.bgr.hflip}

    def check(self, entry: Any, frames: int, where: str) -> None:
        for stream, flipped in entry.items():
            if not isinstance(flipped, bool):
                raise SpecError(where, f"{stream}.hflip", f"expected true or false, got {flipped!r}")

    def matrices(self, entry: dict[str, bool] | None, stream: str, frames: int, height: int,
                 width: int) -> list[np.ndarray | None]:
        return [geometry.hflip(width) if entry and entry[stream] else None] * frames

    def matrices_at(self, entry: dict[str, bool] | None, stream: str, times: np.ndarray, clock: list[int],
                    height: int, width: int) -> np.ndarray:
        """The same at every time: a flip is per clip."""
        one = geometry.hflip(width) if entry and entry[stream] else np.eye(3)
        return np.tile(one, (len(times), 1, 1))


class Grayscale(_Switch):
    """Colour to grey (torchvision's weights), folded into the colour ops' per-frame matrices."""

    name = field = "grayscale"
    kind = "pixel"
    targets = frozenset({"fgr", "bgr"})
    fused_into = ("fgr_color", "bgr_color")

    def draw(self, rng: np.random.Generator, ctx: PlanContext) -> bool:
        return bool(rng.random() < ctx.config.augment.grayscale_prob)

    def off(self) -> bool:
        return False

    def check(self, entry: Any, frames: int, where: str) -> None:
        if not isinstance(entry, bool):
            raise SpecError(where, "grayscale", f"expected true or false, got {entry!r}")


class Sharpen(_Switch):
    """torchvision's ``adjust_sharpness`` with one factor per clip, on fgr, alpha and bgr."""

    name = field = "sharpen"
    kind = "pixel"
    targets = frozenset({"fgr", "pha", "bgr"})

    def draw(self, rng: np.random.Generator, ctx: PlanContext) -> float | None:
        config = ctx.config.augment.sharpen
        return float(rng.uniform(*config.factor)) if rng.random() < config.prob else None

    def off(self) -> None:
        return None

    def check(self, entry: Any, frames: int, where: str) -> None:
        if entry is not None and (isinstance(entry, bool) or not isinstance(entry, (int, float))):
            raise SpecError(where, "sharpen", f"expected a number or null, got {entry!r}")

    def apply(self, spec: Any, layers: Layers) -> None:
        if spec.sharpen is None:
            return
        for layer in ("fgr", "pha", "bgr"):
            ops.sharpen(layers[layer], spec.sharpen)


HFLIP, GRAYSCALE, SHARPEN = HFlip(), Grayscale(), Sharpen()
