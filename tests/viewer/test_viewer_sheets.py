import cv2
import numpy as np
import pytest
from viewer_helpers import make_sample

from rvm_data.shards import composite
from rvm_data.viewer.sheets import SheetLayout, count_grid, frame_sheet, write_png


def test_composite_matches_formula():
    sample = make_sample()
    a = sample["pha"].astype(np.float64) / 255
    want = np.rint(sample["fgr"] * a + sample["bgr"] * (1 - a))
    got = composite(sample["fgr"], sample["pha"], sample["bgr"])
    assert got.dtype == np.uint8 and np.abs(got.astype(int) - want).max() == 0


def test_frame_sheet_size_and_tiles(tmp_path):
    sample = make_sample()
    lay = SheetLayout(tile_height=32, gap=2, label_width=60, caption_height=14, title_height=20)
    sheet = frame_sheet(sample, captions=["a", "b", "c"], title="sample 0", layout=lay)
    t, h, w = 3, 32, 48
    assert sheet.shape == (lay.title_height + 4 * (h + lay.gap) + lay.caption_height,
                           lay.label_width + t * (w + lay.gap) + lay.gap, 3)
    # tile at tile_height == frame height is the frame itself: row r, column t
    y0 = lay.title_height
    for r, frames in enumerate([sample["fgr"], np.repeat(sample["pha"], 3, -1), sample["bgr"],
                                composite(sample["fgr"], sample["pha"], sample["bgr"])]):
        for k in range(t):
            y = y0 + r * (h + lay.gap)
            x = lay.label_width + lay.gap + k * (w + lay.gap)
            np.testing.assert_array_equal(sheet[y:y + h, x:x + w], frames[k])
    path = write_png(tmp_path / "s.png", sheet)
    back = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(back, sheet)


def test_frame_sheet_scales_tiles():
    sheet = frame_sheet(make_sample(t=2, h=40, w=80), layout=SheetLayout(tile_height=20, label_width=50))
    lay = SheetLayout(tile_height=20, label_width=50)
    assert sheet.shape[:2] == (4 * (20 + lay.gap) + lay.caption_height, 50 + 2 * (40 + lay.gap) + lay.gap)


def test_frame_sheet_rejects_bad_input():
    sample = make_sample()
    with pytest.raises(ValueError, match="captions"):
        frame_sheet(sample, captions=["only one"])
    with pytest.raises(ValueError, match="'pha'"):
        frame_sheet({**sample, "pha": sample["pha"][..., 0]})
    with pytest.raises(ValueError, match="disagree"):
        frame_sheet({**sample, "bgr": sample["bgr"][:2]})


def test_count_grid_layout():
    lay = SheetLayout(tile_height=16, gap=2, caption_height=10)
    samples = [(f"#{i}", make_sample(t=2, h=16, w=16, seed=i)) for i in range(5)]
    grid = count_grid(samples, layout=lay)
    cell_w, cell_h = 16 + 2 + 16, 16 + 10
    cols, rows = 3, 2  # ceil(sqrt(5)) columns
    assert grid.shape == (rows * (cell_h + 2) + 2, cols * (cell_w + 2) + 2, 3)
    # the last cell's last frame is sample 4's last composite
    s = samples[4][1]
    comp = composite(s["fgr"], s["pha"], s["bgr"])
    y, x = 2 + 1 * (cell_h + 2), 2 + 1 * (cell_w + 2)
    np.testing.assert_array_equal(grid[y:y + 16, x + 18:x + 34], comp[-1])
    with pytest.raises(ValueError):
        count_grid([])
