"""Eased affine motion (geometry): the foreground's own move, the background's, and the camera's.

``fgr_affine`` and ``bgr_affine`` act in source pixels (before the clip's framing), so a figure turns
about its own centre; ``camera_affine`` acts in output pixels on both layers at once, like a camera.
The spec records per-frame values (angle, translate_x/y as fractions of the image, scale, shear_x,
shear_y); :meth:`AffineMotion.matrices_at` evaluates the same trajectory at any time, sub-frame
times included (motion blur samples the foreground's move within a frame).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rvm_data.augment import geometry
from rvm_data.augment.base import MotionRecord, PlanContext, draw_eased, progress_at
from rvm_data.augment.libm import elementwise
from rvm_data.augment.params import AugmentConfig, MotionAffineConfig, clamp_affine, trajectory

AFFINE_KEYS = frozenset({"angle", "translate_x", "translate_y", "scale", "shear_x", "shear_y"})


def affine_matrix(params: dict[str, float] | None, height: int, width: int) -> np.ndarray:
    """The 3 x 3 matrix of one set of affine values on a ``height`` x ``width`` image (identity for None)."""
    if params is None:
        return np.eye(3)
    return geometry.affine(
        ((width - 1) / 2.0, (height - 1) / 2.0),
        angle=params["angle"],
        translate=(params["translate_x"] * width, params["translate_y"] * height),
        scale=params["scale"],
        shear=(params["shear_x"], params["shear_y"]),
    )


def affine_stack(values: dict[str, np.ndarray], height: int, width: int) -> np.ndarray:
    """N x 3 x 3 matrices of N sets of affine values at once (:func:`affine_matrix`'s formula,
    vectorised, for the many sub-frame times of motion blur)."""
    angle, shear_x, shear_y = (np.radians(np.asarray(values[k], np.float64)) for k in ("angle", "shear_x", "shear_y"))
    scale = np.asarray(values["scale"], np.float64)
    cos, sin = elementwise(math.cos, angle), elementwise(math.sin, angle)  # see rvm_data.augment.libm
    tx, ty = elementwise(math.tan, shear_x), elementwise(math.tan, shear_y)
    rot = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)
    ones, zeros = np.ones_like(tx), np.zeros_like(tx)
    shx = np.stack([np.stack([ones, tx], -1), np.stack([zeros, ones], -1)], -2)
    shy = np.stack([np.stack([ones, zeros], -1), np.stack([ty, ones], -1)], -2)
    lin = geometry.matmul(geometry.matmul(rot, shx), shy) * scale[:, None, None]
    centre = np.array([(width - 1) / 2.0, (height - 1) / 2.0])
    shift = np.stack([np.asarray(values["translate_x"]) * width, np.asarray(values["translate_y"]) * height], -1)
    out = np.tile(np.eye(3), (len(scale), 1, 1))
    out[:, :2, :2] = lin
    out[:, :2, 2] = centre + shift - geometry.matmul(lin, centre)
    return out


class AffineMotion(MotionRecord):
    """An affine that travels from A to B over the clip along an easing curve."""

    kind = "geometry"
    neutral: dict[str, float] = {}
    plots = ()  # the viewer decomposes the fused matrices instead (rvm_data.viewer.affine)
    value_keys = AFFINE_KEYS

    def __init__(self, name: str, targets: tuple[str, ...], space: str) -> None:
        self.name = self.decision = name
        self.targets = frozenset(targets)
        self.space = space

    def settings(self, augment: AugmentConfig) -> MotionAffineConfig:
        config: MotionAffineConfig = getattr(augment, self.name)
        return config

    def draw(self, rng: np.random.Generator, ctx: PlanContext) -> dict[str, Any] | None:
        config = self.settings(ctx.config.augment)
        return draw_eased(rng, ctx, config.prob, config)

    def matrices(self, entry: dict[str, Any] | None, stream: str, frames: int, height: int,
                 width: int) -> list[np.ndarray]:
        """Each frame's matrix from the recorded values; the identity when it did not fire."""
        if entry is None:
            return [np.eye(3) for _ in range(frames)]
        values = entry["values"]
        return [affine_matrix({k: float(v[t]) for k, v in values.items()}, height, width) for t in range(frames)]

    def matrices_at(self, entry: dict[str, Any] | None, stream: str, times: np.ndarray, clock: list[int],
                    height: int, width: int) -> np.ndarray:
        """The eased trajectory at any output times, sub-frame ones included: A -> B along the
        record's curve at the interpolated progress, cut to the physical domain as the per-frame values are."""
        return self.matrices_at_progress(entry, progress_at(clock, np.asarray(times, np.float64)), height, width)

    def matrices_at_progress(self, entry: dict[str, Any] | None, progress: np.ndarray, height: int,
                             width: int) -> np.ndarray:
        """The eased trajectory at any points of the clip's progress (0 -> 1, ``SampleSpec.progress``)."""
        progress = np.asarray(progress, np.float64)
        if entry is None:
            return np.tile(np.eye(3), (len(progress), 1, 1))
        values = trajectory(entry["a"], entry["b"], entry["easing"], progress)
        return affine_stack(clamp_affine(values), height, width)


FGR_AFFINE = AffineMotion("fgr_affine", ("fgr", "pha"), "source")
BGR_AFFINE = AffineMotion("bgr_affine", ("bgr",), "source")
CAMERA_AFFINE = AffineMotion("camera_affine", ("fgr", "pha", "bgr"), "output")
