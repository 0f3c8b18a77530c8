import numpy as np
import pytest
from PIL import Image

from rvm_data.viewer.plots import (
    Panel,
    Series,
    StreamTime,
    TimeEvents,
    direction_changes,
    longer_steps,
    plotted_series,
    save_figure,
    trajectory_figure,
)


def test_derived_events():
    src = [0, 1, 2, 2, 2, 3, 6, 7, 6, 5]
    assert longer_steps(src) == (6,) and direction_changes(src) == (8,)
    assert direction_changes([5, 5, 5]) == () and longer_steps([9, 7, 5]) == ()


def _events(fgr, bgr=None, pauses=()):
    streams = [StreamTime("fgr", np.array(fgr), skips=longer_steps(fgr), note="speed 1")]
    if bgr is not None:
        streams.append(StreamTime("bgr", np.array(bgr), turnarounds=direction_changes(bgr)))
    return TimeEvents(tuple(streams), pauses=pauses)


def test_figure_lines_hold_the_values_and_legend_names_easing(tmp_path):
    t = np.arange(4)
    panels = [Panel("fgr", "translation (px)", (Series("tx", t * 2.0, "ease_in_sine"), Series("ty", -t * 1.0))),
              Panel("bgr", "rotation (deg)", (Series("rotation", np.array([0.0, 1.5, 2.5, 3.0]), "linear"),))]
    fig = trajectory_figure(panels, _events([0, 1, 1, 4], [3, 2, 2, 3], pauses=(2,)), title="x")
    lines = plotted_series(fig)
    assert set(lines) == {"time/source frame/fgr", "time/source frame/bgr", "fgr/translation (px)/tx",
                          "fgr/translation (px)/ty", "bgr/rotation (deg)/rotation"}
    np.testing.assert_array_equal(lines["fgr/translation (px)/tx"], [0, 2, 4, 6])
    np.testing.assert_array_equal(lines["bgr/rotation (deg)/rotation"], [0, 1.5, 2.5, 3.0])
    np.testing.assert_array_equal(lines["time/source frame/fgr"], [0, 1, 1, 4])
    np.testing.assert_array_equal(lines["time/source frame/bgr"], [3, 2, 2, 3])
    labels = [text.get_text() for ax in fig.axes if ax.get_legend() for text in ax.get_legend().get_texts()]
    assert "tx (ease_in_sine)" in labels and "ty" in labels and "rotation (linear)" in labels
    assert "fgr source frame (speed 1)" in labels
    gids = [a.get_gid() for ax in fig.axes for a in ax.get_children() if a.get_gid()]
    assert {"event/pause", "event/skip/fgr", "event/turnaround/bgr"} <= set(gids)
    path = save_figure(fig, tmp_path / "t.png", dpi=50)
    w, h = fig.get_size_inches() * 50
    assert Image.open(path).size == (round(w), round(h))


def test_length_mismatch_names_the_series():
    with pytest.raises(ValueError, match="fgr/scale/scale_x: 2 values for 3 frames"):
        trajectory_figure([Panel("fgr", "scale", (Series("scale_x", np.ones(2)),))],
                          _events([0, 1, 2]))
