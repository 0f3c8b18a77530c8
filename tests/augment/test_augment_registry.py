"""The augmentation registry: its entries agree with the protocol, render order and spec layout."""

from __future__ import annotations

import numpy as np
import pytest

from rvm_data.augment.base import KINDS, SPACES, TARGETS, Augmentation, GeometryOp, Layers, PixelOp, SpecError
from rvm_data.augment.registry import REGISTRY, RENDER_ORDER, check_motion, geometry_of, in_motion
from rvm_data.compose import SampleSpec


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_entry_follows_the_protocol(name):
    aug = REGISTRY[name]
    assert isinstance(aug, Augmentation) and aug.name == name
    assert aug.kind in KINDS and aug.targets and aug.targets <= set(TARGETS)
    if aug.kind == "geometry":
        assert isinstance(aug, GeometryOp) and aug.space in SPACES
    else:
        assert aug.space is None
        assert isinstance(aug, PixelOp) or set(aug.fused_into) <= set(RENDER_ORDER)
    # its own random stream, except the version-1 switches, which share theirs
    assert aug.decision == name if aug.field == "motion" else aug.decision == "switches"
    for plot in aug.plots:
        assert set(plot.keys) <= set(aug.neutral)


def test_render_order_lists_each_unfused_pixel_op_once():
    pixel = {n for n, a in REGISTRY.items() if a.kind == "pixel" and not getattr(a, "fused_into", None)}
    assert len(RENDER_ORDER) == len(set(RENDER_ORDER)) and set(RENDER_ORDER) == pixel


def test_version_1_layout_is_kept():
    """The records that live in SampleSpec.motion, and the order the switches share their stream in."""
    assert list(in_motion()) == ["fgr_affine", "bgr_affine", "camera_affine", "fgr_color", "bgr_color", "noise",
                                 "fgr_blur", "bgr_blur", "both_blur", "motion_blur"]
    assert [n for n, a in REGISTRY.items() if a.decision == "switches"] == ["hflip", "grayscale", "sharpen"]
    assert {a.field for a in REGISTRY.values()} == {"motion", "hflip", "grayscale", "sharpen"}
    assert set(SampleSpec.__dataclass_fields__) >= {"motion", "grayscale", "sharpen"}
    assert [a.name for a in geometry_of("fgr", "output")] == ["hflip", "camera_affine"]  # flip inside the camera
    assert [a.name for a in geometry_of("bgr", "source")] == ["bgr_affine"]


def test_intensity_ops_get_no_writable_alpha():
    stacks = {k: np.zeros((1, 2, 2, 1 if k == "pha" else 3), np.uint8) for k in TARGETS}
    for name in ("fgr_color", "bgr_color", "noise"):
        layers = Layers(stacks, REGISTRY[name].targets)
        with pytest.raises(KeyError, match="'pha' is not a target"):
            layers["pha"]
        view = layers.read("pha")
        with pytest.raises(ValueError, match="read-only"):
            view[...] = 1
    assert "pha" in REGISTRY["fgr_blur"].targets and "pha" in REGISTRY["motion_blur"].targets


def test_misspelt_record_names_the_nearest_augmentation():
    with pytest.raises(SpecError, match=r"S: motion\.fgr_colour: unknown augmentation; did you mean 'fgr_color'\?") as e:
        check_motion({"fgr_colour": {}}, 2, "S")
    assert e.value.key == "motion.fgr_colour" and e.value.where == "S"
    entry = {"easing": "linear", "a": {}, "b": {}, "values": {"sigma": [0.0, 1.0]}}
    with pytest.raises(SpecError, match=r"motion\.fgr_blur\.kernel: missing"):
        check_motion({"fgr_blur": entry}, 2, "S")
    with pytest.raises(SpecError, match=r"motion\.fgr_blur\.values\.sigma: expected a list of 3"):
        check_motion({"fgr_blur": {**entry, "kernel": "rvm"}}, 3, "S")
    with pytest.raises(SpecError, match=r"motion\.fgr_blur\.values\.sigmaa: unknown key; did you mean 'sigma'\?"):
        check_motion({"fgr_blur": {**entry, "kernel": "rvm", "values": {"sigma": [0, 0], "sigmaa": [0, 0]}}}, 2, "S")
