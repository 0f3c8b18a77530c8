import numpy as np
import pytest
from PIL import Image

from rvm_data.viewer.plots import (Panel, Series, events_from_source_index, plotted_series, save_figure,
                                   trajectory_figure)


def test_events_from_source_index():
    ev = events_from_source_index([0, 1, 2, 2, 2, 3, 6, 7, 6, 5])
    assert ev.pauses == (3, 4) and ev.skips == (6,) and ev.reversals == (8,)
    assert events_from_source_index([5, 5, 5]).reversals == ()


def test_figure_lines_hold_the_values_and_legend_names_easing(tmp_path):
    t = np.arange(4)
    panels = [Panel("fgr", "translation (px)", (Series("tx", t * 2.0, "ease_in_sine"), Series("ty", -t * 1.0))),
              Panel("bgr", "rotation (deg)", (Series("rotation", np.array([0.0, 1.5, 2.5, 3.0]), "linear"),))]
    fig = trajectory_figure(panels, events_from_source_index([0, 1, 1, 4]), title="x")
    lines = plotted_series(fig)
    assert set(lines) == {"time/source frame/source_index", "fgr/translation (px)/tx", "fgr/translation (px)/ty",
                          "bgr/rotation (deg)/rotation"}
    np.testing.assert_array_equal(lines["fgr/translation (px)/tx"], [0, 2, 4, 6])
    np.testing.assert_array_equal(lines["bgr/rotation (deg)/rotation"], [0, 1.5, 2.5, 3.0])
    np.testing.assert_array_equal(lines["time/source frame/source_index"], [0, 1, 1, 4])
    labels = [text.get_text() for ax in fig.axes if ax.get_legend() for text in ax.get_legend().get_texts()]
    assert "tx (ease_in_sine)" in labels and "ty" in labels and "rotation (linear)" in labels
    gids = [a.get_gid() for ax in fig.axes for a in ax.get_children() if a.get_gid()]
    assert "event/pause" in gids and "event/skip" in gids
    path = save_figure(fig, tmp_path / "t.png", dpi=50)
    w, h = fig.get_size_inches() * 50
    assert Image.open(path).size == (round(w), round(h))


def test_length_mismatch_names_the_series():
    with pytest.raises(ValueError, match="fgr/scale/scale_x: 2 values for 3 frames"):
        trajectory_figure([Panel("fgr", "scale", (Series("scale_x", np.ones(2)),))],
                          events_from_source_index([0, 1, 2]))
