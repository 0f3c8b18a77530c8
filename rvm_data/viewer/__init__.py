"""Look at what the engine does to a sample: frame sheets, count grids, clips, trajectory plots, a window.

Modules: frames (composite, tiles), sheets (PNG sheets/grids), clips (MP4 via PyAV),
interactive (the ``--show`` window)."""

from rvm_data.viewer.clips import write_clips, write_video
from rvm_data.viewer.frames import composite
from rvm_data.viewer.interactive import Browser, display_unavailable_reason, show
from rvm_data.viewer.sheets import SheetLayout, count_grid, frame_sheet, write_png

__all__ = [
    "Browser",
    "SheetLayout",
    "composite",
    "count_grid",
    "display_unavailable_reason",
    "frame_sheet",
    "show",
    "write_clips",
    "write_png",
    "write_video",
]
