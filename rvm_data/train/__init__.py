"""Training MattingNetwork on rvm-data shards the way RVM does (losses, stages, trainer).

``TrainConfig`` is importable without torch's training machinery, because the recipe loader
needs it to validate a recipe's ``train:`` section; ``train`` is loaded on first use.
"""

from typing import TYPE_CHECKING

from rvm_data.train.config import STAGES, LearningRates, TrainConfig

if TYPE_CHECKING:
    from rvm_data.train.run import train

__all__ = ["STAGES", "LearningRates", "TrainConfig", "train"]


def __getattr__(name: str) -> object:
    if name == "train":
        from rvm_data.train.run import train

        return train
    raise AttributeError(f"module 'rvm_data.train' has no attribute {name!r}")
