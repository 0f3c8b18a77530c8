"""The reference network that consumes rvm-data's shards: RVM's MattingNetwork (MobileNetV3-Large)."""

from rvm_data.model.mobilenetv3 import MobileNetV3LargeEncoder, load_torchvision_weights
from rvm_data.model.network import (
    MattingNetwork,
    StateEntry,
    load_checkpoint,
    read_state_dict,
    state_dict_spec,
)

__all__ = [
    "MattingNetwork",
    "MobileNetV3LargeEncoder",
    "StateEntry",
    "load_checkpoint",
    "load_torchvision_weights",
    "read_state_dict",
    "state_dict_spec",
]
