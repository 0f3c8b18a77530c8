"""plan_seg_sample / render_seg_sample: determinism, alignment of image and mask, RVM's
augmentation switches, the temporal sampler at speed 1, and shards the loader reads."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from seg_fixtures import supervisely, youtubevis  # noqa: F401  (fixtures)

from rvm_data.errors import ConfigError
from rvm_data.segmentation import (
    IMAGE_AUGMENT,
    VIDEO_AUGMENT,
    SegAugmentConfig,
    SegOutputConfig,
    SegSampleSpec,
    SegSourceConfig,
    build_seg_catalog,
    plan_seg_sample,
    render_seg_sample,
)
from rvm_data.segmentation.plan import random_resized_crop
from rvm_data.segmentation.shards import render_seg_shard
from rvm_data.shards import ShardDataset

NO_COLOR = dict(brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0)


def spd_catalog(supervisely):  # noqa: F811
    root = supervisely["root"]
    return build_seg_catalog([SegSourceConfig(kind="supervisely", images=str(root / "img"), masks=str(root / "seg"))])


def test_spec_round_trips_and_render_is_deterministic(supervisely) -> None:  # noqa: F811
    catalog = spd_catalog(supervisely)
    out = SegOutputConfig(size=(24, 32), frames=1)
    spec = plan_seg_sample(out, catalog, seed=3, split="train", index=5, augment=True)
    again = SegSampleSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    a, b = render_seg_sample(spec, catalog), render_seg_sample(again, catalog)
    np.testing.assert_array_equal(a["img"], b["img"])
    np.testing.assert_array_equal(a["seg"], b["seg"])
    assert a["img"].shape == (1, 24, 32, 3) and a["seg"].shape == (1, 24, 32, 1)
    assert set(np.unique(a["seg"])) <= {0, 255}
    assert a["spec"]["index"] == 5 and a["spec"]["kind"] == "segmentation"


def test_each_item_once_per_pass(supervisely) -> None:  # noqa: F811
    catalog = spd_catalog(supervisely)
    out = SegOutputConfig(size=(16, 16))
    names = [plan_seg_sample(out, catalog, seed=0, split="train", index=i, augment=True).item["name"] for i in range(4)]
    assert sorted(names[:2]) == sorted(names[2:]) == ["spd/a", "spd/b"]


@pytest.mark.parametrize("resample", ["nearest", "threshold"])
def test_mask_follows_image_through_the_geometry(supervisely, resample) -> None:  # noqa: F811
    catalog = spd_catalog(supervisely)  # the images are their masks in white
    aug = dataclasses.replace(IMAGE_AUGMENT, mask_resample=resample, **NO_COLOR)
    out = SegOutputConfig(size=(40, 40), augmentation=aug)
    for index in range(6):
        spec = plan_seg_sample(out, catalog, seed=1, split="train", index=index, augment=True)
        sample = render_seg_sample(spec, catalog)
        agree = ((sample["img"][..., 0] > 127) == (sample["seg"][..., 0] > 0)).mean()
        assert agree > 0.97, (index, agree)


def test_hflip_mirrors_and_no_augment_is_a_centre_crop(supervisely) -> None:  # noqa: F811
    catalog = spd_catalog(supervisely)
    ratio = (44 / 36, 44 / 36)
    still = dataclasses.replace(IMAGE_AUGMENT, affine_prob=0.0, crop_scale=(1.0, 1.0), crop_ratio=ratio, **NO_COLOR)
    plain = SegOutputConfig(size=(18, 22), augmentation=dataclasses.replace(still, hflip_prob=0.0))
    flipped = SegOutputConfig(size=(18, 22), augmentation=dataclasses.replace(still, hflip_prob=1.0))
    kw = dict(seed=0, split="train", index=0, augment=True)
    a = render_seg_sample(plan_seg_sample(plain, catalog, **kw), catalog)
    b = render_seg_sample(plan_seg_sample(flipped, catalog, **kw), catalog)
    np.testing.assert_array_equal(b["seg"], a["seg"][:, :, ::-1])
    assert np.abs(b["img"].astype(int) - a["img"][:, :, ::-1]).max() <= 1
    spec = plan_seg_sample(SegOutputConfig(size=(16, 16)), catalog, seed=0, split="valid", index=0, augment=False)
    item = catalog.items[spec.item["index"]]
    side = min(item.height, item.width)
    assert spec.crop == [(item.width - side) / 2, (item.height - side) / 2, side, side]
    assert spec.affine is None and not spec.hflip and spec.color is None and not spec.grayscale


def test_random_resized_crop_stays_inside_and_in_range() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        x0, y0, h, w = random_resized_crop(rng, 40, 60, (0.5, 1.0), (0.7, 1.3))
        assert 0 <= x0 and x0 + w <= 60 and 0 <= y0 and y0 + h <= 40
        assert 0.45 <= h * w / 2400 <= 1.0


def test_video_frames_are_consecutive_and_colour_is_per_clip(youtubevis) -> None:  # noqa: F811
    root = youtubevis["root"]
    catalog = build_seg_catalog([SegSourceConfig(kind="youtubevis", images=str(root / "JPEGImages"),
                                                 annotations=str(root / "train.json"))])
    out = SegOutputConfig(size=(24, 24), frames=3)
    assert out.augmentation == VIDEO_AUGMENT
    seen_reverse = False
    for index in range(8):
        spec = plan_seg_sample(out, catalog, seed=2, split="train", index=index, augment=True)
        steps = set(np.diff(spec.source_frames).tolist())
        assert steps in ({1}, {-1}), spec.source_frames  # speed 1, maybe reversed, never wrapped
        seen_reverse |= steps == {-1}
        sample = render_seg_sample(spec, catalog)
        assert sample["img"].shape == (3, 24, 24, 3) and set(np.unique(sample["seg"])) <= {0, 255}
    assert seen_reverse


def test_shards_of_img_seg_read_back_with_the_loader(supervisely, youtubevis, tmp_path) -> None:  # noqa: F811
    catalog = spd_catalog(supervisely)
    out = SegOutputConfig(size=(16, 20), frames=1)
    path = tmp_path / "train" / "image-000000.tar"
    info = render_seg_shard(path, out, catalog, seed=0, split="train", start=0, stop=4)
    assert info.samples == 4
    batch = next(iter(ShardDataset(str(path), batch_size=2, shuffle=False, with_spec=True)))
    assert tuple(batch["img"].shape) == (2, 1, 3, 16, 20) and tuple(batch["seg"].shape) == (2, 1, 1, 16, 20)
    assert set(batch["seg"].unique().tolist()) <= {0, 255}
    assert {s["kind"] for s in batch["spec"]} == {"segmentation"}
    again = render_seg_shard(tmp_path / "again.tar", out, catalog, seed=0, split="train", start=0, stop=4)
    assert again.sha256 == info.sha256  # bytes depend only on (config, seed, split, indices)


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="augmentation.hflip_prob"):
        SegOutputConfig(augmentation=SegAugmentConfig(hflip_prob=2.0))
    with pytest.raises(ConfigError, match="frames: must be >= 1") as caught:
        SegOutputConfig(frames=0)
    assert caught.value.key == "frames"
