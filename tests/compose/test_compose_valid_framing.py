"""Validation samples are framed like training ones (RVM's validation keeps its static affine and
aspect crop), measured on the built-in sample set."""

import numpy as np
import pytest

from rvm_data.augment import AugmentConfig
from rvm_data.compose import ComposeConfig, decision_rng, plan_sample, render_sample
from rvm_data.sources import build_catalog
from rvm_data.sources.builtin import builtin_sources


@pytest.fixture(scope="module")
def catalog():
    return build_catalog(builtin_sources("train"))


def _coverage(cfg, catalog, augment, n=200):
    """Mean alpha coverage of n rendered samples (planned as train samples 0..n-1)."""
    return np.mean([render_sample(plan_sample(cfg, catalog, seed=0, split="train", index=i, augment=augment),
                                  catalog)["pha"].mean() / 255.0 for i in range(n)])


def _fgr_scale(spec):
    """Mean foreground magnification (output pixels per source pixel, linear) over the frames."""
    lin = np.asarray(spec.fgr.matrices)[:, :, :2]
    return float(np.sqrt(np.abs(np.linalg.det(lin))).mean())


def test_alpha_coverage_of_unaugmented_samples_matches_training(catalog):
    """Same samples with and without augmentation: motion, flips and colour may change coverage only
    a little; the old full-frame framing (valid_framing: false) made figures far larger."""
    cfg = ComposeConfig(size=(64, 64), frames=2)
    train = _coverage(cfg, catalog, True)
    assert abs(_coverage(cfg, catalog, False) / train - 1.0) < 0.05
    old = ComposeConfig(size=(64, 64), frames=2, augment=AugmentConfig(valid_framing=False))
    assert _coverage(old, catalog, False) / train - 1.0 > 0.3


def test_valid_split_foreground_scale_matches_training(catalog):
    cfg = ComposeConfig(size=(64, 64), frames=3)
    train = np.mean([_fgr_scale(plan_sample(cfg, catalog, seed=0, split="train", index=i, augment=True))
                     for i in range(2000)])
    valid = np.mean([_fgr_scale(plan_sample(cfg, catalog, seed=0, split="valid", index=i, augment=False))
                     for i in range(2000)])
    assert abs(valid / train - 1.0) < 0.05


def test_valid_framing_is_drawn_from_the_samples_own_seed(catalog):
    cfg = ComposeConfig(size=(64, 64), frames=3)
    for i in range(20):
        spec = plan_sample(cfg, catalog, seed=5, split="valid", index=i, augment=False)
        expected = cfg.augment.fgr_static.draw(decision_rng(5, "valid", i, "static"))
        assert spec.fgr.static == expected and not spec.fgr.hflip and spec.motion == {}
        assert spec.to_dict() == plan_sample(cfg, catalog, seed=5, split="valid", index=i, augment=False).to_dict()
