"""Eased colour jitter (pixel op on one colour layer, never alpha): brightness, contrast, saturation and
hue, folded with the grayscale switch into one 3 x 4 matrix per frame (one rounding per pixel)."""

from __future__ import annotations

from typing import Any

import numpy as np

from rvm_data.augment import ops
from rvm_data.augment.base import Layers, MotionRecord, PlanContext, Plot, draw_eased
from rvm_data.augment.params import AugmentConfig, ColorJitterConfig

COLOUR_FACTORS = ("brightness", "contrast", "saturation")


class ColourJitter(MotionRecord):
    kind = "pixel"
    space = None
    neutral = {"brightness": 1.0, "contrast": 1.0, "saturation": 1.0, "hue": 0.0}
    optional = frozenset({"drift"})  # informational: the fraction of the way to the drawn B
    value_keys = frozenset(neutral)

    def __init__(self, layer: str) -> None:
        self.name = self.decision = f"{layer}_color"
        self.layer = layer
        self.targets = frozenset({layer})
        self.plots = (Plot("colour", f"{layer} colour factors", COLOUR_FACTORS),
                      Plot("colour", "hue shift (turns)", ("hue",), (f"{layer} hue",)))

    def settings(self, augment: AugmentConfig) -> ColorJitterConfig:
        config: ColorJitterConfig = getattr(augment, self.name)
        return config

    def draw(self, rng: np.random.Generator, ctx: PlanContext) -> dict[str, Any] | None:
        config = self.settings(ctx.config.augment)

        def drift(rng: np.random.Generator, a: dict[str, float],
                  b: dict[str, float]) -> tuple[dict[str, float], dict[str, float], dict[str, Any]]:
            d, b = config.draw_drift(rng, a, b)
            return a, b, {"drift": d}

        return draw_eased(rng, ctx, config.prob, config, drift)

    def apply(self, spec: Any, layers: Layers) -> None:
        """Colour (and grayscale, folded in) of this layer; the foreground's contrast pivots about
        the mean grey inside its alpha."""
        entry = self.read(spec)
        if entry is None and not spec.grayscale:
            return
        stack = layers[self.layer]
        color = None if entry is None else entry["values"]
        means = None
        if color is not None:
            means = ops.frame_means(stack, layers.read("pha") if self.layer == "fgr" else None)
        ops.apply_color(stack, ops.color_matrices(stack.shape[0], color, spec.grayscale, means))


FGR_COLOR = ColourJitter("fgr")
BGR_COLOR = ColourJitter("bgr")
