"""Tiny on-disk sources for the engine's tests: frame folders written with OpenCV.

The foreground's colour encodes its own alpha (every channel equals alpha, PNG so nothing is
lost), so any misalignment between fgr and pha after rendering shows up as a mismatch.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from rvm_data.sources import Catalog, SourcesConfig, build_catalog


def soft_disc(height: int, width: int, cx: float, cy: float, radius: float) -> np.ndarray:
    """A disc with a soft edge, zero near the image border."""
    y, x = np.mgrid[0:height, 0:width]
    d = np.hypot(x - cx, y - cy)
    return np.clip((radius - d) / 4.0 * 255.0, 0, 255).astype(np.uint8)


def write_sources(root: Path, fg_frames: int = 8, bg_frames: int = 10, fg_size=(48, 64), bg_size=(60, 80),
                  image_size=(50, 70), images: int = 2, videos: int = 1) -> Catalog:
    h, w = fg_size
    for t in range(fg_frames):
        alpha = soft_disc(h, w, w / 2 + t, h / 2, min(h, w) / 3)
        for kind, image in (("fgr", np.dstack([alpha] * 3)), ("pha", alpha)):
            folder = root / "fg" / kind / "clip0"
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"{t:05d}.png"), image)
    for v in range(videos):
        folder = root / "bgv" / f"video{v}"
        folder.mkdir(parents=True, exist_ok=True)
        for t in range(bg_frames):
            # frame number written into the red channel so tests can read which frame was used
            image = np.full((*bg_size, 3), (200, 100 + v * 50, 10 * t + 5), np.uint8)  # BGR on disk
            cv2.imwrite(str(folder / f"{t:05d}.png"), image)
    folder = root / "bgi"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(images):
        cv2.imwrite(str(folder / f"image{i}.jpg"), rng.integers(0, 256, (*image_size, 3), dtype=np.uint8))
    return build_catalog(SourcesConfig(foreground=str(root / "fg"), background_videos=str(root / "bgv"),
                                       background_images=str(root / "bgi")))
