"""Plan and render bytes of samples where everything fires, compared with a stored list.

The quickstart's stored shard hashes (tests/build/test_quickstart_hashes.py) rarely see two
augmentations fire together, so a change of render order or of a rarely drawn branch could pass
them. Here every augmentation fires (or fires often), over image and video backgrounds, the
valid split, T=1 samples, pauses, reversal and skips, a replacement attempt, nearest and cubic
interpolation, constant borders, the full blur kernel, aspect jitter and motion blur: the sha256
of each sample's spec JSON and rendered fgr, pha and bgr must equal the stored one, and so must the
members every codec (jpg, webp, png, mp4, mkv) writes for one of them.

Regenerate (only for a deliberate change of what samples are, which also bumps rvm_data's
version): ``python tests/compose/test_render_hashes.py --write``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from engine_sources import write_sources

from rvm_data.augment import AugmentConfig, TemporalConfig
from rvm_data.augment.params import (
    BlurConfig,
    ColorJitterConfig,
    MotionAffineConfig,
    MotionBlurConfig,
    NoiseConfig,
    SharpenConfig,
)
from rvm_data.compose import ComposeConfig, plan_sample, render_sample
from rvm_data.shards.codec import CodecConfig, encode_field
from rvm_data.sources import Catalog

STORED = Path(__file__).with_name("render_hashes.json")
SAMPLES = 8


def configs() -> dict[str, ComposeConfig]:
    move = MotionAffineConfig(prob=1.0)
    everything = dict(fgr_affine=move, bgr_affine=move, camera_affine=move, fgr_color=ColorJitterConfig(prob=1.0),
                      bgr_color=ColorJitterConfig(prob=1.0), noise=NoiseConfig(prob=1.0), blur=BlurConfig(prob=1.0),
                      sharpen=SharpenConfig(prob=0.7), grayscale_prob=0.5, hflip_prob=0.5)
    time = TemporalConfig(pause_prob=0.5, reverse_prob=0.5, skip_prob=0.5)
    return {
        "defaults": ComposeConfig(size=(32, 40), frames=6),
        "everything": ComposeConfig(size=(32, 40), frames=6, temporal=time, augment=AugmentConfig(**everything)),
        "everything-else": ComposeConfig(
            size=(36, 30), frames=5, temporal=time, bgr_border="constant", interpolation="nearest",
            augment=AugmentConfig(**{**everything, "noise": NoiseConfig(prob=1.0, per_layer=False),
                                     "blur": BlurConfig(prob=1.0, kernel="full")}, aspect="jitter",
                                  static_affine=False)),
        "motion-blur": ComposeConfig(size=(32, 48), frames=6, temporal=time, interpolation="cubic",
                                     augment=AugmentConfig(**everything, motion_blur=MotionBlurConfig(prob=1.0))),
        "still": ComposeConfig(size=(32, 40), frames=1, augment=AugmentConfig(**everything)),
    }


def sample_hashes(catalog: Catalog) -> dict[str, str]:
    hashes = {}
    for name, config in configs().items():
        for split, augment in (("train", True), ("valid", False)):
            for index in range(SAMPLES):
                for attempt in (0, 1) if index == 0 else (0,):
                    spec = plan_sample(config, catalog, seed=3, split=split, index=index, augment=augment,
                                       attempt=attempt)
                    rendered = render_sample(spec, catalog)
                    digest = hashlib.sha256(json.dumps(spec.to_dict(), sort_keys=True).encode())
                    for key in ("fgr", "pha", "bgr"):
                        digest.update(rendered[key].tobytes())
                    hashes[f"{name}/{split}/{index}/{attempt}"] = digest.hexdigest()
                    if (name, split, index, attempt) == ("motion-blur", "train", 0, 0):
                        hashes.update(codec_hashes(rendered))
    return hashes


def codec_hashes(rendered: dict[str, np.ndarray]) -> dict[str, str]:
    """The members every codec writes for one sample (the shard format's bytes, beyond quickstart's jpg/png).
    This 32x48 sample is the one whose mp4 differed on CI's machine while libx264's mb-tree was on."""
    out = {}
    for color, alpha in (("jpg", "png"), ("webp", "png"), ("png", "png"), ("mp4", "mkv")):
        codec = CodecConfig(color=color, alpha=alpha)
        for key, field in (("fgr", "fgr"), ("pha", "pha")):
            digest = hashlib.sha256()
            for member, data in encode_field(field, rendered[key], codec):
                digest.update(member.encode() + data)
            out[f"codec/{color}+{alpha}/{key}"] = digest.hexdigest()
    return out


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return write_sources(tmp_path_factory.mktemp("hash_sources"), fg_frames=12, bg_frames=14, images=3, videos=2)


def test_samples_where_everything_fires_have_the_stored_bytes(catalog: Catalog) -> None:
    stored = json.loads(STORED.read_text())
    fresh = sample_hashes(catalog)
    assert set(fresh) == set(stored)
    changed = sorted(k for k in fresh if fresh[k] != stored[k])
    assert not changed, f"{len(changed)} of {len(fresh)} samples changed, e.g. {changed[:5]}"


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        result = sample_hashes(write_sources(Path(folder), fg_frames=12, bg_frames=14, images=3, videos=2))
    STORED.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(result)} sample hashes to {STORED}")
