"""The ordered registry of a matting sample's augmentations, and the order render applies them in.

``plan_sample`` draws every augmentation in :data:`REGISTRY` order (each from the generator of its
``decision``, so adding one never moves another's draws); the streams' matrices fuse the geometry
(output-space matrices left of the framing, source-space ones right of it, each in registry order);
``render_sample`` warps, then runs the pixel ops in :data:`RENDER_ORDER`; the viewer plots each
augmentation's ``plots``; ``SampleSpec.from_dict`` checks every record against its augmentation.

A new augmentation is one module (its :class:`~rvm_data.augment.base.Augmentation` object), its
tests, its line here (and in :data:`RENDER_ORDER` for a pixel op), and its settings class with its
field in ``AugmentConfig`` (``rvm_data.augment.params``; off by default and, while at its defaults, left out of
the recipe hash, so existing recipes keep their hash and their shards).
"""

from __future__ import annotations

import functools
from typing import Any, cast

from rvm_data.augment.affine_motion import BGR_AFFINE, CAMERA_AFFINE, FGR_AFFINE
from rvm_data.augment.base import Augmentation, GeometryOp, SpecError
from rvm_data.augment.blur import BGR_BLUR, BOTH_BLUR, FGR_BLUR
from rvm_data.augment.colour import BGR_COLOR, FGR_COLOR
from rvm_data.augment.motion_blur import MOTION_BLUR
from rvm_data.augment.noise import NOISE
from rvm_data.augment.switches import GRAYSCALE, HFLIP, SHARPEN
from rvm_data.errors import did_you_mean

REGISTRY: dict[str, Augmentation] = {aug.name: aug for aug in (
    FGR_AFFINE,
    BGR_AFFINE,
    HFLIP,  # before the camera: a flipped stream is then moved by the camera like the other
    CAMERA_AFFINE,
    FGR_COLOR,
    BGR_COLOR,
    NOISE,
    FGR_BLUR,
    BGR_BLUR,
    BOTH_BLUR,
    GRAYSCALE,
    SHARPEN,
    MOTION_BLUR,
)}
"""Every augmentation by name, in plan order."""

RENDER_ORDER: tuple[str, ...] = (
    "motion_blur",  # what the camera integrates comes first: then its sensor noise, then grading
    "noise",
    "fgr_color",  # with grayscale folded in
    "bgr_color",
    "sharpen",
    "fgr_blur",
    "bgr_blur",
    "both_blur",
)
"""The pixel ops, in the order render applies them after the warps."""


@functools.cache
def geometry_of(layer: str, space: str) -> tuple[GeometryOp, ...]:
    """The geometry augmentations that move ``layer`` in ``space``, in registry order."""
    # kind "geometry" means a GeometryOp (tests/augment/test_augment_registry.py checks each one)
    return tuple(cast(GeometryOp, a) for a in REGISTRY.values()
                 if a.kind == "geometry" and a.space == space and layer in a.targets)


def in_motion() -> dict[str, Augmentation]:
    """The augmentations recorded in ``SampleSpec.motion``."""
    return {name: a for name, a in REGISTRY.items() if a.field == "motion"}


def check_motion(motion: Any, frames: int, where: str) -> None:
    """Refuse a ``motion`` record of a spec that names no augmentation, with the nearest name, or
    whose entry its augmentation could not render."""
    if not isinstance(motion, dict):
        raise SpecError(where, "motion", f"expected a mapping, got {type(motion).__name__}")
    known = in_motion()
    for name, entry in motion.items():
        if name not in known:
            raise SpecError(where, f"motion.{name}", f"unknown augmentation{did_you_mean(str(name), known)}")
        known[name].check(entry, frames, where)
