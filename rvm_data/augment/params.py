"""Augmentation settings and their parameter sampling (plan side, no pixels).

A motion augmentation draws two parameter sets A and B and an easing curve; its value at output
frame t is ``lerp(A, B, easing(progress[t]))``, so the whole trajectory is fixed at plan time
and written into the sample's spec. Defaults are RVM's training values
(``VideoMatteTrainAugmentation`` / ``MotionAugmentation``); :func:`imagematte_augment` gives RVM's
values for still foregrounds (``ImageMatteAugmentation``).

Differences from RVM's code, on purpose:
- saturation uses its own A/B values (RVM passes the brightness values to its saturation change);
- hue turns colours about the grey axis of RGB (a linear map, so all colour changes of a frame
  fold into one matrix) instead of torchvision's HSV shift: greys stay grey, same direction and
  size of change;
- noise grain and strength are eased from A to B too (RVM keeps them fixed per clip; it draws one
  strength per layer, as ``noise.per_layer`` does by default);
- the foreground's contrast pivots about the mean grey of the figure (inside its alpha), not of
  the whole frame with its transparent surroundings;
- blur can be a full Gaussian (``blur.kernel: full``); the default keeps RVM's kernel, cut at
  about one sigma each side, because RVM's sigma range was chosen with that kernel.

Curves that overshoot (back, elastic) carry a parameter past B, or back past A, and keep that
swing; each augmentation's ``clamp`` then cuts the per-frame values only where they would leave
their physical domain (blur sigma and noise strength >= 0, grain >= 1 pixel, colour factors >=
``min_factor``, affine scale > 0, |shear| <= 80 degrees). This happens at plan time, so the
values in the spec are exactly the values render uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from rvm_data.augment.config import Settings, check_choice, check_prob, check_range
from rvm_data.augment.easing import EASINGS, RVM_CURVES, ease
from rvm_data.errors import ConfigError

OMIT_DEFAULT = "omit_default"
"""Field metadata: the recipe's content (and hash) leaves the field out while it equals its default."""

MIN_SCALE = 1e-3
"""Smallest affine scale, drawn or eased: 0 collapses the image to a point, below 0 mirrors it."""
MAX_SHEAR = 80.0
"""Largest |shear| in degrees, drawn or eased: its tangent grows without bound towards 90 degrees
and flips sign past it."""

Values = dict[str, np.ndarray]


class Eased(Protocol):
    """An augmentation whose parameters travel from a drawn set A to a drawn set B."""

    def draw(self, rng: np.random.Generator) -> tuple[dict[str, float], dict[str, float]]: ...

    def clamp(self, values: Values) -> Values:
        """Per-frame values cut to the physical domain of each parameter, and nothing more."""
        ...


@dataclass(frozen=True)
class AffineRange(Settings):
    """Ranges of a random affine, torchvision ``RandomAffine`` style: rotation in degrees,
    translation as a fraction of the image width/height, scale factor, x shear in degrees."""

    degrees: tuple[float, float] = (-10.0, 10.0)
    translate: tuple[float, float] = (0.1, 0.1)
    scale: tuple[float, float] = (0.9, 1.1)
    shear: tuple[float, float] = (-5.0, 5.0)

    def validate(self, path: str) -> None:
        check_range(self.degrees, f"{path}.degrees")
        check_range(self.scale, f"{path}.scale", lo=MIN_SCALE)
        check_range(self.shear, f"{path}.shear", lo=-MAX_SHEAR)
        if self.shear[1] > MAX_SHEAR:
            raise ConfigError(f"{path}.shear",
                              f"must be within (-{MAX_SHEAR:g}, {MAX_SHEAR:g}) degrees, got {self.shear}")
        if len(self.translate) != 2 or min(self.translate) < 0:
            raise ConfigError(f"{path}.translate", f"must be two fractions >= 0, got {self.translate}")

    def draw(self, rng: np.random.Generator) -> dict[str, float]:
        return {
            "angle": float(rng.uniform(*self.degrees)),
            "translate_x": float(rng.uniform(-self.translate[0], self.translate[0])),
            "translate_y": float(rng.uniform(-self.translate[1], self.translate[1])),
            "scale": float(rng.uniform(*self.scale)),
            "shear_x": float(rng.uniform(*self.shear)),
            "shear_y": 0.0,
        }


@dataclass(frozen=True)
class MotionAffineConfig(Settings):
    """An affine that moves over the clip from parameter set A to B."""

    prob: float = 0.3
    range: AffineRange = field(default_factory=AffineRange)

    def validate(self, path: str) -> None:
        check_prob(self.prob, f"{path}.prob")

    def draw(self, rng: np.random.Generator) -> tuple[dict[str, float], dict[str, float]]:
        return self.range.draw(rng), self.range.draw(rng)

    def clamp(self, values: Values) -> Values:
        return clamp_affine(values)


def clamp_affine(values: Values) -> Values:
    """Angle and translation are valid at any value; scale and shear are not."""
    return {**values, "scale": np.maximum(values["scale"], MIN_SCALE),
            "shear_x": np.clip(values["shear_x"], -MAX_SHEAR, MAX_SHEAR)}


@dataclass(frozen=True)
class ColorJitterConfig(Settings):
    """Eased colour drift. Brightness, contrast and saturation factors are ``1 + N(0, std)``
    (floored at ``min_factor``); hue shift is ``N(0, std) * hue_scale`` turns of the colour wheel.

    ``drift``: how far along the way from the drawn A to the drawn B a clip travels, a fraction
    drawn uniformly from this range per clip. RVM's ``U(0, 0.2)`` is the default (its clips move at
    most a fifth of the way, so colour changes slowly within a clip, as under real lighting);
    ``(1, 1)`` travels the whole way (rvm-data's earlier behaviour, 6-11x more temporal change).
    The recorded ``b`` is the end point actually reached, ``A + drift (B - A)``.
    """

    prob: float = 0.3
    std: float = 0.1
    hue_scale: float = 0.1
    min_factor: float = 0.1
    drift: tuple[float, float] = (0.0, 0.2)

    def validate(self, path: str) -> None:
        check_prob(self.prob, f"{path}.prob")
        if self.std < 0 or self.hue_scale < 0 or self.min_factor < 0:
            raise ConfigError(path, "std, hue_scale and min_factor must be >= 0")
        check_range(self.drift, f"{path}.drift", lo=0.0)
        if self.drift[1] > 1.0:
            raise ConfigError(f"{path}.drift", f"must be fractions within [0, 1], got {self.drift}")

    def draw_drift(self, rng: np.random.Generator, a: dict[str, float],
                   b: dict[str, float]) -> tuple[float, dict[str, float]]:
        """The clip's drift fraction and the end point it reaches (``b`` itself at drift 1)."""
        d = float(rng.uniform(*self.drift))
        return d, (b if d == 1.0 else {k: a[k] + (b[k] - a[k]) * d for k in a})

    def draw(self, rng: np.random.Generator) -> tuple[dict[str, float], dict[str, float]]:
        a, b = (
            {
                "brightness": 1.0 + float(rng.normal(0.0, self.std)),
                "contrast": 1.0 + float(rng.normal(0.0, self.std)),
                "saturation": 1.0 + float(rng.normal(0.0, self.std)),
                "hue": float(rng.normal(0.0, self.std)) * self.hue_scale,
            }
            for _ in range(2)
        )
        return a, b

    def clamp(self, values: Values) -> Values:
        """Factors floored at ``min_factor`` (>= 0: a negative factor inverts the image), hue kept
        within half a turn either way."""
        out = {k: np.maximum(values[k], self.min_factor) for k in ("brightness", "contrast", "saturation")}
        out["hue"] = np.clip(values["hue"], -0.5, 0.5)
        return out


@dataclass(frozen=True)
class NoiseConfig(Settings):
    """Gaussian grain added to foreground and background (not alpha): grain size in output
    pixels, standard deviation ``U(0, strength) / grain`` (in units of full scale), one channel
    (monochrome) with ``mono_prob``, else independent per colour channel.

    ``per_layer``: the background draws a strength of its own (``bgr_strength``), as RVM does (one
    ``random()`` per layer, grain and monochrome shared); False shares one strength between both
    layers (rvm-data's earlier behaviour).
    """

    prob: float = 0.1
    grain: tuple[float, float] = (1.0, 4.0)
    strength: float = 0.2
    mono_prob: float = 0.5
    per_layer: bool = True

    def validate(self, path: str) -> None:
        check_prob(self.prob, f"{path}.prob")
        check_prob(self.mono_prob, f"{path}.mono_prob")
        check_range(self.grain, f"{path}.grain", lo=1.0)
        if self.strength < 0:
            raise ConfigError(f"{path}.strength", f"must be >= 0, got {self.strength}")

    def draw(self, rng: np.random.Generator) -> tuple[dict[str, float], dict[str, float]]:
        return self._draw_one(rng), self._draw_one(rng)

    def _draw_one(self, rng: np.random.Generator) -> dict[str, float]:
        grain = float(rng.uniform(*self.grain))
        return {"grain": grain, "strength": float(rng.uniform(0.0, self.strength)) / grain}

    def draw_bgr(self, rng: np.random.Generator, a: dict[str, float],
                 b: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
        """A and B with the background's own strength added, each for the grain of its set."""
        return tuple({**s, "bgr_strength": float(rng.uniform(0.0, self.strength)) / s["grain"]}
                     for s in (a, b))  # type: ignore[return-value]

    def clamp(self, values: Values) -> Values:
        """Grain of at least one output pixel (finer grain has no pixels to show it; render divides
        the frame size by it), strengths >= 0 (standard deviations)."""
        return {k: np.maximum(v, 1.0) if k == "grain" else np.maximum(v, 0.0) for k, v in values.items()}


BLUR_KERNELS = ("rvm", "full")


@dataclass(frozen=True)
class BlurConfig(Settings):
    """Eased Gaussian blur with sigma (output pixels) from ``sigma``. As in RVM, ``prob`` is split
    into three equal independent chances: foreground only (with alpha), background only, both.

    ``kernel``: ``rvm`` = RVM's kernel width ``int(2 sigma)`` (made odd), ``full`` = a complete
    Gaussian (``int(3.5 sigma) * 2 + 1`` taps, as PIL).
    """

    prob: float = 0.02
    sigma: tuple[float, float] = (0.0, 10.0)
    kernel: str = "rvm"

    def validate(self, path: str) -> None:
        check_prob(self.prob, f"{path}.prob")
        check_range(self.sigma, f"{path}.sigma", lo=0.0)
        check_choice(self.kernel, BLUR_KERNELS, f"{path}.kernel")

    def draw(self, rng: np.random.Generator) -> tuple[dict[str, float], dict[str, float]]:
        return {"sigma": float(rng.uniform(*self.sigma))}, {"sigma": float(rng.uniform(*self.sigma))}

    def clamp(self, values: Values) -> Values:
        """Sigma >= 0 (0: no blur)."""
        return {"sigma": np.maximum(values["sigma"], 0.0)}


@dataclass(frozen=True)
class SharpenConfig(Settings):
    """torchvision-style ``adjust_sharpness`` on fgr, pha and bgr with a per-clip factor
    (0 = smoothed, 1 = unchanged, > 1 sharper)."""

    prob: float = 0.1
    factor: tuple[float, float] = (0.0, 8.0)

    def validate(self, path: str) -> None:
        check_prob(self.prob, f"{path}.prob")
        check_range(self.factor, f"{path}.factor", lo=0.0)


@dataclass(frozen=True)
class MotionBlurConfig(Settings):
    """``prob`` of a sample getting motion blur; its ``shutter`` (fraction of the frame interval the
    shutter is open, drawn uniformly from this range per sample, at most 1); ``samples``: sub-frame
    times averaged per frame (more: smoother on long blurs, slower)."""

    prob: float = 0.0
    shutter: tuple[float, float] = (0.2, 0.6)
    samples: int = 8

    def validate(self, path: str) -> None:
        check_prob(self.prob, f"{path}.prob")
        check_range(self.shutter, f"{path}.shutter", lo=0.0)
        if self.shutter[1] > 1.0:
            raise ConfigError(f"{path}.shutter", f"must be fractions of the frame interval within [0, 1], "
                              f"got {self.shutter}")
        if isinstance(self.samples, bool) or not isinstance(self.samples, int) or self.samples < 2:
            raise ConfigError(f"{path}.samples", f"must be an integer >= 2, got {self.samples!r}")


NONLINEAR_EASINGS: tuple[str, ...] = RVM_CURVES
"""The default curve set: RVM's 31 (the Penner variants of back and bounce are opt-in)."""


@dataclass(frozen=True)
class EasingConfig(Settings):
    """How a motion augmentation picks its curve: ``linear`` with ``linear_prob``, otherwise
    uniformly among ``curves`` (RVM: 0.2, then one of 30 in/out curves and a step)."""

    linear_prob: float = 0.2
    curves: tuple[str, ...] = NONLINEAR_EASINGS

    def validate(self, path: str) -> None:
        check_prob(self.linear_prob, f"{path}.linear_prob")
        unknown = [c for c in self.curves if c not in EASINGS]
        if unknown:
            raise ConfigError(f"{path}.curves", f"unknown easing {unknown[0]!r}; known: {', '.join(sorted(EASINGS))}")
        if not self.curves and self.linear_prob < 1.0:
            raise ConfigError(f"{path}.curves", "is empty but linear_prob < 1")

    def draw(self, rng: np.random.Generator) -> str:
        if not self.curves or rng.random() < self.linear_prob:
            return "linear"
        return self.curves[int(rng.integers(len(self.curves)))]


ASPECT_MODES = ("rvm", "jitter")


@dataclass(frozen=True)
class AugmentConfig(Settings):
    """Random augmentation of a training sample; every default is RVM's (VideoMatte training).

    RVM's single background-affine probability 0.3 is split, as its code does, into a background
    -only move (``bgr_affine``) and a move of foreground and background together (``camera_affine``,
    applied here in output space so both layers move as one, like a real camera).

    Framing: the static per-clip affine and the aspect crop (below) make how big and where the
    figure sits. ``valid_framing`` (default True, as RVM's ``VideoMatteValidAugmentation``, whose
    ``static_affine`` stays on) gives samples planned with ``augment=False`` the same static affine
    and aspect crop, drawn from the sample's own seed, so validation is framed like training; motion,
    flips, colour and time stay off. False frames them as the whole source (the earlier behaviour:
    figures about 1.3x larger than in training).

    ``aspect`` picks the crop that takes a source to the output's aspect, ``aspect_ratio`` = (lo, hi)
    bounding how much the source may be squeezed. ``rvm`` (default) is what RVM's
    ``RandomResizedCrop.get_params(scale=(1, 1), ratio=(lo, hi))`` does: a crop of the whole area
    at a ratio other than the source's never fits, so it always falls back to the centred crop at
    the source's own ratio clamped to (lo, hi) (a 16:9 source is cut to 1.1 and squeezed by 1/1.1
    into a square, a portrait one cut to 0.9); this keeps as much of the source as possible.
    ``jitter`` draws the ratio log-uniformly in (lo, hi) per clip and takes the largest centred crop
    (more variety of squeeze, crops more of wide sources). The output aspect counts as 1: a ratio
    is relative to ``size``'s.

    ``motion_blur`` (off by default, not RVM's): blur along the foreground's own trajectory, see
    :mod:`rvm_data.augment.motion_blur`.
    """

    static_affine: bool = True
    fgr_static: AffineRange = field(default_factory=lambda: AffineRange(scale=(0.5, 1.0)))
    bgr_static: AffineRange = field(default_factory=lambda: AffineRange(scale=(1.0, 1.5)))
    valid_framing: bool = True
    aspect: str = "rvm"
    aspect_ratio: tuple[float, float] = (0.9, 1.1)
    fgr_affine: MotionAffineConfig = field(default_factory=MotionAffineConfig)
    bgr_affine: MotionAffineConfig = field(default_factory=lambda: MotionAffineConfig(prob=0.15))
    camera_affine: MotionAffineConfig = field(default_factory=lambda: MotionAffineConfig(prob=0.15))
    fgr_color: ColorJitterConfig = field(default_factory=ColorJitterConfig)
    bgr_color: ColorJitterConfig = field(default_factory=ColorJitterConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    blur: BlurConfig = field(default_factory=BlurConfig)
    sharpen: SharpenConfig = field(default_factory=SharpenConfig)
    grayscale_prob: float = 0.02
    hflip_prob: float = 0.5
    easing: EasingConfig = field(default_factory=EasingConfig)
    # added after version 1: off by default, and left out of the recipe's content (and hash) while
    # it equals its default, so every existing recipe keeps its hash and its shards
    motion_blur: MotionBlurConfig = field(default_factory=MotionBlurConfig, metadata={OMIT_DEFAULT: True})

    def validate(self, path: str) -> None:
        check_range(self.aspect_ratio, f"{path}.aspect_ratio", lo=1e-3)
        check_choice(self.aspect, ASPECT_MODES, f"{path}.aspect")
        check_prob(self.grayscale_prob, f"{path}.grayscale_prob")
        check_prob(self.hflip_prob, f"{path}.hflip_prob")


def imagematte_augment() -> AugmentConfig:
    """RVM's values for still foregrounds (``ImageMatteAugmentation``): they get artificial motion."""
    return AugmentConfig(
        fgr_affine=MotionAffineConfig(prob=0.95),
        noise=NoiseConfig(prob=0.05),
        grayscale_prob=0.03,
        sharpen=SharpenConfig(prob=0.05),
    )


def crop_aspect(mode: str, ratio: tuple[float, float], source_hw: tuple[int, int],
                size_hw: tuple[int, int], jitter: float) -> float:
    """The crop's aspect factor relative to the output's (1 = the output's own aspect).

    ``jitter`` is the log-uniform draw in ``ratio``, used as is by ``jitter`` mode; ``rvm`` mode
    clamps the source's own aspect (relative to the output's) into ``ratio``."""
    if mode == "jitter":
        return jitter
    relative = (source_hw[1] / source_hw[0]) / (size_hw[1] / size_hw[0])
    return float(min(max(relative, ratio[0]), ratio[1]))


def trajectory(a: dict[str, float], b: dict[str, float], easing: str, progress: np.ndarray) -> Values:
    """Per-frame values ``lerp(a, b, easing(progress))`` for every key of ``a``."""
    w = ease(easing, progress)
    return {k: a[k] + (b[k] - a[k]) * w for k in a}
