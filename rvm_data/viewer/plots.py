"""The trajectory plot: every time-varying parameter of a sample against its frame index.

Plain data in (:class:`Panel` of :class:`Series`, :class:`TimeEvents`), a matplotlib ``Figure`` out.
The figure is made without pyplot (no global state, Agg canvas), and each plotted parameter is one
``Line2D`` whose ``gid`` is ``"<group>/<panel>/<series>"`` so tests read the plotted values back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


class LineStyle(TypedDict):
    """Keyword arguments of an event marker line."""

    linestyle: str
    linewidth: float


EVENT_STYLE: dict[str, LineStyle] = {  # drawn in the colour of the stream they belong to
    "turnaround": dict(linestyle="--", linewidth=1.2),
    "skip": dict(linestyle=":", linewidth=1.6),
}
PAUSE_COLOUR = "0.85"
STREAM_COLOURS = ("black", "tab:purple", "tab:brown", "tab:olive")


@dataclass(frozen=True)
class Series:
    """One parameter over the T output frames; ``easing`` names the curve that interpolates it."""

    name: str
    values: np.ndarray
    easing: str | None = None

    @property
    def label(self) -> str:
        return self.name if self.easing is None else f"{self.name} ({self.easing})"


@dataclass(frozen=True)
class Panel:
    """One subplot: series sharing a unit, in the column of their ``group`` (a stream)."""

    group: str
    title: str
    series: tuple[Series, ...]


@dataclass(frozen=True)
class StreamTime:
    """Which source frame one video stream (fgr, bgr) shows at each output frame, the output frames
    where it skips source frames or turns around (``turnarounds``), and a note (speed, reversed, boundary ...)."""

    name: str
    source_index: np.ndarray
    skips: tuple[int, ...] = ()
    turnarounds: tuple[int, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class TimeEvents:
    """The temporal augmentation on the time axis: the streams' source frames and the output frames
    held by a pause (they repeat the frame before)."""

    streams: tuple[StreamTime, ...]
    pauses: tuple[int, ...] = ()

    @property
    def frames(self) -> int:
        return len(self.streams[0].source_index) if self.streams else 0


def direction_changes(source_index: Sequence[int]) -> tuple[int, ...]:
    """Output frames where playback turns around (a bounce, or a reversal in the middle of a clip)."""
    step = np.diff(np.asarray(source_index, dtype=np.int64))
    moving_at = np.flatnonzero(step != 0)
    direction = np.sign(step[moving_at])
    return tuple(int(moving_at[k]) + 1 for k in np.flatnonzero(direction[1:] != direction[:-1]) + 1)


def longer_steps(source_index: Sequence[int]) -> tuple[int, ...]:
    """Output frames reached by a step longer than the stream's usual one (skipped source frames),
    for specs that do not record their skips."""
    step = np.abs(np.diff(np.asarray(source_index, dtype=np.int64)))
    moving = step[step != 0]
    usual = int(np.median(moving)) if moving.size else 0
    return tuple(int(t) + 1 for t in np.flatnonzero(step > max(usual, 1)))


def _mark_events(ax: Axes, events: TimeEvents) -> None:
    for t in events.pauses:
        ax.axvspan(t - 0.5, t + 0.5, color=PAUSE_COLOUR, zorder=0, gid="event/pause")
    for k, stream in enumerate(events.streams):
        for kind, frames in (("turnaround", stream.turnarounds), ("skip", stream.skips)):
            for t in frames:
                ax.axvline(t - 0.5, gid=f"event/{kind}/{stream.name}", color=STREAM_COLOURS[k % 4],
                           **EVENT_STYLE[kind])


def _source_axis(ax: Axes, events: TimeEvents) -> None:
    t = np.arange(events.frames)
    for k, stream in enumerate(events.streams):
        label = f"{stream.name} source frame" + (f" ({stream.note})" if stream.note else "")
        ax.plot(t, stream.source_index, marker="os^v"[k % 4], markersize=3.5, color=STREAM_COLOURS[k % 4],
                gid=f"time/source frame/{stream.name}", label=label)
    _mark_events(ax, events)
    # legend entries for the event markers, drawn with no data
    ax.axvspan(np.nan, np.nan, color=PAUSE_COLOUR, label="pause (frame held)")
    for kind, style in EVENT_STYLE.items():
        ax.plot([], [], label=f"{kind} (stream colour)", color="0.3", **style)
    ax.set_title("temporal: source frame index per stream", fontsize=9, loc="left")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)


def trajectory_figure(panels: Sequence[Panel], events: TimeEvents, *, title: str = "") -> Figure:
    """A figure with the source-frame panel on top (spanning all columns) and one column per group of
    panels below; the time events are marked on every subplot's time axis."""
    groups: dict[str, list[Panel]] = {}
    for panel in panels:
        groups.setdefault(panel.group, []).append(panel)
    cols = max(1, len(groups))
    rows = max((len(p) for p in groups.values()), default=0)
    fig = Figure(figsize=(4.2 * cols, 1.9 * (rows + 1) + 0.4), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(rows + 1, cols)
    top = fig.add_subplot(grid[0, :])
    _source_axis(top, events)
    t = np.arange(events.frames)
    for c, (group, group_panels) in enumerate(groups.items()):
        for r, panel in enumerate(group_panels):
            ax = fig.add_subplot(grid[r + 1, c], sharex=top)
            _mark_events(ax, events)
            for series in panel.series:
                values = np.asarray(series.values, dtype=np.float64)
                if values.shape != t.shape:
                    raise ValueError(f"{group}/{panel.title}/{series.name}: {values.shape[0]} values for "
                                     f"{t.shape[0]} frames")
                ax.plot(t, values, marker="o", markersize=2.5, linewidth=1.2, label=series.label,
                        gid=f"{group}/{panel.title}/{series.name}")
            ax.set_title(f"{group}: {panel.title}", fontsize=9, loc="left")
            ax.legend(fontsize=7, frameon=False, loc="best")
            ax.tick_params(labelsize=7)
            if r == len(group_panels) - 1:
                ax.set_xlabel("frame", fontsize=8)
    top.tick_params(labelsize=7)
    top.set_xlim(-0.5, max(len(t) - 0.5, 0.5))
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 80) -> Path:
    """Save as PNG (dpi kept low so README images stay small)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, format="png")
    return path


def plotted_series(fig: Figure) -> dict[str, np.ndarray]:
    """gid -> y data of every parameter line in a figure made by :func:`trajectory_figure`."""
    return {gid: np.asarray(line.get_ydata(), dtype=np.float64)
            for ax in fig.axes for line in ax.get_lines()
            if (gid := line.get_gid()) and not gid.startswith("event/")}
