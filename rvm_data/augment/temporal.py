"""Temporal augmentation (plan side): which source frame each output frame shows.

A sample has a *clock*: output frame ``t`` shows clock tick ``clock[t]``. Without a pause the
clock is ``0, 1, ..., T-1``; a pause holds one tick for a run of at least two output frames and
then lets time resume (nothing is skipped, unlike RVM's pause, which overwrote the following
frames and so hid a jump cut behind the held frame). Every per-frame quantity of a sample (source
frames, eased motion, noise) is a function of the tick, so a pause freezes the whole picture,
as in RVM.

Each video stream (foreground, background) maps ticks to source frames on its own: a speed
(RVM's 0.5, 1, 2, 3, 4, 5), frame skips (extra jumps at random ticks), a reversal, and a start
frame (RVM's "shift"). Indices never wrap around the clip's end into a hidden cut (RVM's do:
it reads ``(start + offset) % frames``). When the drawn speed's span does not fit the clip, the
nearest listed speed that fits is taken (``speed_fit: nearest``, the default): a slower speed from
RVM's own list keeps the realised speeds as close to RVM's as a cut-free clip allows. Only when
no listed speed fits (or with ``speed_fit: boundary``) does the ``boundary`` policy act: ``fit``
slows the stream down until it fits, ``clamp`` holds the last frame, ``bounce`` plays back and
forth. :func:`speed_stats` reports the speeds samples really got.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from rvm_data.augment.config import Settings, check_choice, check_prob
from rvm_data.errors import ConfigError

BOUNDARIES = ("fit", "clamp", "bounce")
SPEED_FITS = ("nearest", "boundary")


@dataclass(frozen=True)
class TemporalConfig(Settings):
    """Temporal augmentation of one sample; defaults are RVM's ``TrainFrameSampler`` and pause.

    ``skip_prob`` is 0 by default because RVM has no frame skipping; set it to make motion jump.
    ``speed_fit``: ``nearest`` replaces a drawn speed that would run past the clip's end by the
    fastest listed speed that fits; ``boundary`` leaves it to ``boundary`` (the earlier behaviour:
    with ``fit``, T=50 on 100-frame clips slowed speeds 3-5 all to 2.02).
    """

    speeds: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0, 4.0, 5.0)
    reverse_prob: float = 0.5
    pause_prob: float = 0.03
    skip_prob: float = 0.0
    skip_events: tuple[int, int] = (1, 2)
    skip_frames: tuple[int, int] = (1, 4)
    boundary: str = "fit"
    speed_fit: str = "nearest"

    def validate(self, path: str) -> None:
        if not self.speeds or any(s <= 0 for s in self.speeds):
            raise ConfigError(f"{path}.speeds", f"must be a non-empty list of positive numbers, got {self.speeds}")
        for name in ("reverse_prob", "pause_prob", "skip_prob"):
            check_prob(getattr(self, name), f"{path}.{name}")
        for name in ("skip_events", "skip_frames"):
            lo, hi = getattr(self, name)
            if not 1 <= lo <= hi:
                raise ConfigError(f"{path}.{name}", f"must be (lo, hi) with 1 <= lo <= hi, got {(lo, hi)}")
        check_choice(self.boundary, BOUNDARIES, f"{path}.boundary")
        check_choice(self.speed_fit, SPEED_FITS, f"{path}.speed_fit")


def plan_clock(rng: np.random.Generator, frames: int, pause_prob: float) -> tuple[list[int], dict[str, int] | None]:
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

    Returns the frame list and the record of what was done (None for a still image). The record's
    ``speed`` is the speed played; when ``speed_fit`` had to lower it, ``boundary`` is ``"nearest"``
    and ``drawn_speed`` the speed drawn.
    """
    if clip_frames < 1:
        raise ValueError(f"clip has {clip_frames} frames")
    if clip_frames == 1:
        return [0] * ticks, None
    speed = float(cfg.speeds[int(rng.integers(len(cfg.speeds)))]) if augment else 1.0
    jumps = np.zeros(ticks, np.int64)
    skips: list[list[int]] = []
    if augment and ticks > 1 and rng.random() < cfg.skip_prob:
        count = min(int(rng.integers(cfg.skip_events[0], cfg.skip_events[1] + 1)), ticks - 1)
        at = np.sort(rng.choice(np.arange(1, ticks), size=count, replace=False))
        drops = rng.integers(cfg.skip_frames[0], cfg.skip_frames[1] + 1, size=count)
        for tick, drop in zip(at.tolist(), drops.tolist(), strict=True):
            jumps[tick:] += drop
            skips.append([tick, drop])

    def offsets_at(s: float) -> np.ndarray:
        offsets: np.ndarray = np.floor(np.arange(ticks) * s).astype(np.int64) + jumps
        return offsets

    drawn, boundary = speed, None
    offsets = offsets_at(speed)
    if augment and cfg.speed_fit == "nearest" and int(offsets.max()) + 1 > clip_frames:
        slower = sorted({float(s) for s in cfg.speeds if s < drawn}, reverse=True)
        fitting = [s for s in slower if int(offsets_at(s).max()) + 1 <= clip_frames]
        if slower:  # none fits: the slowest comes nearest, and the boundary policy does the rest
            speed = fitting[0] if fitting else slower[-1]
            offsets, boundary = offsets_at(speed), "nearest" if fitting else None
    reversed_ = bool(augment and rng.random() < cfg.reverse_prob)
    if reversed_:
        offsets = offsets[::-1].copy()
    span = int(offsets.max()) + 1
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
    if speed != drawn:
        record["drawn_speed"] = drawn
    return [int(f) for f in frames], record


def played_speed(record: Mapping[str, Any], clip_frames: int, ticks: int) -> float:
    """Source frames per clock tick a stream really advanced: its speed, or for ``fit``, the speed
    it was slowed to (its span squeezed onto the clip)."""
    speed = float(record["speed"])
    if record.get("boundary") != "fit" or ticks < 2:
        return speed
    span = np.floor((ticks - 1) * speed) + sum(d for _, d in record.get("skips", ())) + 1
    return float(speed * (clip_frames - 1) / (span - 1))


def speed_stats(specs: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The realised speed distribution of planned samples (``SampleSpec.to_dict()`` forms), per
    stream (``fgr``, ``bgr``): ``counts`` {played speed rounded to 0.01: streams}, ``lowered``
    (streams whose drawn speed was lowered, by ``speed_fit`` or the ``fit`` boundary), ``clamped``
    / ``bounced`` (streams whose boundary held or reflected frames), ``streams`` (video streams seen;
    still images have no speed)."""
    out: dict[str, dict[str, Any]] = {
        name: {"counts": Counter(), "lowered": 0, "clamped": 0, "bounced": 0, "streams": 0} for name in ("fgr", "bgr")
    }
    for spec in specs:
        ticks = spec["clock"][-1] + 1
        for name, stats in out.items():
            record = spec[name]["temporal"]
            if record is None:
                continue
            speed = played_speed(record, spec[name]["source"]["frames"], ticks)
            stats["streams"] += 1
            stats["counts"][round(speed, 2)] += 1
            boundary = record.get("boundary")
            stats["lowered"] += int(boundary in ("nearest", "fit"))
            stats["clamped"] += int(boundary == "clamp")
            stats["bounced"] += int(boundary == "bounce")
    return {name: {**stats, "counts": dict(sorted(stats["counts"].items()))} for name, stats in out.items()}


def speed_line(name: str, stats: Mapping[str, Any]) -> str:
    """One line for ``rvm-data inspect``: each played speed's share, and how many were lowered."""
    n = stats["streams"]
    if not n:
        return f"{name} speeds: no video streams"
    shares = " ".join(f"{speed:g}:{count / n:.0%}" for speed, count in stats["counts"].items())
    return f"{name} speeds ({n} streams): {shares}; lowered to fit {stats['lowered'] / n:.0%}"
