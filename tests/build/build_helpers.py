"""Helpers of the build tests: tiny on-disk sources, a tiny recipe, folder comparison."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def write_tiny_sources(root: Path) -> None:
    """Two short videomatte clips per split, one background video, two background images."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:36, 0:48]
    for split in ("train", "valid"):
        for c in range(2):
            for t in range(6):
                alpha = np.clip((14 - np.hypot(xx - 20 - 2 * t - c, yy - 18)) * 40, 0, 255).astype(np.uint8)
                for kind, image in (("fgr", rng.integers(0, 256, (36, 48, 3), dtype=np.uint8)), ("pha", alpha)):
                    folder = root / "vm" / split / kind / f"clip{c}"
                    folder.mkdir(parents=True, exist_ok=True)
                    cv2.imwrite(str(folder / f"{t:05d}.png"), image)
        for t in range(6):
            folder = root / "bgv" / split / "video0"
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"{t:05d}.jpg"), np.full((40, 52, 3), 30 * t, np.uint8))
        for i in range(2):
            folder = root / "bgi" / split
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"image{i}.jpg"), rng.integers(0, 256, (44, 50, 3), dtype=np.uint8))


def tiny_recipe_data(root: Path) -> dict:
    def sources(split: str) -> dict:
        return {"foreground_kind": "videomatte", "foreground": f"{root}/vm/{split}",
                "background_videos": f"{root}/bgv/{split}", "background_images": f"{root}/bgi/{split}"}

    return {
        "name": "tiny",
        "seed": 5,
        "sources": {"train": sources("train"), "valid": sources("valid")},
        "outputs": {"lr": {"compose": {"size": [32, 40], "frames": 2}, "samples": {"train": 10, "valid": 3}},
                    "hr": {"compose": {"size": [48, 48], "frames": 1}, "samples": {"train": 3}}},
        "shards": {"samples_per_shard": 2, "codec": {"color": "jpg", "quality": 90}},
    }


def folder_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path (hidden temporaries included, so leftovers show)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
