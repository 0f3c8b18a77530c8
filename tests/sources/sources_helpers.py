"""Tiny fixtures in the real on-disk formats (JPEG/PNG frame folders, H.264 mp4 via PyAV)."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np


def smooth_frames(frames: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """T×H×W×3 uint8 smooth gradients that move per frame (codec-friendly, frames distinguishable)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = rng.random(3) * 6.0
    out = np.empty((frames, height, width, 3), np.uint8)
    for t in range(frames):
        for c in range(3):
            out[t, :, :, c] = 127 + 100 * np.sin(x / width * 3 + y / height * 2 + phase[c] + t * 0.5)
    return out


def alpha_frames(frames: int, height: int, width: int) -> np.ndarray:
    """T×H×W×1 uint8 soft discs moving right, so each frame differs."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.empty((frames, height, width, 1), np.uint8)
    for t in range(frames):
        d = np.hypot(x - width * (0.3 + 0.4 * t / max(frames - 1, 1)), y - height / 2)
        out[t, :, :, 0] = np.clip((height / 3 - d) * 40, 0, 255)
    return out


def write_frames(folder: Path, frames: np.ndarray, ext: str = ".png", start: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for t, frame in enumerate(frames):
        image = frame[:, :, 0] if frame.shape[-1] == 1 else cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        assert cv2.imwrite(str(folder / f"{start + t:05d}{ext}"), image, [cv2.IMWRITE_JPEG_QUALITY, 98])
    return folder


def write_video(path: Path, frames: np.ndarray, gop: int = 4) -> Path:
    """H.264 mp4 at near-lossless quality with a keyframe every ``gop`` frames."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames.shape[1:3]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv444p"
        stream.codec_context.gop_size = gop
        stream.options = {"crf": "4", "keyint_min": str(gop), "sc_threshold": "0", "bframes": "0"}
        for frame in frames:
            rgb = np.repeat(frame, 3, axis=2) if frame.shape[-1] == 1 else frame
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")))
        container.mux(stream.encode())
    return path


def videomatte(root: Path, clips: dict[str, tuple[np.ndarray, np.ndarray]], *, video: bool = False,
               fgr_ext: str = ".jpg") -> Path:
    for name, (fgr, pha) in clips.items():
        if video:
            write_video(root / "fgr" / f"{name}.mp4", fgr)
            write_video(root / "pha" / f"{name}.mp4", pha)
        else:
            write_frames(root / "fgr" / name, fgr, fgr_ext)
            write_frames(root / "pha" / name, pha, ".png")
    return root
