import pytest

from rvm_data.errors import ConfigError
from rvm_data.train.config import STAGES, TrainConfig


def test_stage_presets_fill_unset_rates():
    assert TrainConfig().learning_rates() == {"backbone": 1e-4, "aspp": 2e-4, "decoder": 2e-4, "project": 2e-4,
                                              "refiner": 0.0}
    s3 = TrainConfig(stage=3)
    assert s3.learning_rates()["refiner"] == 2e-4 and s3.learning_rates()["backbone"] == 1e-5
    assert s3.uses_hr_pass() and not TrainConfig(stage=2).uses_hr_pass()
    assert TrainConfig(stage=4).learning_rates()["decoder"] == 5e-5
    assert [STAGES[s].epochs for s in (1, 2, 3, 4)] == [20, 2, 1, 5]
    custom = TrainConfig(stage=2, lr={"backbone": 0.0, "refiner": 1e-3}, epochs=3)
    assert custom.learning_rates()["backbone"] == 0.0 and custom.learning_rates()["aspp"] == 1e-4
    assert custom.learning_rates()["refiner"] == 1e-3 and custom.total_epochs() == 3


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"stage": 5}, "stage"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_steps": -1}, "max_steps"),
        ({"downsample_ratio": 0.0}, "downsample_ratio"),
        ({"lr": {"decoder": -1.0}}, "lr.decoder"),
        ({"workers": -1}, "workers"),
        ({"variant": "resnet50"}, "variant"),
        ({"seg_video_frames": 0}, "seg_video_frames"),
    ],
)
def test_bad_values_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=f"^{field}: ") as caught:
        TrainConfig(**kwargs)
    assert caught.value.key == field
