"""plan_seg_sample: every random choice of one segmentation sample, as plain data (no pixels).

Like the matting plan, each decision (which item, which frames, geometry, colour, switches) has
its own generator seeded by ``(seed, split, index, decision)``, so a sample is the same whatever
else is built beside it. Items are visited like epochs: sample ``index`` shows item
``permutation_p[index % n]`` of pass ``p = index // n``, so every image is seen once per pass
(RVM's shuffled sampler) rather than some twice and some never.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from rvm_data.augment import geometry
from rvm_data.augment.temporal import plan_stream_frames
from rvm_data.compose import check_keys, decision_rng
from rvm_data.segmentation.config import SegAugment, SegOutputConfig
from rvm_data.segmentation.readers import SegCatalog

SEG_SPEC_VERSION = 1


def _rng(seed: int, split: str, index: int, decision: str) -> np.random.Generator:
    """The matting plan's per-decision generator, with decision names of their own ("seg.*")."""
    return decision_rng(seed, split, index, f"seg.{decision}")


@lru_cache(maxsize=8)
def _permutation(seed: int, split: str, epoch: int, n: int) -> np.ndarray:
    return _rng(seed, split, epoch, "items").permutation(n)


@dataclass
class SegSampleSpec:
    """What render needs and a viewer shows: the item, its frames, one geometry for the clip.

    ``matrix`` (2 x 3) maps the item's pixels at its catalogued size to output pixels; it is
    composed of ``affine`` (angle, translate in pixels, x shear), the resized ``crop``
    (x0, y0, h, w in source pixels) and ``hflip``. ``color`` holds the jitter factors (or None),
    applied to every frame alike.
    """

    seed: int
    split: str
    index: int
    augment: bool
    size: list[int]
    frames: int
    item: dict[str, Any]
    source_frames: list[int]
    temporal: dict[str, Any] | None
    affine: dict[str, float] | None
    crop: list[float]
    hflip: bool
    matrix: list[list[float]]
    color: dict[str, float] | None
    grayscale: bool
    mask_resample: str
    kind: str = "segmentation"
    version: int = SEG_SPEC_VERSION

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SegSampleSpec:
        where = f"segmentation spec (split {d.get('split')!r}, index {d.get('index')!r})"
        if d.get("version") != SEG_SPEC_VERSION or d.get("kind") != "segmentation":
            raise ValueError(f"{where}: not a version {SEG_SPEC_VERSION} segmentation spec")
        check_keys(d, cls, where)
        return cls(**d)


def random_resized_crop(
    rng: np.random.Generator, height: int, width: int, scale: tuple[float, float], ratio: tuple[float, float]
) -> tuple[int, int, int, int]:
    """torchvision's RandomResizedCrop box (x0, y0, h, w): ten tries at an area fraction in
    ``scale`` and a log-uniform aspect in ``ratio``, else the whole image clamped to ``ratio``."""
    area = height * width
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(log_lo, log_hi))
        w = round(math.sqrt(target * aspect))
        h = round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            return int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1)), h, w
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, round(width / ratio[0])
    elif in_ratio > ratio[1]:
        h, w = height, round(height * ratio[1])
    else:
        h, w = height, width
    return (width - w) // 2, (height - h) // 2, h, w


def _draw_affine(rng: np.random.Generator, aug: SegAugment, height: int, width: int) -> dict[str, float] | None:
    """torchvision's RandomAffine parameters (scale 1, x shear only), translation in whole pixels."""
    if rng.random() >= aug.affine_prob:
        return None
    angle = float(rng.uniform(*aug.degrees))
    tx = float(round(rng.uniform(-1, 1) * aug.translate[0] * width))
    ty = float(round(rng.uniform(-1, 1) * aug.translate[1] * height))
    shear = float(rng.uniform(*aug.shear))
    return {"angle": angle, "translate_x": tx, "translate_y": ty, "shear_x": shear}


def _draw_color(rng: np.random.Generator, aug: SegAugment) -> dict[str, float] | None:
    if not (aug.brightness or aug.contrast or aug.saturation or aug.hue):
        return None

    def factor(x: float) -> float:
        return float(rng.uniform(max(0.0, 1.0 - x), 1.0 + x))

    return {
        "brightness": factor(aug.brightness),
        "contrast": factor(aug.contrast),
        "saturation": factor(aug.saturation),
        "hue": float(rng.uniform(-aug.hue, aug.hue)),
    }


def plan_seg_sample(
    config: SegOutputConfig, catalog: SegCatalog, *, seed: int, split: str, index: int, augment: bool
) -> SegSampleSpec:
    """Plan segmentation sample ``index`` of ``split``. ``augment=False``: a centre crop to the
    output's aspect, no flip, no colour change, frames at speed 1."""
    if index < 0 or seed < 0:
        raise ValueError(f"seed and index must be >= 0, got seed={seed}, index={index}")
    n = len(catalog.items)
    if n == 0:
        raise ValueError("segmentation catalog has no items")
    assert config.augmentation is not None  # filled in by SegOutputConfig
    aug = config.augmentation.resolved()
    k = int(_permutation(int(seed), split, index // n, n)[index % n])
    item = catalog.items[k]
    height, width = item.height, item.width
    out_h, out_w = config.size

    frames, temporal = plan_stream_frames(_rng(seed, split, index, "time"), aug.temporal, config.frames,
                                          item.frames, augment)
    geo = _rng(seed, split, index, "geometry")
    affine = _draw_affine(geo, aug, height, width) if augment else None
    box: tuple[float, float, float, float]  # whole pixels when drawn, fractional when centred
    if augment:
        box = random_resized_crop(geo, height, width, aug.crop_scale, aug.crop_ratio)
    else:
        box = geometry.center_crop((height, width), out_w / out_h)
    x0, y0, ch, cw = box
    switches = _rng(seed, split, index, "switches")
    hflip = bool(augment and switches.random() < aug.hflip_prob)
    grayscale = bool(augment and switches.random() < aug.grayscale_prob)
    color = _draw_color(_rng(seed, split, index, "color"), aug) if augment else None

    m = geometry.resize((ch, cw), (out_h, out_w), offset=(x0, y0))
    if affine is not None:
        m = geometry.matmul(m, geometry.affine(((width - 1) / 2.0, (height - 1) / 2.0), angle=affine["angle"],
                                               translate=(affine["translate_x"], affine["translate_y"]),
                                               shear=(affine["shear_x"], 0.0)))
    if hflip:
        m = geometry.matmul(geometry.hflip(out_w), m)
    return SegSampleSpec(
        seed=int(seed), split=split, index=int(index), augment=bool(augment), size=[out_h, out_w],
        frames=config.frames,
        item={"index": k, "name": item.name, "frames": item.frames, "height": height, "width": width},
        source_frames=[int(f) for f in frames], temporal=temporal, affine=affine,
        crop=[float(x0), float(y0), float(ch), float(cw)], hflip=hflip,
        matrix=[[float(v) for v in row] for row in m[:2]], color=color, grayscale=grayscale,
        mask_resample=aug.mask_resample,
    )
