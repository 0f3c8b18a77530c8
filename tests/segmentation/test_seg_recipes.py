"""The recipes' ``segmentation:`` sections validate with the recipe loader's typed parser."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from rvm_data.recipe import parse_value
from rvm_data.segmentation import IMAGE_AUGMENT, VIDEO_AUGMENT, SegmentationConfig

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


@pytest.mark.parametrize("name", ["seg_image", "seg_video", "seg_builtin"])
def test_segmentation_sections_parse(name: str) -> None:
    data = yaml.safe_load((RECIPES / f"{name}.yaml").read_text())
    config = parse_value(SegmentationConfig, data["segmentation"], "segmentation")
    for out in config.outputs.values():
        assert out.augmentation == (IMAGE_AUGMENT if out.frames == 1 else VIDEO_AUGMENT)
    expanded = config.sources["train"][0].with_paths(lambda p: p.replace("${RVM_DATA_ROOT}", "/data"))
    assert "${" not in str(expanded)


def test_section_errors() -> None:
    with pytest.raises(ValueError, match="at least one output"):
        SegmentationConfig(sources={"train": ()}, outputs={})
    data = {"sources": {"train": [{"kind": "builtin"}]}, "outputs": {"x": {"samples": {"valid": 2}}}}
    with pytest.raises(Exception, match="split 'valid' has no sources"):
        parse_value(SegmentationConfig, data, "segmentation")


def test_partial_augmentation_starts_from_the_outputs_preset() -> None:
    data = {
        "sources": {"train": [{"kind": "builtin"}]},
        "outputs": {
            "clips": {"frames": 4, "augmentation": {"grayscale_prob": 0.0}},
            "stills": {"frames": 1, "augmentation": {"preset": "video", "hflip_prob": 0.0}},
        },
    }
    config = parse_value(SegmentationConfig, data, "segmentation")
    clips, stills = config.outputs["clips"].augmentation, config.outputs["stills"].augmentation
    assert clips.preset == "video" and clips.crop_scale == (0.8, 1.0) and clips.grayscale_prob == 0.0
    assert stills.preset == "video" and stills.hue == 0.15 and stills.hflip_prob == 0.0
    assert parse_value(SegmentationConfig, dataclasses.asdict(config), "segmentation") == config
