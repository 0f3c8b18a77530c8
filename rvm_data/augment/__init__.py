"""Augmentation building blocks: easing curves, temporal sampling, parameter trajectories (plan
side) and pixel operations (render side). :mod:`rvm_data.compose` puts them together."""

from rvm_data.augment.easing import EASINGS, ease
from rvm_data.augment.params import AugmentConfig, imagematte_augment
from rvm_data.augment.temporal import TemporalConfig

__all__ = ["EASINGS", "AugmentConfig", "TemporalConfig", "ease", "imagematte_augment"]
