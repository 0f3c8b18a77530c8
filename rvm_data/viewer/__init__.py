"""Look at what the engine does to a sample: trajectory plots, frame sheets, count grids, clips, a window.

Modules: ``frames`` (tiles, captions), ``sheets`` (frame sheet, count grid, PNG),
``clips`` (MP4 via PyAV), ``affine`` (matrix -> tx, ty, scale, rotation, shear), ``plots`` (the
trajectory figure from plain panels), ``spec_view`` (a SampleSpec dict as panels, events, captions),
``load`` (samples from a recipe or a build folder), ``preview`` (what ``rvm-data preview`` writes),
``interactive`` (the ``--show`` window).
"""

from rvm_data.viewer.affine import AffineParams, compose, decompose
from rvm_data.viewer.clips import write_clips, write_video
from rvm_data.viewer.interactive import Browser, display_unavailable_reason, show
from rvm_data.viewer.load import BuildSource, RecipeSource, SampleSource, open_source
from rvm_data.viewer.plots import Panel, Series, StreamTime, TimeEvents, plotted_series, save_figure, trajectory_figure
from rvm_data.viewer.preview import preview_files, show_window, write_preview
from rvm_data.viewer.sheets import SheetLayout, count_grid, frame_sheet, write_png
from rvm_data.viewer.spec_view import spec_figure

__all__ = [
    "AffineParams", "Browser", "BuildSource", "Panel", "RecipeSource", "SampleSource", "Series", "SheetLayout",
    "StreamTime", "TimeEvents", "compose", "count_grid", "decompose", "display_unavailable_reason",
    "frame_sheet", "open_source", "plotted_series", "preview_files", "save_figure", "show", "show_window",
    "spec_figure", "trajectory_figure", "write_clips", "write_png", "write_preview", "write_video",
]
