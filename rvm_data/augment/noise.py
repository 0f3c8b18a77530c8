"""Eased Gaussian grain (pixel op on both colour layers, never alpha); a pause repeats its noise."""

from __future__ import annotations

from typing import Any

import numpy as np

from rvm_data.augment import ops
from rvm_data.augment.base import Layers, MotionRecord, PlanContext, Plot, draw_eased
from rvm_data.augment.params import AugmentConfig, NoiseConfig


class Noise(MotionRecord):
    name = decision = "noise"
    kind = "pixel"
    space = None
    targets = frozenset({"fgr", "bgr"})
    neutral = {"strength": 0.0, "grain": 1.0}
    plots = (Plot("noise & blur", "noise strength (σ, full scale)", ("strength",)),
             Plot("noise & blur", "noise grain (px)", ("grain",)))
    required = MotionRecord.required | {"monochrome", "seed"}
    value_keys = frozenset({"grain", "strength"})
    optional_values = frozenset({"bgr_strength"})  # with noise.per_layer

    def settings(self, augment: AugmentConfig) -> NoiseConfig:
        return augment.noise

    def draw(self, rng: np.random.Generator, ctx: PlanContext) -> dict[str, Any] | None:
        config = self.settings(ctx.config.augment)

        def per_layer(rng: np.random.Generator, a: dict[str, float],
                      b: dict[str, float]) -> tuple[dict[str, float], dict[str, float], dict[str, Any]]:
            return (*config.draw_bgr(rng, a, b), {}) if config.per_layer else (a, b, {})

        entry = draw_eased(rng, ctx, config.prob, config, per_layer)
        if entry is not None:
            entry["monochrome"] = bool(rng.random() < config.mono_prob)
            entry["seed"] = int(rng.integers(2**53))  # exact in any JSON reader
        return entry

    def apply(self, spec: Any, layers: Layers) -> None:
        entry = self.read(spec)
        if entry is None:
            return
        values = entry["values"]
        strengths = [values["strength"], values.get("bgr_strength", values["strength"])]
        ops.add_noise([layers["fgr"], layers["bgr"]], spec.clock, values["grain"], strengths,
                      entry["monochrome"], entry["seed"])


NOISE = Noise()
