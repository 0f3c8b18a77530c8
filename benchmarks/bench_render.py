"""Render throughput of the composition engine, frames per second per core.

Sources like the real ones, as JPEG frame folders in a temporary directory: foreground clips
768x432 (colour and alpha), background video clips 1280x720, background images 1024x768.
Samples are 512x512, T=15, planned with the default (RVM) augmentation. The measured loop runs in
one worker process with OpenCV limited to one thread, so the numbers are per core. Throughput
is given per CPU-second of that worker (``time.process_time``), which other processes competing
for the machine do not inflate, and per wall-clock second.

    python benchmarks/bench_render.py [--samples 40] [--size 512] [--frames 15]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import multiprocessing
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from rvm_data.compose import ComposeConfig, plan_sample, render_sample
from rvm_data.sources import SourcesConfig, build_catalog


def _picture(rng: np.random.Generator, height: int, width: int, t: int) -> np.ndarray:
    """Smooth colour gradients plus fine texture: compresses and decodes like a photograph."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([128 + 100 * np.sin((x + 7 * t) / 97.0), 128 + 100 * np.cos((y - 5 * t) / 71.0),
                     128 + 80 * np.sin((x + y) / 53.0)], axis=-1)
    texture = cv2.GaussianBlur(rng.normal(0, 25, (height, width, 3)).astype(np.float32), (0, 0), 1.5)
    return np.clip(base + texture, 0, 255).astype(np.uint8)


def make_sources(root: Path, clips: int = 2, frames: int = 40, images: int = 4):
    rng = np.random.default_rng(0)
    for c in range(clips):
        for t in range(frames):
            fg = _picture(rng, 432, 768, t)
            y, x = np.mgrid[0:432, 0:768]
            alpha = np.clip((160 - np.hypot((x - 384 - 3 * t) / 1.5, y - 250)) * 8, 0, 255).astype(np.uint8)
            for kind, image in (("fgr", fg), ("pha", alpha)):
                folder = root / "fg" / kind / f"clip{c}"
                folder.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(folder / f"{t:05d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
            folder = root / "bgv" / f"video{c}"
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"{t:05d}.jpg"), _picture(rng, 720, 1280, t), [cv2.IMWRITE_JPEG_QUALITY, 90])
    (root / "bgi").mkdir(exist_ok=True)
    for i in range(images):
        cv2.imwrite(str(root / "bgi" / f"image{i}.jpg"), _picture(rng, 768, 1024, i), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return build_catalog(SourcesConfig(foreground=str(root / "fg"), background_videos=str(root / "bgv"),
                                       background_images=str(root / "bgi")))


def measure(catalog, config: ComposeConfig, samples: int, augment: bool) -> dict[str, float]:
    """Plan and render ``samples`` samples in this process, one OpenCV thread."""
    cv2.setNumThreads(1)
    plan_sample(config, catalog, seed=0, split="warmup", index=0, augment=augment)  # warm imports/caches
    render_sample(plan_sample(config, catalog, seed=0, split="warmup", index=0, augment=augment), catalog)
    timings: dict[str, float] = {}
    start, cpu_start = time.perf_counter(), time.process_time()
    plan_time = 0.0
    for i in range(samples):
        t0 = time.perf_counter()
        spec = plan_sample(config, catalog, seed=1, split="train", index=i, augment=augment)
        plan_time += time.perf_counter() - t0
        render_sample(spec, catalog, timings=timings)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {"total": total, "cpu": cpu, "plan": plan_time, **timings}


_KEEP_FREED_MEMORY = {"MALLOC_MMAP_THRESHOLD_": "4294967296", "MALLOC_TRIM_THRESHOLD_": "4294967296"}


@contextlib.contextmanager
def _worker(env: dict[str, str] | None = None):
    """A fresh single-process pool (spawned, so ``env`` reaches its C library at start-up)."""
    saved = {k: os.environ.get(k) for k in env or {}}
    os.environ.update(env or {})
    try:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            pool.submit(os.getpid).result()  # start it while the environment is set
            yield pool
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--frames", type=int, default=15)
    args = parser.parse_args()
    config = ComposeConfig(size=(args.size, args.size), frames=args.frames)
    with tempfile.TemporaryDirectory() as tmp:
        catalog = make_sources(Path(tmp))
        rows = []
        with _worker() as pool:
            for label, video_prob, augment in (("train, default 50/50 backgrounds", 0.5, True),
                                               ("train, background videos only", 1.0, True),
                                               ("train, background images only", 0.0, True),
                                               ("valid (augment=False)", 0.5, False)):
                cfg = dataclasses.replace(config, bgr_video_prob=video_prob)
                rows.append((label, pool.submit(measure, catalog, cfg, args.samples, augment).result()))
        with _worker(_KEEP_FREED_MEMORY) as pool:
            rows.append(("train, default, glibc malloc keeps freed memory*",
                         pool.submit(measure, catalog, config, args.samples, True).result()))
    frames = args.samples * args.frames
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"render throughput, {args.size}x{args.size}, T={args.frames}, {args.samples} samples, 1 core "
          f"(cpu count {os.cpu_count()}, load average {load})\n")
    print("| mode | frames/s per core (CPU time) | frames/s (wall) | ms per sample (wall) | plan | decode | warp "
          "| pixel ops |")
    print("|---|---|---|---|---|---|---|---|")
    for label, r in rows:
        per = {k: 1000.0 * v / args.samples for k, v in r.items()}
        print(f"| {label} | {frames / r['cpu']:.0f} | {frames / r['total']:.0f} | {per['total']:.1f} | "
              f"{per['plan']:.2f} | {per.get('decode', 0):.1f} | {per.get('warp', 0):.1f} | "
              f"{per.get('pixel_ops', 0):.1f} |")
    print("\nplan/decode/warp/pixel ops: wall ms per sample inside render_sample (decode = the sources' readers)")
    print("* worker started with " + " ".join(f"{k}={v}" for k, v in _KEEP_FREED_MEMORY.items())
          + ": large frame buffers are reused instead of mapped fresh (and page-faulted) for every sample")


if __name__ == "__main__":
    main()
