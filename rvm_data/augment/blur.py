"""Eased Gaussian blur (pixel op): RVM's three equal chances of foreground with alpha, background,
or both (``blur.prob / 3`` each, independent)."""

from __future__ import annotations

from typing import Any

import numpy as np

from rvm_data.augment import ops
from rvm_data.augment.base import Layers, MotionRecord, PlanContext, Plot, draw_eased
from rvm_data.augment.params import AugmentConfig, BlurConfig


class Blur(MotionRecord):
    kind = "pixel"
    space = None
    neutral = {"sigma": 0.0}
    required = MotionRecord.required | {"kernel"}
    value_keys = frozenset({"sigma"})

    def __init__(self, name: str, targets: tuple[str, ...]) -> None:
        self.name = self.decision = name
        self.targets = frozenset(targets)
        self.plots = (Plot("noise & blur", "blur σ (px)", ("sigma",), (name,)),)

    def settings(self, augment: AugmentConfig) -> BlurConfig:
        return augment.blur

    def draw(self, rng: np.random.Generator, ctx: PlanContext) -> dict[str, Any] | None:
        config = self.settings(ctx.config.augment)
        entry = draw_eased(rng, ctx, config.prob / 3.0, config)
        if entry is not None:
            entry["kernel"] = config.kernel
        return entry

    def apply(self, spec: Any, layers: Layers) -> None:
        entry = self.read(spec)
        if entry is None:
            return
        for layer in sorted(self.targets, key=("fgr", "pha", "bgr").index):
            ops.blur(layers[layer], entry["values"]["sigma"], entry["kernel"])


FGR_BLUR = Blur("fgr_blur", ("fgr", "pha"))
BGR_BLUR = Blur("bgr_blur", ("bgr",))
BOTH_BLUR = Blur("both_blur", ("fgr", "pha", "bgr"))
