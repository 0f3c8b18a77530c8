"""``rvm-data evaluate`` over frame folders: layouts, pairing, table, CSV and errors."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from rvm_data.cli import main
from rvm_data.metrics import METRICS, evaluate


def write_clip(folder: Path, pha: np.ndarray, fgr: np.ndarray | None = None, names: list[str] | None = None) -> None:
    names = names or [f"{i:04d}" for i in range(len(pha))]
    (folder / "pha").mkdir(parents=True)
    for name, a in zip(names, pha, strict=True):
        cv2.imwrite(str(folder / "pha" / f"{name}.png"), a)
    if fgr is not None:
        (folder / "fgr").mkdir()
        for name, f in zip(names, fgr, strict=True):
            cv2.imwrite(str(folder / "fgr" / f"{name}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))


@pytest.fixture()
def clips() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(5)
    return {
        name: (rng.integers(0, 200, (3, 20, 24), dtype=np.uint8), rng.integers(0, 256, (3, 20, 24, 3), dtype=np.uint8))
        for name in ("clip_a", "clip_b")
    }


def test_cli_prints_table_and_writes_csv(tmp_path: Path, clips, capsys) -> None:
    for name, (pha, fgr) in clips.items():
        write_clip(tmp_path / "true" / name, pha, fgr)
        offset = 51 if name == "clip_b" else 0  # 51/255 = 0.2 on every pixel of clip_b
        write_clip(tmp_path / "pred" / name, pha + offset, fgr, names=[f"{i:05d}" for i in range(3)])
    out_csv = tmp_path / "m.csv"
    rc = main(["evaluate", "--pred", str(tmp_path / "pred"), "--true", str(tmp_path / "true"), "--csv", str(out_csv)])
    printed = capsys.readouterr().out
    assert rc == 0
    assert "clip_a" in printed and "clip_b" in printed and "mean" in printed
    rows = list(csv.reader(out_csv.open()))
    assert rows[0] == ["clip", "frames", *METRICS]
    table = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert float(table["clip_a"]["pha_mad"]) == 0.0 and float(table["clip_a"]["fgr_mse"]) == 0.0
    assert float(table["clip_b"]["pha_mad"]) == pytest.approx(200.0, rel=1e-4)
    assert float(table["clip_b"]["pha_mse"]) == pytest.approx(40.0, rel=1e-4)
    assert float(table["mean"]["pha_mad"]) == pytest.approx(100.0, rel=1e-4)
    assert table["mean"]["frames"] == "6"


def test_single_clip_folders_and_nested_layout(tmp_path: Path, clips) -> None:
    pha, fgr = clips["clip_a"]
    write_clip(tmp_path / "truth_one", pha, fgr)
    write_clip(tmp_path / "pred_one", pha, None)  # no fgr: alpha metrics only
    result = evaluate(tmp_path / "pred_one", tmp_path / "truth_one")
    assert [c.name for c in result.clips] == ["truth_one"]
    assert set(result.clips[0].metrics) == {"pha_mad", "pha_mse", "pha_grad", "pha_conn", "pha_dtssd"}
    # RVM's layout: <root>/<dataset>/<clip>/pha
    write_clip(tmp_path / "deep_true" / "videomatte_motion" / "0000", pha, fgr)
    write_clip(tmp_path / "deep_true" / "videomatte_static" / "0000", pha, fgr)
    write_clip(tmp_path / "deep_pred" / "videomatte_static" / "0000", pha[:2], fgr[:2])  # a subset of frames
    result = evaluate(tmp_path / "deep_pred", tmp_path / "deep_true", metrics=["pha_mad", "fgr_mad"])
    assert [(c.name, c.frames) for c in result.clips] == [("videomatte_static/0000", 2)]
    assert result.mean == {"pha_mad": 0.0, "fgr_mad": 0.0}


def test_errors_exit_2_with_a_message(tmp_path: Path, clips, capsys) -> None:
    pha, _ = clips["clip_a"]
    write_clip(tmp_path / "true" / "clip_a", pha)
    write_clip(tmp_path / "true" / "clip_b", pha)
    write_clip(tmp_path / "pred" / "clip_a", pha)
    write_clip(tmp_path / "pred" / "clip_z", pha)
    assert main(["evaluate", "--pred", str(tmp_path / "pred"), "--true", str(tmp_path / "true")]) == 2
    assert "no ground truth for predicted clip(s) clip_z" in capsys.readouterr().err
    assert main(["evaluate", "--pred", str(tmp_path / "nowhere"), "--true", str(tmp_path / "true")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    write_clip(tmp_path / "short" / "clip_a", pha[:2], names=["x", "y"])
    with pytest.raises(ValueError, match="2 predicted frames, 3 true frames"):
        evaluate(tmp_path / "short", tmp_path / "true")
    deep = tmp_path / "deep" / "clip_a"
    write_clip(deep, pha)
    cv2.imwrite(str(deep / "pha" / "0001.png"), pha[1].astype(np.uint16) * 257)
    with pytest.raises(ValueError, match=r"0001.png: \(20, 24\) uint16, but 0000.png is \(20, 24\) uint8"):
        evaluate(tmp_path / "deep", tmp_path / "true")


def test_clip_names_match_across_tree_roots() -> None:
    from rvm_data.metrics import match_clips

    true = ["test/motion/0", "test/static/0"]
    assert match_clips(["motion/0", "static/0"], true) == {"motion/0": "test/motion/0", "static/0": "test/static/0"}
    assert match_clips(["x/test/static/0"], true) == {"x/test/static/0": "test/static/0"}
    assert match_clips(["anything"], ["only"]) == {"anything": "only"}
    with pytest.raises(ValueError, match="matches several"):
        match_clips(["0", "1"], true)
    with pytest.raises(ValueError, match="no ground truth for predicted clip\\(s\\) other/0"):
        match_clips(["motion/0", "other/0"], true)
