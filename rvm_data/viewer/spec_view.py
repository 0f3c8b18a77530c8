"""Read a sample's spec (``SampleSpec.to_dict()``, as stored in shards) as plot panels and captions.

Geometry comes from the per-frame matrices (what render really applies: static affine, eased motion,
crop + resize, flip and camera move fused), decomposed by :mod:`rvm_data.viewer.affine`; every other
augmentation's panels are the ``plots`` it declares in the registry (:mod:`rvm_data.augment.registry`),
its per-frame values as stored. Augmentations that did not fire are drawn as their neutral value,
labelled ``off``, so an empty panel never looks like a missing one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from rvm_data.augment.base import Augmentation
from rvm_data.augment.registry import REGISTRY
from rvm_data.compose import SampleSpec
from rvm_data.viewer.affine import decompose
from rvm_data.viewer.plots import Panel, Series, StreamTime, TimeEvents, direction_changes, trajectory_figure


def parse_spec(spec: dict[str, Any]) -> SampleSpec:
    """The engine's own reader: checks the version and keys and names the sample in its error."""
    if not isinstance(spec, dict):
        raise ValueError(f"sample spec must be a dict, got {type(spec).__name__}")
    return SampleSpec.from_dict(spec)


def _series(spec: SampleSpec, aug: Augmentation, key: str, label: str) -> Series:
    """One per-frame value of one augmentation, or its neutral value when it did not fire."""
    entry = aug.read(spec)
    if entry is None:
        return Series(label, np.full(spec.frames, aug.neutral[key]), "off")
    return Series(label, np.asarray(entry["values"][key], dtype=np.float64), aug.label(entry))


def _geometry_easing(spec: SampleSpec, stream: str) -> str:
    """The curves that move a stream's matrix: its own motion and the camera move."""
    parts = [f"{name.split('_')[0]} {spec.motion[name]['easing']}"
             for name in (f"{stream}_affine", "camera_affine") if name in spec.motion]
    return ", ".join(parts) or "static"


def geometry_panels(spec: SampleSpec, stream: str) -> list[Panel]:
    """tx, ty, scale, rotation, shear of one stream's per-frame source -> output matrices."""
    s = getattr(spec, stream)
    src_h, src_w = s.source["height"], s.source["width"]
    out_h, out_w = spec.size
    p = decompose(s.matrices, centre=((src_w - 1) / 2, (src_h - 1) / 2), out_centre=((out_w - 1) / 2, (out_h - 1) / 2))
    easing = _geometry_easing(spec, stream)
    group = f"{stream} affine"
    return [
        Panel(group, "centre shift (px)", (Series("tx", p.tx, easing), Series("ty", p.ty, easing))),
        Panel(group, "scale (out px / source px)", (Series("scale_x", p.scale_x, easing),
                                                    Series("scale_y", p.scale_y, easing))),
        Panel(group, "rotation (deg)", (Series("rotation", p.rotation, easing),)),
        Panel(group, "shear (deg)", (Series("shear", p.shear, easing),)),
    ]


def appearance_panels(spec: SampleSpec) -> list[Panel]:
    """Each augmentation's declared plots in registry order; plots of several augmentations with the
    same group and title share one panel (the three blurs' sigma, both layers' hue)."""
    panels: dict[tuple[str, str], list[Series]] = {}
    for aug in REGISTRY.values():
        for plot in aug.plots:
            series = panels.setdefault((plot.group, plot.title), [])
            labels = plot.labels or plot.keys  # one label per key
            series += [_series(spec, aug, key, label) for key, label in zip(plot.keys, labels, strict=True)]
    return [Panel(group, title, tuple(series)) for (group, title), series in panels.items()]


def trajectory_panels(spec: SampleSpec) -> list[Panel]:
    return [*geometry_panels(spec, "fgr"), *geometry_panels(spec, "bgr"), *appearance_panels(spec)]


def _skip_frames(spec: SampleSpec, record: dict[str, Any]) -> tuple[int, ...]:
    """Output frames where a stream's recorded skips land: a skip at tick k jumps between ticks k-1
    and k, or, played reversed, between ticks n-k-1 and n-k; the frame is the first showing that tick."""
    ticks = spec.clock[-1] + 1
    out = []
    for tick, _drop in record.get("skips", []):
        at = ticks - tick if record.get("reversed") else tick
        out.append(spec.clock.index(at))
    return tuple(sorted(out))


def _stream_note(record: dict[str, Any] | None) -> str:
    if record is None:
        return "still image"
    parts = [f"speed {record['speed']:g}"]
    if record.get("reversed"):
        parts.append("reversed")
    if record.get("skips"):
        parts.append(f"{len(record['skips'])} skip(s)")
    if record.get("boundary"):
        parts.append(f"boundary {record['boundary']}")
    return ", ".join(parts)


def time_events(spec: SampleSpec) -> TimeEvents:
    streams = []
    for name in ("fgr", "bgr"):
        s = getattr(spec, name)
        record = s.temporal
        streams.append(StreamTime(
            name, np.asarray(s.source_frames, dtype=np.int64),
            skips=_skip_frames(spec, record) if record else (),
            turnarounds=direction_changes(s.source_frames),
            note=_stream_note(record),
        ))
    pauses: tuple[int, ...] = ()
    if spec.pause:
        start, length = spec.pause["start"], spec.pause["length"]
        pauses = tuple(range(start + 1, start + length))
    return TimeEvents(tuple(streams), pauses=pauses)


def frame_captions(spec: SampleSpec) -> list[str]:
    """Under each sheet column: output frame t and the fgr / bgr source frame it shows."""
    # both are T long in a planned spec; SampleSpec.from_dict does not check it, so a column per frame both have
    both = zip(spec.fgr.source_frames, spec.bgr.source_frames, strict=False)
    return [f"t{t} fg{f} bg{b}" for t, (f, b) in enumerate(both)]


def describe(spec: SampleSpec, name: str = "") -> str:
    """One title line: which sample, which sources, and the per-clip switches."""
    head = f"{name} " if name else ""
    parts = [f"{head}{spec.split} #{spec.index}", f"{spec.frames}×{spec.size[0]}×{spec.size[1]}",
             f"fgr {spec.fgr.source['name']}" + (" (flipped)" if spec.fgr.hflip else ""),
             f"bgr {spec.bgr.source['name']}" + (" (flipped)" if spec.bgr.hflip else "")]
    if not spec.augment:
        parts.append("no augmentation")
    if spec.grayscale:
        parts.append("grayscale")
    if spec.sharpen is not None:
        parts.append(f"sharpen {spec.sharpen:.2f}")
    return "  |  ".join(parts)


def spec_figure(spec: dict[str, Any], name: str = "") -> Figure:
    """The trajectory plot of a sample from its spec dict."""
    parsed = parse_spec(spec)
    return trajectory_figure(trajectory_panels(parsed), time_events(parsed), title=describe(parsed, name))
