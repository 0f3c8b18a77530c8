"""Augmentations: settings (``params``, ``config``), easing curves, temporal sampling, pixel operations
(``ops``), one module per augmentation (``affine_motion``, ``colour``, ``noise``, ``blur``, ``switches``,
``motion_blur``) on the protocol of ``base`` and their ordered ``registry``, which
:mod:`rvm_data.compose` plans and renders."""

from rvm_data.augment.easing import EASINGS, ease
from rvm_data.augment.params import AugmentConfig, imagematte_augment
from rvm_data.augment.temporal import TemporalConfig

__all__ = ["EASINGS", "AugmentConfig", "TemporalConfig", "ease", "imagematte_augment"]
