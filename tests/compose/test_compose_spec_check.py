"""SampleSpec.from_dict checks every augmentation record against the registry: a renamed one is an
error naming the key and the sample, never a sample rendered without it."""

from __future__ import annotations

import pickle

import pytest
from engine_sources import write_sources

from rvm_data.augment import AugmentConfig
from rvm_data.augment.base import SpecError
from rvm_data.augment.params import ColorJitterConfig
from rvm_data.compose import ComposeConfig, SampleSpec, plan_sample, render_sample
from rvm_data.errors import RvmDataError


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return write_sources(tmp_path_factory.mktemp("src"))


@pytest.fixture(scope="module")
def spec(catalog):
    cfg = ComposeConfig(size=(16, 16), frames=3, augment=AugmentConfig(fgr_color=ColorJitterConfig(prob=1.0)))
    return plan_sample(cfg, catalog, seed=0, split="train", index=4, augment=True).to_dict()


def test_renamed_colour_record_is_refused_with_a_did_you_mean(spec, catalog):
    motion = dict(spec["motion"])
    motion["fgr_colour"] = motion.pop("fgr_color")
    bad = {**spec, "motion": motion}
    message = (r"sample spec \(split 'train', index 4\): motion\.fgr_colour: unknown augmentation; "
               r"did you mean 'fgr_color'\?")
    with pytest.raises(SpecError, match=message) as caught:
        SampleSpec.from_dict(bad)
    assert isinstance(caught.value, RvmDataError) and caught.value.key == "motion.fgr_colour"
    assert str(pickle.loads(pickle.dumps(caught.value))) == str(caught.value)
    with pytest.raises(SpecError, match=message):
        render_sample(bad, catalog)


def test_bad_switch_and_spec_keys(spec):
    with pytest.raises(SpecError, match=r"index 4\): grayscale: expected true or false"):
        SampleSpec.from_dict({**spec, "grayscale": "yes"})
    with pytest.raises(SpecError, match=r"unknown key 'sharpness'; did you mean 'sharpen'\?"):
        SampleSpec.from_dict({**spec, "sharpness": None})


def test_good_specs_still_load(spec):
    assert SampleSpec.from_dict(spec).to_dict() == spec
