"""The ``segmentation:`` section of a recipe: which person-segmentation sets, how samples are made.

RVM trains its network on person segmentation between matting steps: still images (COCO
panoptic, Supervisely Person) as sequences of one frame, and YouTubeVIS clips. The augmentation
defaults are RVM's: for images its COCO training augmentation (affine, resized crop, flip, mild
colour jitter), for clips its YouTubeVIS augmentation (resized crop, stronger jitter, grayscale,
flip, the clip's own frames at speed 1).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from rvm_data.augment.config import check_prob
from rvm_data.augment.temporal import TemporalConfig
from rvm_data.errors import ConfigError

SourceKind = Literal["coco_panoptic", "supervisely", "youtubevis", "builtin"]
_PATH_FIELDS = ("images", "masks", "annotations", "root")
_NEEDS: dict[str, tuple[str, ...]] = {
    "coco_panoptic": ("images", "masks", "annotations"),
    "supervisely": ("images", "masks"),
    "youtubevis": ("images", "annotations"),
    "builtin": (),
}


@dataclass(frozen=True)
class SegSourceConfig:
    """One segmentation data set.

    - ``coco_panoptic``: ``images`` (the jpg folder), ``masks`` (the panoptic PNG folder),
      ``annotations`` (the panoptic JSON).
    - ``supervisely``: ``images`` and ``masks`` folders, paired by file stem.
    - ``youtubevis``: ``images`` (the JPEGImages folder the JSON's file names are relative to),
      ``annotations`` (the instances JSON with RLE segmentations).
    - ``builtin``: foregrounds of the built-in sample set (or of ``root`` laid out like it)
      composited over its backgrounds; the mask is ``alpha > threshold``. ``split`` picks the
      sample set's split, ``foreground_kind`` its video or image mattes (over background videos
      or images).

    ``categories`` lists the category ids whose pixels are the mask; empty means the category named
    "person" in the JSON. COCO items are the images with a segment of the first listed category
    (RVM: ``[1, 27, 32]``, images with a person, masks that add the backpack and tie they carry).
    """

    kind: SourceKind
    images: str | None = None
    masks: str | None = None
    annotations: str | None = None
    root: str | None = None
    categories: tuple[int, ...] = ()
    split: str = "train"
    foreground_kind: Literal["videomatte", "imagematte"] = "videomatte"
    threshold: int = 127

    def __post_init__(self) -> None:
        missing = [name for name in _NEEDS[self.kind] if not getattr(self, name)]
        if missing:
            raise ConfigError("", f"a {self.kind} source needs {', '.join(missing)}")
        if not 0 <= self.threshold < 255:
            raise ConfigError("threshold", f"must be in [0, 254], got {self.threshold}")

    def with_paths(self, expand: Callable[[str], str]) -> SegSourceConfig:
        """A copy with every path passed through ``expand`` (e.g. the recipe's ``${VAR}`` expansion)."""
        paths: dict[str, Any] = {name: expand(getattr(self, name)) for name in _PATH_FIELDS if getattr(self, name)}
        return dataclasses.replace(self, **paths)


def _range(value: tuple[float, float], path: str, lo: float, hi: float) -> None:
    a, b = value
    if not lo <= a <= b <= hi:
        raise ConfigError(path, f"must be (a, b) with {lo} <= a <= b <= {hi}, got {value}")


PRESETS: dict[str, dict[str, Any]] = {
    # RVM's CocoPanopticTrainAugmentation (used for Supervisely Person too)
    "image": dict(
        affine_prob=1.0, degrees=(-20.0, 20.0), translate=(0.1, 0.1), shear=(-10.0, 10.0),
        crop_scale=(0.5, 1.0), crop_ratio=(0.7, 1.3), hflip_prob=0.5,
        brightness=0.1, contrast=0.1, saturation=0.1, hue=0.1, grayscale_prob=0.0, mask_resample="nearest",
    ),
    # RVM's YouTubeVISAugmentation (its bilinear mask resize is thresholded back to 0/255 here)
    "video": dict(
        affine_prob=0.0, degrees=(-20.0, 20.0), translate=(0.1, 0.1), shear=(-10.0, 10.0),
        crop_scale=(0.8, 1.0), crop_ratio=(0.9, 1.1), hflip_prob=0.5,
        brightness=0.3, contrast=0.3, saturation=0.3, hue=0.15, grayscale_prob=0.05, mask_resample="threshold",
    ),
}
"""Each preset's values; RVM's video sampler (speed 1, reversed half the time, no pause) for both."""


@dataclass(frozen=True)
class SegAugment:
    """A :class:`SegAugmentConfig` with its preset applied: every field set (what the plan draws from)."""

    affine_prob: float
    degrees: tuple[float, float]
    translate: tuple[float, float]
    shear: tuple[float, float]
    crop_scale: tuple[float, float]
    crop_ratio: tuple[float, float]
    hflip_prob: float
    brightness: float
    contrast: float
    saturation: float
    hue: float
    grayscale_prob: float
    mask_resample: Literal["nearest", "threshold"]
    temporal: TemporalConfig


@dataclass(frozen=True)
class SegAugmentConfig:
    """Augmentation of one segmentation sample: RVM's ``preset`` with any field set on top of it.

    ``preset`` is "image" or "video"; left out, the output picks it (``frames == 1``: image), so a
    recipe can change one value (``augmentation: {grayscale_prob: 0}``) of the right preset.

    Geometry is one transform for the whole clip: an optional affine (``affine_prob``; rotation
    ``degrees``, translation ``translate`` as a fraction of the size, horizontal ``shear`` in
    degrees), a resized crop (area fraction ``crop_scale``, width/height ``crop_ratio``) to the
    output size, a horizontal flip. Then colour jitter (brightness, contrast, saturation factors
    drawn from [1 - x, 1 + x], hue shift from [-hue, hue] of the colour circle, as torchvision's
    ColorJitter draws them; applied in its brightness, contrast, saturation, hue order as one
    colour matrix, ENGINE's, rather than in ColorJitter's random order) and grayscale. Masks are
    resampled without blending: ``nearest`` or ``threshold`` (bilinear, then >= 50 %).
    """

    preset: Literal["image", "video"] | None = None
    affine_prob: float | None = None
    degrees: tuple[float, float] | None = None
    translate: tuple[float, float] | None = None
    shear: tuple[float, float] | None = None
    crop_scale: tuple[float, float] | None = None
    crop_ratio: tuple[float, float] | None = None
    hflip_prob: float | None = None
    brightness: float | None = None
    contrast: float | None = None
    saturation: float | None = None
    hue: float | None = None
    grayscale_prob: float | None = None
    mask_resample: Literal["nearest", "threshold"] | None = None
    temporal: TemporalConfig | None = None

    def __post_init__(self) -> None:
        if self.preset is None:
            return  # resolved by the output (SegOutputConfig), which knows its frame count
        for name, value in PRESETS[self.preset].items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        if self.temporal is None:
            object.__setattr__(self, "temporal", TemporalConfig(speeds=(1.0,), reverse_prob=0.5, pause_prob=0.0))
        aug = self.resolved()
        for name in ("affine_prob", "hflip_prob", "grayscale_prob"):
            check_prob(getattr(aug, name), f"augmentation.{name}")
        _range(aug.degrees, "augmentation.degrees", -180.0, 180.0)
        _range(aug.shear, "augmentation.shear", -89.0, 89.0)
        _range(aug.crop_scale, "augmentation.crop_scale", 1e-6, 1.0)
        _range(aug.crop_ratio, "augmentation.crop_ratio", 1e-6, 1e6)
        for i, t in enumerate(aug.translate):
            if not 0.0 <= t <= 1.0:
                raise ConfigError(f"augmentation.translate[{i}]", f"must be in [0, 1], got {t}")
        for name in ("brightness", "contrast", "saturation"):
            if not 0.0 <= getattr(aug, name) < 1.0:
                raise ConfigError(f"augmentation.{name}", f"must be in [0, 1), got {getattr(aug, name)}")
        if not 0.0 <= aug.hue <= 0.5:
            raise ConfigError("augmentation.hue", f"must be in [0, 0.5], got {aug.hue}")
        aug.temporal.validate("augmentation.temporal")

    def resolved(self) -> SegAugment:
        """The values with the preset applied, typed as set (a config without a preset has none yet)."""
        if self.preset is None:
            raise ValueError("augmentation has no preset yet (the output picks it from its frame count)")
        return SegAugment(**{f.name: getattr(self, f.name) for f in dataclasses.fields(SegAugment)})


IMAGE_AUGMENT = SegAugmentConfig(preset="image")
VIDEO_AUGMENT = SegAugmentConfig(preset="video")


@dataclass(frozen=True)
class SegOutputConfig:
    """One set of segmentation shards: output size, frames per sample, samples per split.

    ``augmentation`` (or its ``preset``) left out takes RVM's preset for images (``frames == 1``)
    or clips.
    Splits not in ``augment`` get no augmentation: a centre crop to the output's aspect, resized,
    frames from speed 1.
    """

    size: tuple[int, int] = (512, 512)
    frames: int = 1
    samples: dict[str, int] = field(default_factory=dict)
    augment: tuple[str, ...] = ("train",)
    augmentation: SegAugmentConfig | None = None

    def __post_init__(self) -> None:
        if min(self.size) < 1:
            raise ConfigError("size", f"must be two positive integers (height, width), got {self.size}")
        if self.frames < 1:
            raise ConfigError("frames", f"must be >= 1, got {self.frames}")
        for split, count in self.samples.items():
            if count < 0:
                raise ConfigError(f"samples.{split}", f"must be >= 0, got {count}")
        aug = self.augmentation or SegAugmentConfig()
        if aug.preset is None:
            aug = dataclasses.replace(aug, preset="image" if self.frames == 1 else "video")
        object.__setattr__(self, "augmentation", aug)


@dataclass(frozen=True)
class SegmentationConfig:
    """The recipe section: sources per split and the outputs made from them."""

    sources: dict[str, tuple[SegSourceConfig, ...]]
    outputs: dict[str, SegOutputConfig]

    def __post_init__(self) -> None:
        if not self.outputs:
            raise ConfigError("segmentation.outputs", "at least one output is needed")
        for name, out in self.outputs.items():
            for split in [*out.samples, *out.augment]:
                if split not in self.sources:
                    known = ", ".join(self.sources) or "none"
                    raise ConfigError(f"segmentation.outputs.{name}",
                                      f"split {split!r} has no sources (sources has: {known})")
        for split, sources in self.sources.items():
            if not sources:
                raise ConfigError(f"segmentation.sources.{split}", "at least one source is needed")
