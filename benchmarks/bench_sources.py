"""Source reading throughput: catalog indexing, frame-folder reads, video-file window reads.

Run: python benchmarks/bench_sources.py [--quick]. Prints markdown tables. Sizes follow ENGINE's render
benchmark (768x432 foreground, 1280x720 background video frames, 1024x768 background images).
Times are CPU seconds of this process (OpenCV limited to one thread), so they read as "per core".
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np

from rvm_data.sources import SourcesConfig, build_catalog, load_background, load_matte
from rvm_data.sources.synthetic import FigurePainter, ScenePainter, to_uint8
from rvm_data.sources.video import VideoReader


GOP = 30  # keyframe interval of the benchmark videos


def _cpu(fn: Callable[[], object], repeat: int) -> float:
    fn()
    start = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - start) / repeat


def _write_jpeg(path: Path, rgb: np.ndarray, quality: int = 95) -> None:
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb,
                [cv2.IMWRITE_JPEG_QUALITY, quality])


def _make_sources(root: Path, frames: int) -> None:
    """jpg/ (fgr + pha JPEG frames), png/ (same fgr, PNG pha), mp4/ (H.264 files), bgv/, bgi/."""
    rng = np.random.default_rng(0)
    painter = FigurePainter(rng, 432, 768, frames)
    scene = ScenePainter(rng, 720, 1280, frames, "landscape")
    for folder in ("jpg/fgr/clip", "jpg/pha/clip", "png/fgr", "png/pha/clip", "mp4/fgr", "mp4/pha", "bgv/clip", "bgi"):
        (root / folder).mkdir(parents=True)
    (root / "png" / "fgr" / "clip").symlink_to(root / "jpg" / "fgr" / "clip")
    videos = []
    for side in ("fgr", "pha"):
        container = av.open(str(root / "mp4" / side / "clip.mp4"), "w")
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 768, 432, "yuv420p"
        stream.codec_context.gop_size = GOP
        stream.options = {"crf": "18"}
        videos.append((container, stream))
    for t in range(frames):
        fgr, pha = painter.paint(t)
        fgr8, pha8 = to_uint8(fgr), to_uint8(pha)
        _write_jpeg(root / "jpg" / "fgr" / "clip" / f"{t:05d}.jpg", fgr8)
        _write_jpeg(root / "jpg" / "pha" / "clip" / f"{t:05d}.jpg", pha8)
        cv2.imwrite(str(root / "png" / "pha" / "clip" / f"{t:05d}.png"), pha8)
        _write_jpeg(root / "bgv" / "clip" / f"{t:05d}.jpg", to_uint8(scene.paint(t)), 92)
        for (container, stream), image in zip(videos, (fgr8, np.dstack([pha8] * 3))):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
    for container, stream in videos:
        container.mux(stream.encode())
        container.close()
    _write_jpeg(root / "bgi" / "photo.jpg", to_uint8(ScenePainter(rng, 768, 1024, 2, "skyline").paint(0)), 92)


def _index_tree(root: Path, clips: int, frames: int) -> None:
    frame = np.zeros((36, 64, 3), np.uint8)
    ok, jpeg = cv2.imencode(".jpg", frame)
    for c in range(clips):
        for side in ("fgr", "pha"):
            folder = root / side / f"clip{c:04d}"
            folder.mkdir(parents=True)
            for t in range(frames):
                (folder / f"{t:05d}.jpg").write_bytes(jpeg.tobytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer frames and repeats")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    frames, repeat = (60, 3) if args.quick else (150, 10)
    window = 15
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _make_sources(root, frames)
        fg_jpg = build_catalog(SourcesConfig(str(root / "jpg"))).foregrounds[0]
        fg_png = build_catalog(SourcesConfig(str(root / "png"))).foregrounds[0]
        fg_mp4 = build_catalog(SourcesConfig(str(root / "mp4"))).foregrounds[0]
        catalog = build_catalog(SourcesConfig(str(root / "jpg"), background_videos=str(root / "bgv"),
                                              background_images=str(root / "bgi")))
        rng = np.random.default_rng(1)
        starts = rng.integers(0, frames - window, repeat)
        it = iter(np.tile(starts, 1000))

        def window_of() -> np.ndarray:
            return np.arange(window) + next(it)

        rows = [
            ("fgr 768x432 JPEG + pha JPEG, full", lambda: load_matte(fg_jpg, window_of())),
            ("fgr 768x432 JPEG + pha JPEG, min_size 216x384", lambda: load_matte(fg_jpg, window_of(), min_size=(216, 384))),
            ("fgr 768x432 JPEG + pha PNG, full", lambda: load_matte(fg_png, window_of())),
            ("fgr + pha 768x432 mp4 (seek), full", lambda: load_matte(fg_mp4, window_of())),
            ("fgr + pha 768x432 mp4 (seek), min_size 216x384", lambda: load_matte(fg_mp4, window_of(), min_size=(216, 384))),
            ("bgr video 1280x720 JPEG, full", lambda: load_background(catalog.background_videos[0], window_of())),
            ("bgr video 1280x720 JPEG, min_size 360x640", lambda: load_background(catalog.background_videos[0], window_of(), min_size=(360, 640))),
        ]
        print(f"\n### Window reads ({window} distinct frames, CPU time, 1 OpenCV thread)\n")
        print("| source | ms / window | ms / frame | frames / s |")
        print("|---|---:|---:|---:|")
        for name, fn in rows:
            seconds = _cpu(fn, repeat)
            print(f"| {name} | {seconds * 1e3:.1f} | {seconds * 1e3 / window:.2f} | {window / seconds:.0f} |")
        image = catalog.background_images[0]
        for name, size in (("bgr image 1024x768, full", None), ("bgr image 1024x768, min_size 384x512", (384, 512))):
            seconds = _cpu(lambda: load_background(image, [0], min_size=size), repeat * 3)
            print(f"| {name} | {seconds * 1e3:.1f} | {seconds * 1e3:.2f} | {1 / seconds:.0f} |")

        print(f"\n### Video window read: seeking vs decoding from the clip start ({frames}-frame 768x432 H.264, "
              f"keyframe every {GOP} frames)\n")
        print("| method | ms / window | frames decoded / window |")
        print("|---|---:|---:|")
        path = str(root / "mp4" / "fgr" / "clip.mp4")
        for name, seek in (("seek to keyframe, decode forward", True), ("decode from start", False)):
            decoded = []

            def read(seek: bool = seek) -> None:
                wanted = window_of()
                with VideoReader(path) as reader:
                    if seek:
                        for _, frame in reader.frames(wanted.tolist()):
                            frame.to_ndarray(format="rgb24")
                    else:
                        container = reader._container
                        for i, frame in enumerate(container.decode(video=0)):
                            reader.decoded += 1
                            if i in wanted:
                                frame.to_ndarray(format="rgb24")
                            if i >= wanted[-1]:
                                break
                    decoded.append(reader.decoded)
            seconds = _cpu(read, repeat)
            print(f"| {name} | {seconds * 1e3:.1f} | {np.mean(decoded[1:]):.1f} |")

        clips, per_clip = (200, 20) if args.quick else (1000, 30)
        tree = root / "index"
        _index_tree(tree, clips, per_clip)
        start = time.perf_counter()
        indexed = build_catalog(SourcesConfig(str(tree)))
        seconds = time.perf_counter() - start
        print("\n### Catalog indexing (frame folders, wall time, warm file cache)\n")
        print("| clips | frames per clip | seconds | clips / s |")
        print("|---:|---:|---:|---:|")
        print(f"| {len(indexed.foregrounds)} | {per_clip} | {seconds:.2f} | {len(indexed.foregrounds) / seconds:.0f} |")


if __name__ == "__main__":
    main()
