"""Readers on fixture files in each data set's real format."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from seg_fixtures import coco, sample_root, supervisely, youtubevis  # noqa: F401  (fixtures)

from rvm_data.segmentation import SegSourceConfig, build_seg_catalog
from rvm_data.sources import SourceError


def test_coco_panoptic_person_from_segment_ids(coco) -> None:  # noqa: F811
    root = coco["root"]
    cfg = SegSourceConfig(kind="coco_panoptic", images=str(root / "images"), masks=str(root / "panoptic"),
                          annotations=str(root / "panoptic.json"))
    catalog = build_seg_catalog([cfg])
    assert [item.name for item in catalog.items] == ["coco/000000000001"]  # the image without a person is left out
    item = catalog.items[0]
    assert (item.frames, item.height, item.width) == (1, 40, 48)
    img, seg = item.load([0, 0])
    assert img.shape == (2, 40, 48, 3) and img.dtype == np.uint8
    np.testing.assert_array_equal(seg[0], coco["person"])
    # RVM's choice: images with a person, whose backpack (27) is masked too
    catalog = build_seg_catalog([SegSourceConfig(**{**cfg.__dict__, "categories": (1, 27)})])
    assert [item.name for item in catalog.items] == ["coco/000000000001"]
    img, seg = catalog.items[0].load([0])
    np.testing.assert_array_equal(seg[0], coco["person"] | coco["backpack"])


def test_supervisely_pairs_by_stem_and_reads_both_mask_scales(supervisely, tmp_path) -> None:  # noqa: F811
    root = supervisely["root"]
    catalog = build_seg_catalog([SegSourceConfig(kind="supervisely", images=str(root / "img"),
                                                 masks=str(root / "seg"))])
    assert [i.name for i in catalog.items] == ["spd/a", "spd/b"]
    for item in catalog.items:
        img, seg = item.load([0])
        np.testing.assert_array_equal(seg[0], supervisely["masks"][item.name[4:]])  # 0/255 and 0/1 masks
    (root / "img" / "c.png").write_bytes((root / "img" / "a.png").read_bytes())
    with pytest.raises(SourceError, match="without a partner.*'c'"):
        build_seg_catalog([SegSourceConfig(kind="supervisely", images=str(root / "img"), masks=str(root / "seg"))])


def test_youtubevis_person_rles_per_frame(youtubevis) -> None:  # noqa: F811
    root = youtubevis["root"]
    catalog = build_seg_catalog([SegSourceConfig(kind="youtubevis", images=str(root / "JPEGImages"),
                                                 annotations=str(root / "train.json"))])
    assert [i.name for i in catalog.items] == ["youtubevis/v1"]  # v2 has no person
    item = catalog.items[0]
    assert (item.frames, item.height, item.width) == (4, 32, 40)
    img, seg = item.load([3, 0, 1, 2])
    assert img.shape == (4, 32, 40, 3)
    for k, t in enumerate([3, 0, 1, 2]):
        np.testing.assert_array_equal(seg[k], youtubevis["masks"][t])  # the airplane's full mask is ignored


def test_builtin_layout_composite_and_threshold(sample_root) -> None:  # noqa: F811
    cfg = SegSourceConfig(kind="builtin", root=str(sample_root["root"]), split="train", threshold=127)
    catalog = build_seg_catalog([cfg])
    assert [i.name for i in catalog.items] == ["builtin/videomatte/clip+bg"]
    item = catalog.items[0]
    img, seg = item.load([0, 1, 2])
    for t in range(3):
        a = sample_root["alphas"][t]
        np.testing.assert_array_equal(seg[t], a > 127)
        bg = 20 * (t % 2 + 1)  # the 2-frame background wraps round
        expected = np.round(200 * (a / 255.0) + bg * (1 - a / 255.0))
        assert np.abs(img[t, ..., 0].astype(int) - expected).max() <= 1


def test_missing_and_bad_sources_name_the_path(tmp_path, coco) -> None:  # noqa: F811
    with pytest.raises(ValueError, match="needs masks, annotations"):
        SegSourceConfig(kind="coco_panoptic", images="x")
    with pytest.raises(SourceError, match="nowhere"):
        build_seg_catalog([SegSourceConfig(kind="supervisely", images=str(tmp_path / "nowhere"), masks=str(tmp_path))])
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    root = coco["root"]
    with pytest.raises(SourceError, match="bad.json: not valid JSON"):
        build_seg_catalog([SegSourceConfig(kind="coco_panoptic", images=str(root / "images"),
                                           masks=str(root / "panoptic"), annotations=str(bad))])


def test_malformed_annotations_name_the_file(coco, youtubevis) -> None:  # noqa: F811
    root = youtubevis["root"]
    data = json.loads((root / "train.json").read_text())
    del data["videos"][0]["height"]
    (root / "train.json").write_text(json.dumps(data))
    with pytest.raises(SourceError, match="train.json: malformed youtubevis annotations \\(missing key 'height'\\)"):
        build_seg_catalog([SegSourceConfig(kind="youtubevis", images=str(root / "JPEGImages"),
                                           annotations=str(root / "train.json"))])
    root = coco["root"]
    data = json.loads((root / "panoptic.json").read_text())
    data["annotations"][0]["segments_info"] = 7
    (root / "panoptic.json").write_text(json.dumps(data))
    with pytest.raises(SourceError, match="panoptic.json: malformed coco_panoptic annotations"):
        build_seg_catalog([SegSourceConfig(kind="coco_panoptic", images=str(root / "images"),
                                           masks=str(root / "panoptic"), annotations=str(root / "panoptic.json"))])


def test_image_size_must_match_the_annotations(youtubevis) -> None:  # noqa: F811
    root = youtubevis["root"]
    catalog = build_seg_catalog([SegSourceConfig(kind="youtubevis", images=str(root / "JPEGImages"),
                                                 annotations=str(root / "train.json"))])
    cv2.imwrite(str(root / "JPEGImages" / "v1" / "00002.jpg"), np.zeros((30, 40, 3), np.uint8))
    with pytest.raises(SourceError, match="00002.jpg: image is 40x30, the annotations say 40x32"):
        catalog.items[0].load([1, 2])
    catalog.items[0].load([0, 1], min_size=(16, 20))  # decoded at half size: still consistent
