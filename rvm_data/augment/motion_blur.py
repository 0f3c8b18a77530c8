"""Motion blur along the foreground's own trajectory (pixel op on fgr and alpha together).

A camera integrates light while its shutter is open, so a moving figure is smeared along its path
and its edge becomes a soft ramp, in colour and alpha alike. This op renders that for the
foreground's own move (the source-space geometry of the foreground alone: ``fgr_affine``): the
exposure of output frame t spans ``t - shutter/2 .. t + shutter/2`` (``shutter`` is a fraction of
the frame interval: 0.5 is a 180-degree shutter); the move is evaluated at ``samples`` sub-frame
times of it (the trajectory's easing, so a curve's acceleration shows), and the frame is the
average of the warps that take the figure from where it is at t to where it is at each sample.

The average is taken over premultiplied colour (colour x alpha) and alpha, with the same kernel,
then divided back, so the composite over any background equals the blur of the composite over a
uniform one, and colour never bleeds from transparent pixels. A still figure, or a sample whose
foreground did not move, is left untouched; the frames of a pause (one tick shown again) are all
blurred as that tick is, as a held frame of real footage is. The camera move is not blurred: it moves the
background too, which this op leaves alone. The frame's edge is extended (replicated) for the warps,
so a figure cut by the frame is not faded where it leaves it.

Off by default (``prob: 0``): a recipe turns it on with ``augment.motion_blur: {prob, shutter, samples}``.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from rvm_data.augment.affine_motion import FGR_AFFINE, AffineMotion
from rvm_data.augment.base import Layers, MotionRecord, PlanContext, Plot, SpecError
from rvm_data.augment.geometry import inverse, matmul
from rvm_data.augment.params import AugmentConfig, MotionBlurConfig

MIN_LENGTH = 1e-3
"""Output pixels: a frame whose blur is shorter is left as it is (no resampling for nothing)."""


def own_motion(entries: dict[str, Any]) -> list[tuple[AffineMotion, dict[str, Any]]]:
    """The fired geometry that moves the foreground alone, in source space (its own trajectory):
    ``fgr_affine``, the only such augmentation (the camera moves the background too)."""
    return [(aug, entries[aug.name]) for aug in (FGR_AFFINE,) if entries.get(aug.name) is not None]


def exposure_warps(matrices: np.ndarray, moves: list[tuple[AffineMotion, dict[str, Any]]], clock: list[int],
                   source_hw: tuple[int, int], shutter: float, samples: int) -> np.ndarray:
    """T x samples x 3 x 3 output -> output warps: from the foreground at frame t to where its own move
    puts it at each sub-frame time of frame t's exposure (the camera and framing held at frame t).

    The exposure is centred on the frame's tick (``clock[t]``), in ticks: every frame of a pause shows
    one tick, so they are all blurred alike, as the repeated frame of real footage is; the move is held
    at the clip's ends, where a frame gets only the part of its exposure inside the clip."""
    frames = len(clock)
    height, width = source_hw
    offsets = shutter * ((np.arange(samples) + 0.5) / samples - 0.5)
    ticks = np.asarray(clock, dtype=np.float64)
    span = max(float(ticks[-1]), 1.0)
    now = ticks / span
    sub = np.clip((ticks[:, None] + offsets[None, :]) / span, 0.0, 1.0).ravel()
    move_now, move_sub = np.tile(np.eye(3), (frames, 1, 1)), np.tile(np.eye(3), (frames * samples, 1, 1))
    for aug, entry in moves:  # source-space matrices compose to the right, in registry order
        move_now = matmul(move_now, aug.matrices_at_progress(entry, now, height, width))
        move_sub = matmul(move_sub, aug.matrices_at_progress(entry, sub, height, width))
    full = np.concatenate([np.asarray(matrices, np.float64)[:, :2], np.tile([[[0.0, 0.0, 1.0]]], (frames, 1, 1))],
                          axis=1)
    undo = matmul(full, inverse(move_now))  # T x 3 x 3: the frame's matrix without its own move
    warps: np.ndarray = matmul(matmul(undo[:, None], move_sub.reshape(frames, samples, 3, 3)), inverse(full)[:, None])
    return warps


def blur_lengths(warps: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """Per frame, the longest path (output pixels) a point of the frame (corners, centre) travels
    over the exposure: how long the blur is."""
    h, w = out_hw
    points = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1], [(w - 1) / 2, (h - 1) / 2, 1]],
                      dtype=np.float64).T
    moved = matmul(warps[..., :2, :], points)  # T x samples x 2 x 5
    steps = np.linalg.norm(np.diff(moved, axis=1), axis=2)  # T x (samples - 1) x 5
    lengths: np.ndarray = steps.sum(axis=1).max(axis=1)
    return lengths


def _reach(warps: np.ndarray, out_hw: tuple[int, int]) -> int:
    """Whole pixels that any warp of a frame moves a point of it, at most (the blur's reach)."""
    h, w = out_hw
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], dtype=np.float64).T
    return int(np.ceil(np.abs(matmul(warps[:, :2, :], corners) - corners[:2]).max())) + 2


def blur_premultiplied(fgr: np.ndarray, pha: np.ndarray, warps: np.ndarray) -> None:
    """One frame in place: the average of ``warps`` (samples x 3 x 3) of premultiplied colour and alpha,
    divided back; pixels the blur leaves fully transparent keep their colour.

    Only the figure's box, grown by twice the blur's reach, is resampled: outside it every warp
    brings transparent pixels only (the frame's own edge is replicated, a box edge inside the frame
    only ever replicates transparent pixels)."""
    height, width = fgr.shape[:2]
    x, y, w, h = cv2.boundingRect(pha[..., 0])
    if w == 0:
        return
    grow = 2 * _reach(warps, (height, width))
    x0, y0, x1, y1 = max(x - grow, 0), max(y - grow, 0), min(x + w + grow, width), min(y + h + grow, height)
    box_fgr, box_pha = fgr[y0:y1, x0:x1], pha[y0:y1, x0:x1]
    to_box = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
    from_box = np.array([[1.0, 0.0, x0], [0.0, 1.0, y0], [0.0, 0.0, 1.0]])
    alpha = box_pha.astype(np.float32)
    packed = np.concatenate([box_fgr * (alpha * np.float32(1 / 255)), alpha], axis=2)
    total = np.zeros_like(packed)
    for warp in warps:
        cv2.accumulate(cv2.warpAffine(packed, matmul(matmul(to_box, warp), from_box)[:2], (x1 - x0, y1 - y0),
                                      flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), total)
    total *= np.float32(1 / len(warps))
    blurred_alpha = total[..., 3:]
    colour = total[..., :3] * (np.float32(255) / np.maximum(blurred_alpha, np.float32(1e-6)))
    np.copyto(box_fgr, np.clip(np.rint(colour), 0, 255).astype(np.uint8), where=np.rint(blurred_alpha) > 0)
    box_pha[...] = np.clip(np.rint(blurred_alpha), 0, 255).astype(np.uint8)


class MotionBlur(MotionRecord):
    name = decision = "motion_blur"
    kind = "pixel"
    space = None
    targets = frozenset({"fgr", "pha"})
    neutral = {"length": 0.0}
    plots = (Plot("noise & blur", "motion blur length (px)", ("length",), ("motion_blur",)),)
    required = frozenset({"shutter", "samples", "values"})
    value_keys = frozenset({"length"})

    def settings(self, augment: AugmentConfig) -> MotionBlurConfig:
        return augment.motion_blur

    def check(self, entry: Any, frames: int, where: str) -> None:
        """The record's keys and series, and what render takes from it: a shutter in [0, 1], an integer
        count of sub-frame samples >= 2, finite lengths >= 0 (as the settings allow)."""
        super().check(entry, frames, where)
        key = f"motion.{self.name}"
        shutter, samples = entry["shutter"], entry["samples"]
        if isinstance(shutter, bool) or not isinstance(shutter, (int, float)) or not 0.0 <= shutter <= 1.0:
            raise SpecError(where, f"{key}.shutter", f"expected a fraction of the frame interval in [0, 1], "
                            f"got {shutter!r}")
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
            raise SpecError(where, f"{key}.samples", f"expected an integer >= 2, got {samples!r}")
        lengths = entry["values"]["length"]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) and v >= 0
                   for v in lengths):
            raise SpecError(where, f"{key}.values.length", "expected finite numbers >= 0 (pixels)")

    def label(self, entry: dict[str, Any]) -> str:
        return f"shutter {entry['shutter']:.2f}"

    def draw(self, rng: np.random.Generator, ctx: PlanContext) -> dict[str, Any] | None:
        """Fires with ``prob``; records the shutter and each frame's blur length (0 where the
        foreground's own move is still)."""
        config = self.settings(ctx.config.augment)
        if rng.random() >= config.prob:
            return None
        shutter = float(rng.uniform(*config.shutter))
        moves = own_motion(ctx.drawn)
        if moves:
            src = ctx.sources["fgr"]
            warps = exposure_warps(np.asarray(ctx.matrices("fgr")), moves, ctx.clock, (src["height"], src["width"]),
                                   shutter, config.samples)
            lengths = [float(v) for v in blur_lengths(warps, ctx.config.size)]
        else:
            lengths = [0.0] * ctx.frames
        return {"shutter": shutter, "samples": config.samples, "values": {"length": lengths}}

    def apply(self, spec: Any, layers: Layers) -> None:
        entry = self.read(spec)
        moves = own_motion(spec.motion)
        if entry is None or not moves:
            return
        lengths = entry["values"]["length"]
        if max(lengths) < MIN_LENGTH:
            return
        source_hw = spec.fgr.source["height"], spec.fgr.source["width"]
        warps = exposure_warps(np.asarray(spec.fgr.matrices), moves, spec.clock, source_hw, entry["shutter"],
                               entry["samples"])
        fgr, pha = layers["fgr"], layers["pha"]
        for t, length in enumerate(lengths):
            if length >= MIN_LENGTH:
                blur_premultiplied(fgr[t], pha[t], warps[t])


MOTION_BLUR = MotionBlur()
