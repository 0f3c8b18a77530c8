import dataclasses
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from engine_sources import write_sources

import rvm_data.compose as compose
from rvm_data.augment import AugmentConfig, TemporalConfig, geometry
from rvm_data.augment.params import (
    AffineRange,
    BlurConfig,
    ColorJitterConfig,
    MotionAffineConfig,
    NoiseConfig,
    SharpenConfig,
)
from rvm_data.compose import ComposeConfig, SampleSpec, plan_sample, render_sample
from rvm_data.sources import load_matte, readers

SIZE = (40, 48)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("src")


@pytest.fixture(scope="module")
def catalog(root):
    return write_sources(root)


def geometry_only(**changes) -> AugmentConfig:
    """Every geometric augmentation on, every colour one off."""
    on = MotionAffineConfig(prob=1.0, range=AffineRange(degrees=(-30, 30), scale=(0.7, 1.3), shear=(-10, 10)))
    base = dict(fgr_affine=on, bgr_affine=on, camera_affine=on, hflip_prob=0.5, blur=BlurConfig(prob=1.0, sigma=(0, 3)),
                sharpen=SharpenConfig(prob=1.0), fgr_color=ColorJitterConfig(prob=0.0),
                bgr_color=ColorJitterConfig(prob=0.0), noise=NoiseConfig(prob=0.0), grayscale_prob=0.0)
    return AugmentConfig(**{**base, **changes})


def digest(sample) -> str:
    h = hashlib.sha256()
    for key in ("fgr", "pha", "bgr"):
        h.update(sample[key].tobytes())
    h.update(json.dumps(sample["spec"], sort_keys=True).encode())
    return h.hexdigest()


def test_output_shapes_and_types(catalog):
    cfg = ComposeConfig(size=SIZE, frames=3)
    out = render_sample(plan_sample(cfg, catalog, seed=0, split="train", index=0, augment=True), catalog)
    assert out["fgr"].shape == (3, *SIZE, 3) and out["pha"].shape == (3, *SIZE, 1) and out["bgr"].shape == (3, *SIZE, 3)
    for key in ("fgr", "pha", "bgr"):
        assert out[key].dtype == np.uint8 and out[key].flags.c_contiguous
    json.dumps(out["spec"])


def test_alpha_follows_foreground_under_every_geometric_transform(catalog):
    """The source foreground's colour equals its alpha; after warps, flips, camera moves, blur
    and sharpening (all applied to both) it still must, pixel for pixel."""
    cfg = ComposeConfig(size=SIZE, frames=4, augment=geometry_only())
    flips = set()
    for i in range(12):
        spec = plan_sample(cfg, catalog, seed=5, split="train", index=i, augment=True)
        out = render_sample(spec, catalog)
        flips.add(spec.fgr.hflip)
        assert out["pha"].max() > 100, "foreground left the frame"
        for c in range(3):
            np.testing.assert_array_equal(out["fgr"][..., c], out["pha"][..., 0])
    assert flips == {True, False}


def test_color_ops_never_touch_alpha(catalog):
    """Decisions draw from independent generators, so switching colour augmentations on changes
    nothing else: alpha must be bit-identical, colour must differ."""
    loud = dict(fgr_color=ColorJitterConfig(prob=1.0, std=0.5), noise=NoiseConfig(prob=1.0), grayscale_prob=1.0)
    for i in range(4):
        quiet_cfg = ComposeConfig(size=SIZE, frames=3, augment=geometry_only())
        loud_cfg = ComposeConfig(size=SIZE, frames=3, augment=geometry_only(**loud))
        a = render_sample(plan_sample(quiet_cfg, catalog, seed=1, split="train", index=i, augment=True), catalog)
        b = render_sample(plan_sample(loud_cfg, catalog, seed=1, split="train", index=i, augment=True), catalog)
        np.testing.assert_array_equal(a["pha"], b["pha"])
        assert not np.array_equal(a["fgr"], b["fgr"]) and not np.array_equal(a["bgr"], b["bgr"])


def test_grayscale_makes_gray(catalog):
    cfg = ComposeConfig(size=SIZE, frames=2, augment=AugmentConfig(grayscale_prob=1.0))
    out = render_sample(plan_sample(cfg, catalog, seed=0, split="train", index=3, augment=True), catalog)
    for key in ("fgr", "bgr"):
        assert np.abs(out[key].astype(int) - out[key][..., :1]).max() <= 1


_CHILD = """
import hashlib, json, sys
import cv2
cv2.setNumThreads(1)  # the parent uses OpenCV's default thread pool: results must not depend on it
sys.path.insert(0, {here!r})
from engine_sources import write_sources
from pathlib import Path
from rvm_data.compose import ComposeConfig, SampleSpec, render_sample, plan_sample
from rvm_data.sources import SourcesConfig, build_catalog
root = Path({root!r})
catalog = build_catalog(SourcesConfig(foreground=str(root / "fg"), background_videos=str(root / "bgv"),
                                      background_images=str(root / "bgi")))
cfg = ComposeConfig(size={size!r}, frames=4)
for index in {indices!r}:
    out = render_sample(plan_sample(cfg, catalog, seed=9, split="train", index=index, augment=True), catalog)
    h = hashlib.sha256()
    for key in ("fgr", "pha", "bgr"):
        h.update(out[key].tobytes())
    h.update(json.dumps(out["spec"], sort_keys=True).encode())
    print(h.hexdigest())
"""


def test_bit_identical_in_another_process(catalog, root):
    indices = [0, 1, 2, 3, 4, 5]
    cfg = ComposeConfig(size=SIZE, frames=4)
    # render in reverse order here, in order there: order of work must not matter
    here = {i: digest(render_sample(plan_sample(cfg, catalog, seed=9, split="train", index=i, augment=True), catalog))
            for i in reversed(indices)}
    code = _CHILD.format(here=str(Path(__file__).parent), root=str(root), size=SIZE, indices=indices)
    there = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert there == [here[i] for i in indices]


def test_render_from_json_spec_is_identical(catalog):
    cfg = ComposeConfig(size=SIZE, frames=4)
    spec = plan_sample(cfg, catalog, seed=2, split="train", index=7, augment=True)
    again = SampleSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert digest(render_sample(spec, catalog)) == digest(render_sample(again, catalog))
    from_json = json.loads(json.dumps(spec.to_dict()))
    assert digest(render_sample(from_json, catalog)) == digest(render_sample(spec, catalog))


def plain(**temporal) -> ComposeConfig:
    """Augmentation on but only the temporal part: frames show their source unaltered."""
    off = MotionAffineConfig(prob=0.0)
    aug = AugmentConfig(static_affine=False, aspect_ratio=(1.0, 1.0), fgr_affine=off, bgr_affine=off, camera_affine=off,
                        fgr_color=ColorJitterConfig(prob=0.0), bgr_color=ColorJitterConfig(prob=0.0),
                        noise=NoiseConfig(prob=0.0), blur=BlurConfig(prob=0.0), sharpen=SharpenConfig(prob=0.0),
                        grayscale_prob=0.0, hflip_prob=0.0)
    return ComposeConfig(size=SIZE, frames=6, bgr_video_prob=1.0, augment=aug, temporal=TemporalConfig(**temporal))


def test_rendered_frames_are_the_planned_source_frames(catalog):
    """The background video encodes its frame number in red (10 t + 5): check each output frame."""
    cfg = plain(skip_prob=0.5, pause_prob=0.5, speeds=(0.5, 1.0, 1.5))  # 10-frame clips: 2 would not fit
    seen = set()
    for i in range(10):
        spec = plan_sample(cfg, catalog, seed=4, split="train", index=i, augment=True)
        out = render_sample(spec, catalog)
        red = np.median(out["bgr"][..., 0].reshape(cfg.frames, -1), axis=1)
        assert red.tolist() == [10 * f + 5 for f in spec.bgr.source_frames]
        seen |= {spec.bgr.temporal["speed"], spec.bgr.temporal["reversed"], spec.pause is not None}
    assert {0.5, 1.5, True, False} <= seen


def test_pause_freezes_whole_frames(catalog):
    cfg = ComposeConfig(size=SIZE, frames=5, temporal=TemporalConfig(pause_prob=1.0),
                        augment=AugmentConfig(noise=NoiseConfig(prob=1.0), fgr_affine=MotionAffineConfig(prob=1.0)))
    spec = plan_sample(cfg, catalog, seed=0, split="train", index=2, augment=True)
    out = render_sample(spec, catalog)
    start, length = spec.pause["start"], spec.pause["length"]
    for key in ("fgr", "pha", "bgr"):
        for t in range(start + 1, start + length):
            np.testing.assert_array_equal(out[key][t], out[key][start])
    resumed = start + length
    if resumed < cfg.frames:
        assert not np.array_equal(out["bgr"][resumed], out["bgr"][start])


def test_each_distinct_source_frame_decoded_once(catalog, monkeypatch):
    decoded = []

    def spy(read):
        def wrapped(path, *args, **kw):
            decoded.append(path)
            return read(path, *args, **kw)
        return wrapped

    monkeypatch.setattr(readers, "read_color", spy(readers.read_color))
    monkeypatch.setattr(readers, "read_alpha", spy(readers.read_alpha))
    cfg = ComposeConfig(size=SIZE, frames=6, bgr_video_prob=0.0, temporal=TemporalConfig(speeds=(0.5,)))
    spec = plan_sample(cfg, catalog, seed=0, split="train", index=0, augment=True)
    render_sample(spec, catalog)
    fg, bg = catalog.foregrounds[spec.fgr.source["index"]], catalog.background_images[spec.bgr.source["index"]]
    distinct = sorted(set(spec.fgr.source_frames))
    assert len(distinct) < spec.frames  # half speed: frames repeat
    expected = [fg.color.frame_path(i) for i in distinct] + [fg.alpha.frame_path(i) for i in distinct]
    assert sorted(decoded) == sorted(expected + [bg.color.frame_path(0)])  # one decode each, the image once


def test_reduced_decode_is_requested_for_large_sources(catalog):
    spec = plan_sample(ComposeConfig(size=(8, 8), frames=2), catalog, seed=0, split="valid", index=0, augment=False)
    src = spec.bgr.source
    assert geometry.min_decode_size(np.asarray(spec.bgr.matrices), src["height"], src["width"]) is not None
    big = plan_sample(ComposeConfig(size=(400, 400), frames=2), catalog, seed=0, split="valid", index=0, augment=False)
    src = big.bgr.source
    assert geometry.min_decode_size(np.asarray(big.bgr.matrices), src["height"], src["width"]) is None


def test_spec_from_another_catalog_is_refused(catalog):
    spec = plan_sample(ComposeConfig(size=SIZE, frames=2), catalog, seed=0, split="train", index=0, augment=True)
    d = spec.to_dict()
    d["fgr"]["source"]["name"] = "elsewhere"
    with pytest.raises(ValueError, match="no foregrounds clip 'elsewhere'"):
        render_sample(SampleSpec.from_dict(d), catalog)


def test_reduced_decode_gives_the_same_picture(catalog, monkeypatch):
    """A 48x64 foreground rendered at 12x16 is decoded at a quarter size; the picture must match
    an area-downscaled full-size frame (matrices are re-fitted to the decoded size)."""
    sizes = []
    real = compose.iter_matte_packed

    def spy(clip, indices, **kw):
        for positions, packed in real(clip, indices, **kw):
            sizes.append((kw.get("min_size"), packed.shape[:2]))
            yield positions, packed

    monkeypatch.setattr(compose, "iter_matte_packed", spy)
    cfg = ComposeConfig(size=(12, 16), frames=1, augment=AugmentConfig(valid_framing=False))  # the whole source
    spec = plan_sample(cfg, catalog, seed=0, split="valid", index=0, augment=False)
    out = render_sample(spec, catalog)
    assert sizes == [((12, 16), (12, 16))]
    full, _ = load_matte(catalog.foregrounds[0], spec.fgr.source_frames)
    expected = cv2.resize(full[0], (16, 12), interpolation=cv2.INTER_AREA)
    assert np.abs(out["fgr"][0].astype(int) - expected).mean() < 2.0


def test_hflip_mirrors(catalog):
    """Mirrored, up to OpenCV's 1/32-pixel fixed-point sampling (at most one level off)."""
    base = plain()
    flipped = dataclasses.replace(base, augment=dataclasses.replace(base.augment, hflip_prob=1.0))
    a = render_sample(plan_sample(base, catalog, seed=0, split="train", index=1, augment=True), catalog)
    b = render_sample(plan_sample(flipped, catalog, seed=0, split="train", index=1, augment=True), catalog)
    for key in ("fgr", "pha", "bgr"):
        diff = np.abs(b[key].astype(int) - a[key][:, :, ::-1])
        assert diff.max() <= 1 and diff.mean() < 0.01
