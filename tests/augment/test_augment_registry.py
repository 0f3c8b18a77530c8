"""The augmentation registry: its entries agree with the protocol, render order and spec layout."""

from __future__ import annotations

import numpy as np
import pytest

from rvm_data.augment.base import KINDS, SPACES, TARGETS, Augmentation, GeometryOp, Layers, PixelOp, Plot, SpecError
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
    with pytest.raises(SpecError,
                       match=r"S: motion\.fgr_colour: unknown augmentation; did you mean 'fgr_color'\?") as e:
        check_motion({"fgr_colour": {}}, 2, "S")
    assert e.value.key == "motion.fgr_colour" and e.value.where == "S"
    entry = {"easing": "linear", "a": {}, "b": {}, "values": {"sigma": [0.0, 1.0]}}
    with pytest.raises(SpecError, match=r"motion\.fgr_blur\.kernel: missing"):
        check_motion({"fgr_blur": entry}, 2, "S")
    with pytest.raises(SpecError, match=r"motion\.fgr_blur\.values\.sigma: expected a list of 3"):
        check_motion({"fgr_blur": {**entry, "kernel": "rvm"}}, 3, "S")
    with pytest.raises(SpecError, match=r"motion\.fgr_blur\.values\.sigmaa: unknown key; did you mean 'sigma'\?"):
        check_motion({"fgr_blur": {**entry, "kernel": "rvm", "values": {"sigma": [0, 0], "sigmaa": [0, 0]}}}, 2, "S")


def _tiny_catalog(root):
    import cv2

    from rvm_data.sources import SourcesConfig, build_catalog

    rng = np.random.default_rng(0)
    for t in range(4):
        for kind in ("fgr", "pha"):
            (root / "fg" / kind / "c").mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / "fg" / kind / "c" / f"{t:05d}.png"),
                        rng.integers(0, 256, (20, 24, 3 if kind == "fgr" else 1), dtype=np.uint8))
    (root / "bg").mkdir()
    cv2.imwrite(str(root / "bg" / "b.png"), rng.integers(0, 200, (20, 24, 3), dtype=np.uint8))
    return build_catalog(SourcesConfig(foreground=str(root / "fg"), background_images=str(root / "bg")))


class _Tint:
    """A toy pixel op, as a new augmentation module would define it: adds a per-frame grey level to
    the background."""

    name = decision = "bgr_tint"
    field = "motion"
    kind = "pixel"
    space = None
    targets = frozenset({"bgr"})
    neutral = {"level": 0.0}
    plots = (Plot("colour", "bgr tint (levels)", ("level",)),)

    def settings(self, augment):
        return None

    def can_fire(self, augment):
        return True

    def off(self):
        return None

    def draw(self, rng, ctx):
        return {"values": {"level": [float(v) for v in rng.integers(1, 20, ctx.frames)]}}

    def read(self, spec):
        return spec.motion.get(self.name)

    def check(self, entry, frames, where):
        if set(entry) != {"values"}:
            raise SpecError(where, f"motion.{self.name}", "expected only values")

    def label(self, entry):
        return "drawn"

    def apply(self, spec, layers):
        levels = self.read(spec)["values"]["level"]
        for t, level in enumerate(levels):
            layers["bgr"][t] = np.minimum(layers["bgr"][t].astype(int) + int(level), 255)


def test_a_new_augmentation_is_a_registry_line(monkeypatch, tmp_path):
    """Registered (and placed in the render order), a new op is drawn from its own stream, rendered,
    checked by from_dict and plotted, and every other decision of the sample stays as it was."""
    import rvm_data.compose as compose
    from rvm_data.compose import ComposeConfig, plan_sample, render_sample
    from rvm_data.viewer.plots import plotted_series
    from rvm_data.viewer.spec_view import spec_figure

    catalog = _tiny_catalog(tmp_path)
    cfg = ComposeConfig(size=(16, 16), frames=3)
    before = [plan_sample(cfg, catalog, seed=0, split="train", index=i, augment=True) for i in range(4)]
    rendered = [render_sample(s, catalog) for s in before]
    tint = _Tint()
    assert isinstance(tint, PixelOp)
    monkeypatch.setitem(REGISTRY, tint.name, tint)
    monkeypatch.setattr(compose, "RENDER_ORDER", (*RENDER_ORDER, tint.name))
    for i, old in enumerate(before):
        new = plan_sample(cfg, catalog, seed=0, split="train", index=i, augment=True).to_dict()
        levels = new["motion"].pop(tint.name)["values"]["level"]
        assert new == old.to_dict()  # nothing else moved
        new["motion"][tint.name] = {"values": {"level": levels}}
        sample = render_sample(new, catalog)
        np.testing.assert_array_equal(sample["fgr"], rendered[i]["fgr"])
        tinted = np.minimum(rendered[i]["bgr"].astype(int) + np.array(levels)[:, None, None, None], 255)
        np.testing.assert_array_equal(sample["bgr"].astype(int), tinted)
        np.testing.assert_array_equal(plotted_series(spec_figure(new))["colour/bgr tint (levels)/level"], levels)
        with pytest.raises(SpecError, match="expected only values"):
            SampleSpec.from_dict({**new, "motion": {**new["motion"], tint.name: {"values": {}, "x": 1}}})


def test_geometry_evaluates_at_sub_frame_times():
    """At whole frames matrices_at gives the recorded per-frame matrices; between two frames, the
    point of the curve between them; a held (paused) stretch stays put."""
    aug = REGISTRY["fgr_affine"]
    entry = {"easing": "quad_in", "a": dict.fromkeys(("angle", "translate_x", "translate_y", "shear_x", "shear_y"), 0.0)
             | {"scale": 1.0}, "b": {"angle": 20.0, "translate_x": 0.2, "translate_y": -0.1, "scale": 1.3,
                                    "shear_x": 5.0, "shear_y": 0.0}}
    clock = [0, 1, 1, 2]  # frame 2 holds frame 1's tick
    from rvm_data.augment.affine_motion import affine_matrix
    from rvm_data.augment.base import progress_at
    from rvm_data.augment.params import trajectory
    entry["values"] = {k: list(v) for k, v in trajectory(entry["a"], entry["b"], "quad_in",
                                                           progress_at(clock, np.arange(4.0))).items()}
    whole = aug.matrices_at(entry, "fgr", np.arange(4.0), clock, 30, 40)
    np.testing.assert_allclose(whole, np.array(aug.matrices(entry, "fgr", 4, 30, 40)), atol=1e-12)
    half = aug.matrices_at(entry, "fgr", np.array([0.5, 1.5, 2.5]), clock, 30, 40)
    # t = 0.5 is tick 0.5 of 2: progress 0.25, where quad_in has gone 1/16 of the way
    values = {k: entry["a"][k] + (entry["b"][k] - entry["a"][k]) / 16 for k in entry["a"]}
    np.testing.assert_allclose(half[0], affine_matrix(values, 30, 40), atol=1e-12)
    np.testing.assert_allclose(half[1], whole[1], atol=1e-12)  # inside the pause: held
    assert not np.allclose(half[2], whole[2])
    flip = REGISTRY["hflip"].matrices_at({"fgr": True, "bgr": False}, "fgr", np.array([0.3, 1.7]), clock, 30, 40)
    assert (flip == flip[0]).all() and flip[0][0, 0] == -1.0
