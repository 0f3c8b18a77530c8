"""Tiny synthetic matting samples for the viewer tests (no sources, no engine needed)."""

from __future__ import annotations

import numpy as np


def make_sample(t: int = 3, h: int = 32, w: int = 48, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "fgr": rng.integers(0, 256, (t, h, w, 3), dtype=np.uint8),
        "pha": rng.integers(0, 256, (t, h, w, 1), dtype=np.uint8),
        "bgr": rng.integers(0, 256, (t, h, w, 3), dtype=np.uint8),
    }


def make_sources(root) -> dict:
    """A tiny on-disk matting set in the VideoMatte / background-image layouts: 2 clips of 5 frames,
    2 background images. Returns the paths a recipe's ``sources`` entry needs."""
    import cv2

    rng = np.random.default_rng(7)
    vm, bgi = root / "vm", root / "bgi"
    yy, xx = np.mgrid[0:40, 0:56]
    for c in range(2):
        for t in range(5):
            for sub in ("fgr", "pha"):
                (vm / sub / f"clip{c}").mkdir(parents=True, exist_ok=True)
            fgr = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
            pha = (((xx - 20 - 2 * t) ** 2 + (yy - 20) ** 2) < 150).astype(np.uint8) * 255
            cv2.imwrite(str(vm / "fgr" / f"clip{c}" / f"{t:05d}.jpg"), fgr)
            cv2.imwrite(str(vm / "pha" / f"clip{c}" / f"{t:05d}.png"), pha)
    bgi.mkdir(parents=True)
    for k in range(2):
        cv2.imwrite(str(bgi / f"bg{k}.jpg"), rng.integers(0, 256, (48, 48, 3), dtype=np.uint8))
    return {"foreground_kind": "videomatte", "foreground": str(vm), "background_images": str(bgi)}


def write_recipe(root, *, frames: int = 3, size: int = 32, samples: int = 3) -> str:
    """A recipe over :func:`make_sources` with every augmentation likely to fire, lossless shards."""
    import yaml

    recipe = {
        "name": "tiny",
        "seed": 1,
        "sources": {"train": make_sources(root)},
        "outputs": {"main": {
            "compose": {"size": [size, size], "frames": frames,
                        "temporal": {"pause_prob": 1.0, "skip_prob": 1.0, "speeds": [1.0]},
                        "augment": {"fgr_affine": {"prob": 1.0}, "camera_affine": {"prob": 1.0},
                                    "fgr_color": {"prob": 1.0}, "noise": {"prob": 1.0}, "blur": {"prob": 1.0}}},
            "samples": {"train": samples}}},
        "shards": {"codec": {"color": "png", "alpha": "png"}, "samples_per_shard": 2},
    }
    path = root / "tiny.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return str(path)
