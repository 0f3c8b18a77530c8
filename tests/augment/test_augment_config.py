"""One config style: frozen settings, tuples for sequences, errors that carry their key path."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from rvm_data.augment import config, params, temporal
from rvm_data.augment.config import Settings
from rvm_data.augment.params import AugmentConfig, EasingConfig, NoiseConfig
from rvm_data.augment.temporal import TemporalConfig
from rvm_data.compose import ComposeConfig
from rvm_data.errors import ConfigError, RvmDataError


def _settings_classes() -> list[type]:
    found = [ComposeConfig]
    for module in (params, temporal):
        found += [v for v in vars(module).values()
                  if isinstance(v, type) and dataclasses.is_dataclass(v) and v.__module__ == module.__name__]
    return found


@pytest.mark.parametrize("cls", _settings_classes(), ids=lambda c: c.__name__)
def test_every_config_dataclass_is_frozen_settings(cls):
    assert issubclass(cls, Settings) and cls.__dataclass_params__.frozen
    first = dataclasses.fields(cls)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(cls(), first, getattr(cls(), first))


def test_sequences_become_tuples_deeply():
    cfg = ComposeConfig(size=[8, 8], temporal=TemporalConfig(speeds=[1.0, 2.0]),
                        augment=AugmentConfig(easing=EasingConfig(curves=["quad_in"]), aspect_ratio=[0.9, 1.1]))
    assert cfg.size == (8, 8) and cfg.temporal.speeds == (1.0, 2.0)
    assert cfg.augment.easing.curves == ("quad_in",) and cfg.augment.aspect_ratio == (0.9, 1.1)
    assert config.frozen_value([[1, 2], [3]]) == ((1, 2), (3,))
    assert hash(cfg) == hash(ComposeConfig(size=(8, 8), temporal=TemporalConfig(speeds=(1.0, 2.0)),
                                           augment=AugmentConfig(easing=EasingConfig(curves=("quad_in",)))))


@pytest.mark.parametrize(("make", "key"), [
    (lambda: ComposeConfig(augment=AugmentConfig(noise=NoiseConfig(prob=2.0))), "augment.noise.prob"),
    (lambda: ComposeConfig(augment=AugmentConfig(noise=NoiseConfig(grain=(4.0, 1.0)))), "augment.noise.grain"),
    (lambda: ComposeConfig(temporal=TemporalConfig(skip_frames=(0, 2))), "temporal.skip_frames"),
    (lambda: ComposeConfig(size=(0, 4)), "size"),
    (lambda: ComposeConfig(interpolation="area"), "interpolation"),
])
def test_errors_carry_their_key_path(make, key):
    with pytest.raises(ConfigError) as caught:
        make()
    error = caught.value
    assert isinstance(error, RvmDataError) and isinstance(error, ValueError)
    assert error.key == key and str(error).startswith(f"{key}: ")
    back = pickle.loads(pickle.dumps(error))
    assert (back.key, back.problem, str(back)) == (error.key, error.problem, str(error))
