"""rvm-data preview end to end on a tiny on-disk set: from a recipe and from a build folder."""

import av
import numpy as np
from PIL import Image
from viewer_helpers import write_recipe

from rvm_data.build import build
from rvm_data.cli import main
from rvm_data.recipe import load_recipe
from rvm_data.viewer.load import open_source
from rvm_data.viewer.sheets import SheetLayout


def _frames(path):
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


def test_preview_recipe_writes_every_file_and_show_says_why_not(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    recipe = write_recipe(tmp_path)
    out = tmp_path / "pv"
    assert main(["preview", recipe, "--index", "1", "--out", str(out), "--fps", "5", "--count", "3", "--show"]) == 0
    captured = capsys.readouterr()
    assert "--show:" in captured.err and "wrote the files above instead" in captured.err
    printed = captured.out.split()
    stem = "tiny-main-train-000001"
    names = [f"{stem}_trajectory.png", f"{stem}_sheet.png", f"{stem}_composite.mp4", f"{stem}_alpha.mp4",
             f"{stem}_side.mp4", f"{stem}_grid2.png"]  # samples 1, 2: the split ends there
    assert printed == [str(out / n) for n in names]
    lay = SheetLayout()
    sheet = Image.open(out / names[1])
    assert sheet.size == (lay.label_width + 3 * (lay.tile_height + lay.gap) + lay.gap,
                          lay.title_height + 4 * (lay.tile_height + lay.gap) + lay.caption_height)
    traj = Image.open(out / names[0])
    assert traj.size[0] > 600 and traj.size[1] > 400
    for name, width in ((names[2], 32), (names[3], 32), (names[4], 4 * 32)):
        assert _frames(out / name).shape == (3, 32, width, 3)
    grid = Image.open(out / names[5])
    assert grid.size[1] > lay.tile_height


def test_preview_build_folder_reads_the_stored_sample(tmp_path, capsys):
    recipe_path = write_recipe(tmp_path, samples=3)
    build(load_recipe(recipe_path), tmp_path / "build", workers=1, progress=False)
    stored = open_source(tmp_path / "build")
    fresh = open_source(recipe_path)
    assert (stored.count, stored.output, stored.split) == (3, "main", "train")
    for index in (0, 2):  # shard 0 and shard 1 (two samples per shard)
        a, b = stored.sample(index), fresh.sample(index)
        assert a["spec"] == b["spec"]
        for key in ("fgr", "pha", "bgr"):  # lossless png codec: the very pixels
            np.testing.assert_array_equal(a[key], b[key])
    assert main(["preview", str(tmp_path / "build"), "--index", "2", "--out", str(tmp_path / "pv")]) == 0
    assert (tmp_path / "pv" / "tiny-main-train-000002_sheet.png").is_file()


def test_errors_are_one_line_exit_2(tmp_path, capsys):
    recipe = write_recipe(tmp_path, samples=2)
    assert main(["preview", recipe, "--index", "5", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "has 2 samples; index 5 is out of range" in err and err.count("\n") == 1
    assert main(["preview", str(tmp_path / "nothing"), "--out", str(tmp_path)]) == 2
    assert "no such recipe file or build folder" in capsys.readouterr().err
    assert main(["preview", str(tmp_path), "--out", str(tmp_path / "pv")]) == 2
    assert "no manifest (is this a build folder?)" in capsys.readouterr().err
    assert main(["preview", recipe, "--split", "valid", "--out", str(tmp_path)]) == 2
    assert "no split 'valid'" in capsys.readouterr().err
