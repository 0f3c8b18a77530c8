"""MP4 clips of a sample (composite, alpha, side by side), written with PyAV's H.264 encoder."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from rvm_data.sources.video import reformat
from rvm_data.viewer.frames import is_segmentation_sample, sample_rows


def _even(frames: np.ndarray) -> np.ndarray:
    """H.264 in yuv420p needs even width and height: repeat the last row/column where odd."""
    h, w = frames.shape[1:3]
    if h % 2 == 0 and w % 2 == 0:
        return frames
    return np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def write_video(path: str | Path, frames: np.ndarray, fps: float = 8.0, *, crf: int = 18) -> Path:
    """Encode T×H×W×3 uint8 RGB frames as an H.264 MP4 at ``fps`` (odd sizes padded by one pixel)."""
    path = Path(path)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(f"write_video {path}: frames must be a non-empty T×H×W×3 uint8 array, got "
                         f"{frames.shape} {frames.dtype}")
    if not fps > 0:
        raise ValueError(f"write_video {path}: fps must be > 0, got {fps}")
    frames = _even(frames)
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=rate, options={"crf": str(crf)})
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(reformat(av.VideoFrame.from_ndarray(frame, format="rgb24"), "yuv420p")))
        container.mux(stream.encode(None))
    return path


def clip_frames(sample: dict[str, Any]) -> dict[str, np.ndarray]:
    """The three clips of a sample: the composite, the alpha (grey), and fgr | pha | bgr | composite
    side by side in sheet order; for segmentation img, seg and img | seg | overlay."""
    rows = sample_rows(sample)
    if is_segmentation_sample(sample):
        return {"img": rows["img"], "seg": rows["seg"], "side": np.concatenate(list(rows.values()), axis=2)}
    return {
        "composite": rows["composite"],
        "alpha": rows["pha"],
        "side": np.concatenate(list(rows.values()), axis=2),
    }


def write_clips(sample: dict[str, Any], out_dir: str | Path, stem: str, fps: float = 8.0) -> dict[str, Path]:
    """Write ``<stem>_composite.mp4``, ``<stem>_alpha.mp4`` and ``<stem>_side.mp4`` (segmentation:
    ``_img``, ``_seg``, ``_side``); returns kind -> path."""
    out_dir = Path(out_dir)
    return {kind: write_video(out_dir / f"{stem}_{kind}.mp4", frames, fps)
            for kind, frames in clip_frames(sample).items()}
