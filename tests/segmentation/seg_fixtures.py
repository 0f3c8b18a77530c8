"""Small fixture data sets written in each real on-disk format (COCO panoptic, Supervisely Person,
YouTubeVIS, the built-in sample set's layout), and an independent COCO RLE encoder."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest


def rle_counts(mask: np.ndarray) -> list[int]:
    """Run lengths of a mask read column by column, starting with a run of 0s (maybe empty)."""
    counts, current, run = [], 0, 0
    for value in mask.T.reshape(-1).tolist():
        if int(value) == current:
            run += 1
        else:
            counts.append(run)
            current, run = int(value), 1
    counts.append(run)
    return counts


def rle_string(counts: list[int]) -> str:
    """The compressed COCO RLE string of run lengths (5-bit groups, deltas from the third count)."""
    out = []
    for i, x in enumerate(counts):
        if i > 2:
            x -= counts[i - 2]
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def blob(h: int, w: int, cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return (yy - cy) ** 2 + (xx - cx) ** 2 < r * r


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def write_gray(path: Path, gray: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), gray)


@pytest.fixture()
def coco(tmp_path: Path) -> dict:
    """Two images: one with a person (id 1001), a backpack (27) and a car (3); one with a car and a
    backpack but no person."""
    h, w = 40, 48
    person, backpack, car = blob(h, w, 20, 18, 10), blob(h, w, 20, 36, 5), blob(h, w, 5, 5, 4)
    ids = np.zeros((h, w), np.int64)
    ids[person], ids[backpack], ids[car] = 1001, 70000 + 2, 300
    rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536], axis=-1).astype(np.uint8)
    root = tmp_path / "coco"
    write_rgb(root / "panoptic" / "000000000001.png", rgb)
    write_rgb(root / "panoptic" / "000000000002.png", rgb)  # holds the same ids; only its JSON differs
    rng = np.random.default_rng(0)
    for name in ("000000000001", "000000000002"):
        write_rgb(root / "images" / f"{name}.jpg", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    data = {
        "images": [{"id": 1, "file_name": "000000000001.jpg", "height": h, "width": w},
                   {"id": 2, "file_name": "000000000002.jpg", "height": h, "width": w}],
        "annotations": [
            {"image_id": 1, "file_name": "000000000001.png", "segments_info": [
                {"id": 1001, "category_id": 1, "iscrowd": 0}, {"id": 70002, "category_id": 27, "iscrowd": 0},
                {"id": 300, "category_id": 3, "iscrowd": 0}]},
            {"image_id": 2, "file_name": "000000000002.png", "segments_info": [
                {"id": 300, "category_id": 3}, {"id": 70002, "category_id": 27}]},  # a backpack, no person
        ],
        "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}, {"id": 27, "name": "backpack"}],
    }
    (root / "panoptic.json").write_text(json.dumps(data))
    return {"root": root, "person": person, "backpack": backpack}


@pytest.fixture()
def supervisely(tmp_path: Path) -> dict:
    """Two images; masks saved as 0/255 and as 0/1 PNGs. The images are the masks in white, so a
    sample's image and mask must line up after any geometry."""
    root = tmp_path / "spd"
    masks = {"a": blob(36, 44, 18, 20, 11), "b": blob(30, 30, 12, 15, 8)}
    for name, mask in masks.items():
        write_rgb(root / "img" / f"{name}.png", np.repeat(mask[..., None] * np.uint8(255), 3, axis=-1))
    write_gray(root / "seg" / "a.png", masks["a"].astype(np.uint8) * 255)
    write_gray(root / "seg" / "b.png", masks["b"].astype(np.uint8))
    return {"root": root, "masks": masks}


@pytest.fixture()
def youtubevis(tmp_path: Path) -> dict:
    """Video v1 (4 frames, person as RLE list, null, RLE string, list; a non-person object), and
    video v2 without a person."""
    h, w = 32, 40
    root = tmp_path / "ytvis"
    rng = np.random.default_rng(1)
    for vid, frames in (("v1", 4), ("v2", 2)):
        for t in range(frames):
            write_rgb(root / "JPEGImages" / vid / f"{t:05d}.jpg", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    person = [blob(h, w, 16, 10 + 5 * t, 7) for t in range(4)]
    person[0][0, :] = True  # a run touching the first pixel: counts start with 0
    segs = [
        {"size": [h, w], "counts": rle_counts(person[0])},
        None,
        {"size": [h, w], "counts": rle_string(rle_counts(person[2]))},
        {"size": [h, w], "counts": rle_counts(person[3])},
    ]
    other = {"size": [h, w], "counts": rle_counts(np.ones((h, w), bool))}
    data = {
        "videos": [
            {"id": 1, "height": h, "width": w, "length": 4, "file_names": [f"v1/{t:05d}.jpg" for t in range(4)]},
            {"id": 2, "height": h, "width": w, "length": 2, "file_names": [f"v2/{t:05d}.jpg" for t in range(2)]},
        ],
        "annotations": [
            {"id": 1, "video_id": 1, "category_id": 26, "segmentations": segs},
            {"id": 2, "video_id": 1, "category_id": 1, "segmentations": [other] * 4},
            {"id": 3, "video_id": 2, "category_id": 1, "segmentations": [other] * 2},
        ],
        "categories": [{"id": 1, "name": "airplane"}, {"id": 26, "name": "person"}],
    }
    (root / "train.json").write_text(json.dumps(data))
    expected = [person[0], np.zeros((h, w), bool), person[2], person[3]]
    return {"root": root, "masks": expected}


@pytest.fixture()
def sample_root(tmp_path: Path) -> dict:
    """A tiny folder in the built-in sample set's layout: one 3-frame matte clip, one background clip."""
    root = tmp_path / "sample"
    h, w = 24, 32
    alphas = [np.clip(blob(h, w, 12, 10 + 3 * t, 8) * 255 - 60 * (t == 1), 0, 255).astype(np.uint8) for t in range(3)]
    for t, a in enumerate(alphas):
        write_rgb(root / "videomatte" / "train" / "fgr" / "clip" / f"{t:05d}.png", np.full((h, w, 3), 200, np.uint8))
        write_gray(root / "videomatte" / "train" / "pha" / "clip" / f"{t:05d}.png", a)
    for t in range(2):
        write_rgb(root / "backgrounds" / "videos" / "train" / "bg" / f"{t:05d}.png",
                  np.full((h, w, 3), 20 * (t + 1), np.uint8))
    return {"root": root, "alphas": alphas}
