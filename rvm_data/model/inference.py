"""Run a MattingNetwork over a whole clip with carried recurrent state and write what it sees.

Frames come from a video file (PyAV) or a folder of images; they are processed in short chunks
(the recurrent state carries across chunks, so chunking changes memory use, not the result) and
written as composition over a plain colour, alpha and foreground, as MP4 files or PNG sequences.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import torch

from rvm_data.model.errors import ModelError, ModelFileMissing
from rvm_data.model.network import MattingNetwork
from rvm_data.sources.imageio import IMAGE_EXTENSIONS, is_image, natural_key
from rvm_data.sources.video import check_turns, frame_to_rgb, probe_video, reformat, single_threaded

BACKGROUNDS: dict[str, tuple[int, int, int]] = {"green": (120, 255, 155), "white": (255, 255, 255)}
OUTPUT_KINDS = ("com", "pha", "fgr")
FORMATS = ("video", "png")


@dataclass
class MatteResult:
    """What ``matte_clip`` wrote: frame count, the ratio it ran at, and each output's path."""

    frames: int
    size: tuple[int, int]
    downsample_ratio: float
    outputs: dict[str, Path] = field(default_factory=dict)


def auto_downsample_ratio(height: int, width: int) -> float:
    """RVM's rule of thumb: run the base network at about 512 px on the long side."""
    return min(512 / max(height, width), 1.0)


def _folder_frames(folder: Path) -> Iterator[np.ndarray]:
    files = sorted((p for p in folder.iterdir() if is_image(p.name)), key=lambda p: natural_key(p.name))
    if not files:
        raise ModelError(f"{folder}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
    size = None
    for file in files:
        image = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if image is None:
            raise ModelError(f"{file}: cannot read image")
        if size is not None and image.shape[:2] != size:
            raise ModelError(
                f"{file}: size {image.shape[1]}x{image.shape[0]} differs from the first frame's {size[1]}x{size[0]}"
            )
        size = image.shape[:2]
        yield cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _video_frames(path: Path) -> Iterator[np.ndarray]:
    """Frames as a player shows them: turned by the display matrix, at the aspect of non-square pixels
    (the probe refuses what it cannot show so, HDR among it, naming the file)."""
    header = probe_video(str(path))
    try:
        with av.open(str(path)) as container:
            single_threaded(container)  # decoders and conversions: see rvm_data.sources.video
            for index, frame in enumerate(container.decode(video=0)):
                check_turns(frame, header, str(path), index)
                yield frame_to_rgb(frame, (header.height, header.width))
    except av.error.FFmpegError as error:
        raise ModelError(f"{path}: cannot decode video: {error}") from None


def video_rate(path: Path) -> Fraction | None:
    """Frame rate of a video file, None for a frame folder or a stream without one."""
    if path.is_dir():
        return None
    try:
        with av.open(str(path)) as container:
            return container.streams.video[0].average_rate
    except (av.error.FFmpegError, IndexError):
        raise ModelError(f"{path}: not a readable video file") from None


def count_frames(path: str | Path) -> int | None:
    """Frames of a video file (as its header says; None when it does not) or an image folder."""
    path = Path(path)
    if path.is_dir():
        return sum(1 for p in path.iterdir() if is_image(p.name))
    try:
        with av.open(str(path)) as container:
            return container.streams.video[0].frames or None
    except (av.error.FFmpegError, IndexError):
        return None


def inference_threads() -> int:
    """Torch threads for matting: $OMP_NUM_THREADS when set, else the CPUs this process may run on
    (``os.sched_getaffinity``: taskset and cgroup cpusets) less those already busy (the 1-minute load
    average), at least 1. OpenMP threads that share a core with other work wait on each other: on a
    2-core machine with one core busy, 2 threads matted 4x slower than 1, on an idle one 10 % faster."""
    try:
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    except (KeyError, ValueError):
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cpus - round(os.getloadavg()[0]))


def read_frames(path: str | Path) -> Iterator[np.ndarray]:
    """H×W×3 uint8 RGB frames of a video file or an image folder (sorted by name)."""
    path = Path(path)
    if not path.exists():
        raise ModelFileMissing(f"{path}: no such video file or frame folder")
    return _folder_frames(path) if path.is_dir() else _video_frames(path)


def find_clips(path: str | Path) -> list[tuple[Path, Path]]:
    """The clips to matte under ``path``, each as (input, output folder relative to ``--out``).

    A video file or a folder of frames is one clip (output straight into ``--out``); a folder of
    clips laid out like ``rvm-data export-frames`` writes them (``<clip>/com/*.png`` at any depth) is
    every such clip, so a whole evaluation set is matted by one command into the same tree.
    """
    path = Path(path)
    if not path.exists():
        raise ModelFileMissing(f"{path}: no such video file or frame folder")
    if path.is_file() or any(is_image(p.name) for p in path.iterdir()):
        return [(path, Path("."))]
    clips = sorted(com for com in path.rglob("com") if com.is_dir())
    if not clips:
        raise ModelError(f"{path}: no image files, and no clip folders <clip>/com/ below it")
    return [(com, com.parent.relative_to(path)) for com in clips]


class _PngWriter:
    """One PNG per frame: ``<dir>/<frame:05d>.png`` (alpha as single-channel grey)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.count = 0

    def write(self, image: np.ndarray) -> None:
        pixels = image[..., 0] if image.shape[-1] == 1 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        path = self.folder / f"{self.count:05d}.png"
        if not cv2.imwrite(str(path), pixels):
            raise ModelError(f"{path}: cannot write PNG")
        self.count += 1

    def close(self) -> None:
        pass


class _Mp4Writer:
    """H.264 MP4 (yuv420p, or yuv444p when a side is odd since 4:2:0 needs even sizes)."""

    def __init__(self, path: Path, rate: Fraction, height: int, width: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.container = av.open(str(path), "w")
        self.stream = self.container.add_stream("libx264", rate=rate, options={"crf": "18"})
        self.stream.height, self.stream.width = height, width
        self.pix_fmt = "yuv420p" if height % 2 == 0 and width % 2 == 0 else "yuv444p"
        self.stream.pix_fmt = self.pix_fmt

    def write(self, image: np.ndarray) -> None:
        rgb = np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image
        frame = reformat(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24"), self.pix_fmt)
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    """T×C×H×W float in [0, 1] -> T×H×W×C uint8."""
    return x.mul(255).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def matte_clip(
    model: MattingNetwork,
    source: str | Path,
    out_dir: str | Path,
    *,
    downsample_ratio: float | None = None,
    fmt: str = "video",
    background: str = "green",
    chunk: int = 1,
    rate: Fraction | None = None,
    device: str | torch.device = "cpu",
    on_frames: Callable[[int], object] | None = None,
) -> MatteResult:
    """Matte every frame of ``source`` into ``out_dir``: ``com``/``pha``/``fgr`` as ``.mp4`` or PNG folders.

    ``downsample_ratio=None`` picks ``auto_downsample_ratio``; ``rate`` (frames per second) defaults to the
    video's own rate, or 30 for a frame folder. ``on_frames(n)`` is called after every ``n`` frames
    written (a progress bar's ``update``).
    """
    if fmt not in FORMATS:
        raise ModelError(f"format must be one of {FORMATS}, got {fmt!r}")
    if background not in BACKGROUNDS:
        raise ModelError(f"background must be one of {tuple(BACKGROUNDS)}, got {background!r}")
    if chunk < 1:
        raise ModelError(f"chunk must be >= 1, got {chunk}")
    source, out_dir = Path(source), Path(out_dir)
    frames = read_frames(source)
    rate = rate or video_rate(source) or Fraction(30)
    device = torch.device(device)
    model = model.eval().to(device)
    bgr = torch.tensor(BACKGROUNDS[background], dtype=torch.float32, device=device).div(255).view(1, 3, 1, 1)
    result = MatteResult(frames=0, size=(0, 0), downsample_ratio=0.0)
    writers: dict[str, _PngWriter | _Mp4Writer] = {}
    states: list[torch.Tensor | None] = [None] * 4
    try:
        with torch.inference_mode():
            for batch in _chunks(frames, chunk):
                src = torch.from_numpy(np.stack(batch)).to(device).permute(0, 3, 1, 2).float().div(255)
                if not writers:
                    height, width = src.shape[-2:]
                    ratio = auto_downsample_ratio(height, width) if downsample_ratio is None else downsample_ratio
                    result.size, result.downsample_ratio = (height, width), ratio
                    for kind in OUTPUT_KINDS:
                        path = out_dir / (kind if fmt == "png" else f"{kind}.mp4")
                        writers[kind] = _PngWriter(path) if fmt == "png" else _Mp4Writer(path, rate, height, width)
                        result.outputs[kind] = path
                fgr, pha, *states = model(src.unsqueeze(0), *states, downsample_ratio=result.downsample_ratio)
                fgr, pha = fgr[0], pha[0]
                com = fgr * pha + bgr * (1 - pha)
                for kind, images in zip(OUTPUT_KINDS, (com, pha, fgr), strict=True):
                    for image in _to_uint8(images):
                        writers[kind].write(image)
                result.frames += len(batch)
                if on_frames is not None:
                    on_frames(len(batch))
    finally:
        for writer in writers.values():
            writer.close()
    if result.frames == 0:
        raise ModelError(f"{source}: no frames")
    return result


def _chunks(frames: Iterator[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
    batch: list[np.ndarray] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
