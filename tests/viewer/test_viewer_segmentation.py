"""Segmentation outputs of a build can be previewed (img / seg / overlay sheet, clips) and exported
(img/ and seg/ PNG folders), beside the matting outputs of the same build."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from viewer_helpers import make_sample

from rvm_data.cli import main
from rvm_data.shards import CodecConfig, Manifest, ShardEntry, write_manifest, write_shard
from rvm_data.viewer.frames import sample_rows
from rvm_data.viewer.sheets import SheetLayout, frame_sheet


def _seg_sample(i: int, frames: int = 2) -> dict:
    rng = np.random.default_rng(i)
    seg = np.zeros((frames, 16, 24, 1), np.uint8)
    seg[:, 4:12, 6 + i:14 + i] = 255
    spec = {"index": i, "split": "train", "augment": True, "item": {"name": f"img{i}"},
            "source_frames": list(range(3, 3 + frames)), "hflip": True, "grayscale": False, "affine": None,
            "color": {"hue": 0.1}}
    return {"img": rng.integers(0, 256, (frames, 16, 24, 3), np.uint8), "seg": seg, "spec": spec}


@pytest.fixture
def seg_build(tmp_path: Path) -> Path:
    root = tmp_path / "b"
    entries = []
    for output, make in (("seg_video", lambda i: _seg_sample(i)), ("lr", lambda i: {**make_sample(2, 16, 24, i),
                                                                                    "spec": {"index": i}})):
        info = write_shard(root / "train" / f"{output}-000000.tar", [make(i) for i in range(3)],
                           CodecConfig(color="png"))
        entries.append(ShardEntry(f"train/{info.name}", info.samples, info.bytes, info.sha256))
    recipe = {"name": "segtest", "outputs": {"lr": {}}, "segmentation": {"outputs": {"seg_video": {}}}}
    write_manifest(root, Manifest(recipe, "0" * 64, {"train": entries}))
    return root


def test_a_segmentation_sheet_shows_img_seg_and_the_mask_over_the_image():
    sample = _seg_sample(1)
    rows = sample_rows(sample)
    assert list(rows) == ["img", "seg", "overlay"]
    inside, outside = (0, 8, 10), (0, 1, 1)
    assert (rows["overlay"][outside] == sample["img"][outside]).all()
    expected = np.floor(sample["img"][inside] + (np.array([255, 40, 40]) - sample["img"][inside]) * 0.5 + 0.5)
    assert np.array_equal(rows["overlay"][inside], expected.astype(np.uint8))  # half-way to red under the mask
    layout = SheetLayout(tile_height=16, label_width=40, caption_height=10, title_height=12)
    sheet = frame_sheet(sample, layout=layout)
    assert sheet.shape == (3 * (16 + 2) + 10, 40 + 2 * (24 + 2) + 2, 3)


def test_preview_writes_a_segmentation_samples_sheet_and_clips(seg_build, tmp_path, capsys):
    out = tmp_path / "pv"
    assert main(["preview", str(seg_build), "--output", "seg_video", "--index", "2", "--out", str(out),
                 "--no-progress"]) == 0
    written = sorted(Path(p).name for p in capsys.readouterr().out.split())
    stem = "segtest-seg_video-train-000002"
    assert written == sorted(f"{stem}_{k}" for k in ("sheet.png", "img.mp4", "seg.mp4", "side.mp4"))
    sheet = cv2.imread(str(out / f"{stem}_sheet.png"))
    assert sheet.shape[0] > 3 * 128  # three rows of 128 px tiles, a title and captions


def test_export_frames_writes_img_and_seg_folders_for_segmentation_and_matting_folders_beside(seg_build, tmp_path):
    out = tmp_path / "ex"
    assert main(["export-frames", str(seg_build), str(out), "--no-progress"]) == 0
    clip = out / "train" / "seg_video" / "000000001"
    assert sorted(p.name for p in clip.iterdir()) == ["img", "seg"]
    sample = _seg_sample(1)
    for t in range(2):
        seg = cv2.imread(str(clip / "seg" / f"{t:04d}.png"), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(seg, sample["seg"][t, ..., 0])
        assert np.array_equal(cv2.cvtColor(cv2.imread(str(clip / "img" / f"{t:04d}.png")), cv2.COLOR_BGR2RGB),
                              sample["img"][t])
    assert sorted(p.name for p in (out / "train" / "lr" / "000000000").iterdir()) == ["bgr", "com", "fgr", "pha"]


def test_export_of_only_matting_fields_names_the_segmentation_sample(seg_build, tmp_path, capsys):
    assert main(["export-frames", str(seg_build / "train" / "seg_video-000000.tar"), str(tmp_path / "ex"),
                 "--fields", "pha", "--no-progress"]) == 2
    assert "seg_video/000000000: a segmentation sample (img, seg); --fields pha names none" in capsys.readouterr().err
