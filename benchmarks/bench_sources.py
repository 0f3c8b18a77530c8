"""Source reading throughput: catalog indexing, frame-folder reads, video-file window reads.

Run: python benchmarks/bench_sources.py [--quick]. Prints markdown tables. Sizes follow ENGINE's render
benchmark (768x432 foreground, 1280x720 background video frames, 1024x768 background images).
Times are CPU seconds of this process (OpenCV limited to one thread), so they read as "per core".
To compare with another version of the readers, run this file with that version's package first on
PYTHONPATH; rows it cannot read print the error instead of a time.
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

from rvm_data.sources import SourceError, SourcesConfig, build_catalog, load_background, load_matte, video
from rvm_data.sources.synthetic import FigurePainter, ScenePainter, to_uint8

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


# folder -> (file suffix, container format, codec, B-frames) of the benchmark's video foregrounds
VIDEO_KINDS = {"mp4": (".mp4", "mp4", "libx264", 3), "avi": (".avi", "avi", "mpeg4", 2),
               "ts": (".ts", "mpegts", "mpeg2video", 2)}


def _make_sources(root: Path, frames: int) -> None:
    """jpg/ (fgr + pha JPEG frames), png/ (same fgr, PNG pha), mp4/ avi/ ts/ (video files), bgv/, bgi/."""
    rng = np.random.default_rng(0)
    painter = FigurePainter(rng, 432, 768, frames)
    scene = ScenePainter(rng, 720, 1280, frames, "landscape")
    for folder in ("jpg/fgr/clip", "jpg/pha/clip", "png/fgr", "png/pha/clip", "bgv/clip", "bgi"):
        (root / folder).mkdir(parents=True)
    (root / "png" / "fgr" / "clip").symlink_to(root / "jpg" / "fgr" / "clip")
    videos = []
    for kind, (suffix, fmt, codec, bframes) in VIDEO_KINDS.items():
        for side in ("fgr", "pha"):
            (root / kind / side).mkdir(parents=True)
            container = av.open(str(root / kind / side / f"clip{suffix}"), "w", format=fmt)
            stream = container.add_stream(codec, rate=30)
            stream.width, stream.height, stream.pix_fmt = 768, 432, "yuv420p"
            stream.codec_context.gop_size = GOP
            if codec == "libx264":
                stream.options = {"crf": "18", "bframes": str(bframes)}
            else:
                stream.codec_context.max_b_frames, stream.codec_context.bit_rate = bframes, 8_000_000
            videos.append((container, stream))
    for t in range(frames):
        fgr, pha = painter.paint(t)
        fgr8, pha8 = to_uint8(fgr), to_uint8(pha)
        _write_jpeg(root / "jpg" / "fgr" / "clip" / f"{t:05d}.jpg", fgr8)
        _write_jpeg(root / "jpg" / "pha" / "clip" / f"{t:05d}.jpg", pha8)
        cv2.imwrite(str(root / "png" / "pha" / "clip" / f"{t:05d}.png"), pha8)
        _write_jpeg(root / "bgv" / "clip" / f"{t:05d}.jpg", to_uint8(scene.paint(t)), 92)
        for (container, stream), image in zip(videos, [fgr8, np.dstack([pha8] * 3)] * len(VIDEO_KINDS), strict=True):
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


def _try_cpu(fn: Callable[[], object], repeat: int) -> float | str:
    """CPU seconds per call, or the error of a version that cannot read the source."""
    try:
        return _cpu(fn, repeat)
    except SourceError as exc:
        return f"fails: {exc.problem[:60]}"


def _ms(value: float | str, per: int = 1) -> str:
    return value if isinstance(value, str) else f"{value * 1e3 / per:.1f}"


def _container_table(root: Path, frames: int, window: int, repeat: int) -> None:
    """Window reads of the same clip as JPEG frame folders and as MP4 / AVI / MPEG-TS files."""
    print(f"\n### Window reads by container ({window} consecutive frames of a {frames}-frame 768x432 fgr + pha "
          f"clip, keyframe every {GOP}; CPU ms, 1 OpenCV thread)\n")
    print("| source | index ms / file | random windows ms | consecutive windows ms | frames decoded / random window |")
    print("|---|---:|---:|---:|---:|")
    rng = np.random.default_rng(2)
    for kind, label in (("jpg", "JPEG frame folders"), ("mp4", "MP4 H.264 (B-frames)"),
                        ("avi", "AVI mpeg4 (B-frames)"), ("ts", "MPEG-TS mpeg2 (B-frames)")):
        try:
            clip = build_catalog(SourcesConfig(str(root / kind))).foregrounds[0]
        except SourceError as exc:
            print(f"| {label} | not indexed: {exc.problem[:60]} | | | |")
            continue
        index_ms = "-"
        if clip.color.kind == "video":
            def probe(path: str = clip.color.path) -> None:
                getattr(video, "_index_cache", {}).clear()
                video.probe_video(path)
            index_ms = _ms(_cpu(probe, repeat))
        starts = iter(np.tile(rng.integers(0, frames - window, repeat), 1000))
        steps = iter(np.tile(np.arange(0, frames - window + 1, window), 1000))
        random = _try_cpu(lambda clip=clip, starts=starts: load_matte(clip, np.arange(window) + next(starts)), repeat)
        consecutive = _try_cpu(lambda clip=clip, steps=steps: load_matte(clip, np.arange(window) + next(steps)), repeat)
        decoded = "-"
        if clip.color.kind == "video" and hasattr(video, "open_video") and not isinstance(random, str):
            with video.open_video(clip.color.path) as reader:
                before = reader.decoded
                for _ in range(repeat):
                    start = int(next(starts))
                    for _ in reader.frames(list(range(start, start + window))):
                        pass
                decoded = f"{(reader.decoded - before) / repeat:.1f}"
        print(f"| {label} | {index_ms} | {_ms(random)} | {_ms(consecutive)} | {decoded} |")


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
            ("fgr 768x432 JPEG + pha JPEG, min_size 216x384",
             lambda: load_matte(fg_jpg, window_of(), min_size=(216, 384))),
            ("fgr 768x432 JPEG + pha PNG, full", lambda: load_matte(fg_png, window_of())),
            ("fgr + pha 768x432 mp4 (seek), full", lambda: load_matte(fg_mp4, window_of())),
            ("fgr + pha 768x432 mp4 (seek), min_size 216x384",
             lambda: load_matte(fg_mp4, window_of(), min_size=(216, 384))),
            ("bgr video 1280x720 JPEG, full", lambda: load_background(catalog.background_videos[0], window_of())),
            ("bgr video 1280x720 JPEG, min_size 360x640",
             lambda: load_background(catalog.background_videos[0], window_of(), min_size=(360, 640))),
        ]
        print(f"\n### Window reads ({window} distinct frames, CPU time, 1 OpenCV thread)\n")
        print("| source | ms / window | ms / frame | frames / s |")
        print("|---|---:|---:|---:|")
        for name, fn in rows:
            seconds = _cpu(fn, repeat)
            print(f"| {name} | {seconds * 1e3:.1f} | {seconds * 1e3 / window:.2f} | {window / seconds:.0f} |")
        image = catalog.background_images[0]
        for name, size in (("bgr image 1024x768, full", None), ("bgr image 1024x768, min_size 384x512", (384, 512))):
            seconds = _cpu(lambda size=size: load_background(image, [0], min_size=size), repeat * 3)
            print(f"| {name} | {seconds * 1e3:.1f} | {seconds * 1e3:.2f} | {1 / seconds:.0f} |")

        _container_table(root, frames, window, repeat)

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
