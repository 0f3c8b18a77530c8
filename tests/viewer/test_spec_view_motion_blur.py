"""The trajectory plot shows motion blur's per-frame length from the spec, and the registry's panels."""

import numpy as np

from rvm_data.augment.params import AugmentConfig, MotionAffineConfig, MotionBlurConfig
from rvm_data.augment.registry import REGISTRY
from rvm_data.compose import ComposeConfig, plan_sample
from rvm_data.sources import Catalog, ClipInfo
from rvm_data.viewer.plots import plotted_series
from rvm_data.viewer.spec_view import appearance_panels, parse_spec, spec_figure

CATALOG = Catalog(foregrounds=[ClipInfo("fg", 60, 90, 160, None)],
                  background_images=[ClipInfo("bg", 1, 100, 100, None)])
LINE = "noise & blur/motion blur length (px)/motion_blur"


def _spec(blur: float, index: int = 0) -> dict:
    aug = AugmentConfig(fgr_affine=MotionAffineConfig(prob=1.0), motion_blur=MotionBlurConfig(prob=blur))
    return plan_sample(ComposeConfig(size=(32, 48), frames=6, augment=aug), CATALOG, seed=1, split="train",
                       index=index, augment=True).to_dict()


def test_motion_blur_length_is_plotted_per_frame():
    for index in range(3):
        spec = _spec(1.0, index)
        fig = spec_figure(spec)
        record = spec["motion"]["motion_blur"]
        np.testing.assert_array_equal(plotted_series(fig)[LINE], record["values"]["length"])
        assert max(record["values"]["length"]) > 0
        labels = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
        assert f"motion_blur (shutter {record['shutter']:.2f})" in labels


def test_motion_blur_off_is_neutral_and_marked_off():
    spec = _spec(0.0)
    assert "motion_blur" not in spec["motion"]
    np.testing.assert_array_equal(plotted_series(spec_figure(spec))[LINE], np.zeros(6))
    panels = {(p.group, p.title): p for p in appearance_panels(parse_spec(spec))}
    assert panels[("noise & blur", "motion blur length (px)")].series[0].easing == "off"


def test_every_declared_plot_has_a_panel():
    panels = {(p.group, p.title): {s.name for s in p.series} for p in appearance_panels(parse_spec(_spec(1.0)))}
    for aug in REGISTRY.values():
        for plot in aug.plots:
            assert set(plot.labels or plot.keys) <= panels[(plot.group, plot.title)]
    assert panels[("noise & blur", "blur σ (px)")] == {"fgr_blur", "bgr_blur", "both_blur"}
