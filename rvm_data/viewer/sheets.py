"""Still views: the frame sheet of one sample and the first/last-frame grid of many."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rvm_data.viewer.frames import PAPER, fit_height, sample_rows, text_strip


@dataclass(frozen=True)
class SheetLayout:
    """Sizes in output pixels; a frame tile is ``tile_height`` high and keeps the sample's aspect."""

    tile_height: int = 128
    gap: int = 2
    label_width: int = 100
    caption_height: int = 18
    title_height: int = 28

    def __post_init__(self) -> None:
        for name in ("tile_height", "label_width", "caption_height", "title_height"):
            if getattr(self, name) < 1:
                raise ValueError(f"SheetLayout.{name} must be >= 1, got {getattr(self, name)}")
        if self.gap < 0:
            raise ValueError(f"SheetLayout.gap must be >= 0, got {self.gap}")


def _hgap(height: int, width: int) -> np.ndarray:
    return np.full((height, width, 3), PAPER, np.uint8)


def _row(label: str, tiles: Sequence[np.ndarray], layout: SheetLayout, height: int) -> np.ndarray:
    """label strip, then gap + tile for each tile, then a closing gap."""
    parts = [text_strip(label, layout.label_width, height, align="left")]
    for tile in tiles:
        parts += [_hgap(height, layout.gap), tile]
    parts.append(_hgap(height, layout.gap))
    return np.concatenate(parts, axis=1)


def frame_sheet(
    sample: dict[str, Any],
    *,
    captions: Sequence[str] | None = None,
    title: str | None = None,
    layout: SheetLayout = SheetLayout(),
) -> np.ndarray:
    """Rows fgr, pha, bgr, composite (segmentation: img, seg, overlay) over the T frames, a caption
    under each column (default ``t=<t>``; the CLI passes the source frame index from the spec) and an
    optional title line on top.

    Size: width ``label_width + T·(tile_w + gap) + gap``, height
    ``[title_height] + 4·(tile_height + gap) + caption_height`` with ``tile_w`` the frame width scaled
    to ``tile_height``."""
    rows = sample_rows(sample)
    t_count = next(iter(rows.values())).shape[0]
    captions = [f"t={t}" for t in range(t_count)] if captions is None else list(captions)
    if len(captions) != t_count:
        raise ValueError(f"frame_sheet: {len(captions)} captions for {t_count} frames")
    th = layout.tile_height
    parts = []
    for name, frames in rows.items():
        tiles = [fit_height(f, th) for f in frames]
        parts.append(_row(name, tiles, layout, th))
        parts.append(_hgap(layout.gap, parts[-1].shape[1]))
    tile_w = tiles[0].shape[1]
    parts.append(_row("", [text_strip(c, tile_w, layout.caption_height) for c in captions], layout,
                      layout.caption_height))
    if title is not None:
        parts.insert(0, text_strip(title, parts[0].shape[1], layout.title_height, align="left"))
    return np.concatenate(parts, axis=0)


def count_grid(
    samples: Sequence[tuple[str, dict[str, Any]]],
    *,
    title: str | None = None,
    layout: SheetLayout = SheetLayout(),
) -> np.ndarray:
    """First and last composite frame of each ``(label, sample)`` side by side, cells laid out in a
    near-square grid (⌈√K⌉ columns), to compare a recipe's variety at a glance."""
    if not samples:
        raise ValueError("count_grid needs at least one sample")
    th, gap = layout.tile_height, layout.gap
    cells = []
    for label, sample in samples:
        comp = list(sample_rows(sample).values())[-1]  # the composite (segmentation: the overlay)
        first, last = fit_height(comp[0], th), fit_height(comp[-1], th)
        pair = np.concatenate([first, _hgap(th, gap), last], axis=1)
        caption = text_strip(f"{label}  first | last", pair.shape[1], layout.caption_height)
        cells.append(np.concatenate([pair, caption], axis=0))
    cell_h = max(c.shape[0] for c in cells)
    cell_w = max(c.shape[1] for c in cells)
    cols = math.ceil(math.sqrt(len(cells)))
    rows = math.ceil(len(cells) / cols)
    grid_h, grid_w = rows * (cell_h + gap) + gap, cols * (cell_w + gap) + gap
    grid = np.full((grid_h, grid_w, 3), PAPER, np.uint8)
    for k, cell in enumerate(cells):
        y = gap + (k // cols) * (cell_h + gap)
        x = gap + (k % cols) * (cell_w + gap)
        grid[y : y + cell.shape[0], x : x + cell.shape[1]] = cell
    if title is not None:
        grid = np.concatenate([text_strip(title, grid_w, layout.title_height, align="left"), grid], axis=0)
    return grid


def write_png(path: str | Path, image: np.ndarray) -> Path:
    """Write an RGB H×W×3 uint8 image as PNG (OpenCV wants BGR); errors name the file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok = cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise OSError(f"could not write PNG {path}")
    return path
