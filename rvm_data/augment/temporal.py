"""Temporal augmentation (plan side): which source frame each output frame shows.

A sample has a *clock*: output frame ``t`` shows clock tick ``clock[t]``. Without a pause the
clock is ``0, 1, ..., T-1``; a pause holds one tick for a run of at least two output frames and
then lets time resume (nothing is skipped, unlike RVM's pause, which overwrote the following
frames and so hid a jump cut behind the held frame). Every per-frame quantity of a sample (source
frames, eased motion, noise) is a function of the tick, so a pause freezes the whole picture,
as in RVM.

Each video stream (foreground, background) maps ticks to source frames on its own: a speed
(RVM's 0.5, 1, 2, 3, 4, 5), frame skips (extra jumps at random ticks), a reversal, and a start
frame (RVM's "shift"). Indices never wrap around the clip's end into a hidden cut; when the
span does not fit the clip the ``boundary`` policy decides: ``fit`` slows the stream down until
it fits, ``clamp`` holds the last frame, ``bounce`` plays back and forth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rvm_data.augment.params import check_prob

BOUNDARIES = ("fit", "clamp", "bounce")


@dataclass
class TemporalConfig:
    """Temporal augmentation of one sample; defaults are RVM's ``TrainFrameSampler`` and pause.

    ``skip_prob`` is 0 by default because RVM has no frame skipping; set it to make motion jump.
    """

    speeds: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0, 4.0, 5.0)
    reverse_prob: float = 0.5
    pause_prob: float = 0.03
    skip_prob: float = 0.0
    skip_events: tuple[int, int] = (1, 2)
    skip_frames: tuple[int, int] = (1, 4)
    boundary: str = "fit"

    def validate(self, path: str) -> None:
        if not self.speeds or any(s <= 0 for s in self.speeds):
            raise ValueError(f"{path}.speeds must be a non-empty list of positive numbers")
        for name in ("reverse_prob", "pause_prob", "skip_prob"):
            check_prob(getattr(self, name), f"{path}.{name}")
        for name in ("skip_events", "skip_frames"):
            lo, hi = getattr(self, name)
            if not 1 <= lo <= hi:
                raise ValueError(f"{path}.{name} must be (lo, hi) with 1 <= lo <= hi, got {(lo, hi)}")
        if self.boundary not in BOUNDARIES:
            raise ValueError(f"{path}.boundary must be one of {BOUNDARIES}, got {self.boundary!r}")


def plan_clock(rng: np.random.Generator, frames: int, pause_prob: float) -> tuple[list[int], dict | None]:
    """Clock ticks for ``frames`` output frames and the pause record (None without a pause).

    A pause starts at output frame ``start`` and shows the same tick for ``length >= 2`` frames.
    """
    if frames < 2 or rng.random() >= pause_prob:
        return list(range(frames)), None
    start = int(rng.integers(0, frames - 1))
    length = int(rng.integers(2, frames - start + 1))
    clock = list(range(start + 1)) + [start] * (length - 1)
    clock += list(range(start + 1, start + 1 + frames - len(clock)))
    return clock, {"start": start, "length": length}


def plan_stream_frames(
    rng: np.random.Generator, cfg: TemporalConfig, ticks: int, clip_frames: int, augment: bool
) -> tuple[list[int], dict[str, Any] | None]:
    """Source frame for each of ``ticks`` clock ticks of a clip with ``clip_frames`` frames.

    Returns the frame list and the record of what was done (None for a still image).
    """
    if clip_frames < 1:
        raise ValueError(f"clip has {clip_frames} frames")
    if clip_frames == 1:
        return [0] * ticks, None
    speed = float(cfg.speeds[int(rng.integers(len(cfg.speeds)))]) if augment else 1.0
    offsets = np.floor(np.arange(ticks) * speed).astype(np.int64)
    skips: list[list[int]] = []
    if augment and ticks > 1 and rng.random() < cfg.skip_prob:
        count = min(int(rng.integers(cfg.skip_events[0], cfg.skip_events[1] + 1)), ticks - 1)
        at = np.sort(rng.choice(np.arange(1, ticks), size=count, replace=False))
        drops = rng.integers(cfg.skip_frames[0], cfg.skip_frames[1] + 1, size=count)
        for tick, drop in zip(at.tolist(), drops.tolist()):
            offsets[tick:] += drop
            skips.append([tick, drop])
    reversed_ = bool(augment and rng.random() < cfg.reverse_prob)
    if reversed_:
        offsets = offsets[::-1].copy()
    span = int(offsets.max()) + 1
    boundary = None
    if span <= clip_frames:
        start = int(rng.integers(0, clip_frames - span + 1))
        frames = offsets + start
    else:
        boundary, start = cfg.boundary, 0
        if boundary == "fit":
            frames = (offsets * (clip_frames - 1)) // (span - 1)
        elif boundary == "clamp":
            frames = np.minimum(offsets, clip_frames - 1)
        else:
            period = 2 * (clip_frames - 1)
            phase = offsets % period
            frames = np.where(phase < clip_frames, phase, period - phase)
    record = {"speed": speed, "reversed": reversed_, "start": start, "skips": skips, "boundary": boundary}
    return [int(f) for f in frames], record
