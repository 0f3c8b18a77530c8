"""Loader throughput at 512x512, T=15: ShardDataset with 0/1/2 DataLoader workers beside the raw decode
limit (the same member bytes decoded in a tight loop) and making the same samples on the fly with the
composition engine; then the codec size/speed trade-off.

    python benchmarks/bench_loader.py [--samples 24] [--batch 4]

A "frame" is one time step of a sample: fgr + pha + bgr at 512x512. OpenCV runs single-threaded.
The machine this runs on may be shared, so rates are per CPU-second (the CPU time of the main process
and its DataLoader workers), which contention changes far less than wall time; wall frames/s is shown
for the loader too. The ``verify_members=True`` row is the cost of checking each member's crc32.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from rvm_data.compose import ComposeConfig, plan_sample, render_sample
from rvm_data.shards import CodecConfig, ShardDataset, write_shard
from rvm_data.shards.codec import decode_image, decode_video, encode_field
from rvm_data.shards.reader import scan_shard
from rvm_data.sources import SourcesConfig, build_catalog
from rvm_data.sources.builtin import ensure_sample_set

SIZE, FRAMES = (512, 512), 15
CODECS = {
    "jpg q95 + png (default)": CodecConfig(),
    "jpg q90 + png": CodecConfig(quality=90),
    "webp q90 + png": CodecConfig(color="webp", quality=90),
    "png + png (lossless)": CodecConfig(color="png"),
    "mp4 crf16 + mkv ffv1": CodecConfig(color="mp4", alpha="mkv"),
}


def render(n: int) -> tuple[list[dict], float]:
    """n samples from the engine on the built-in sample set, and its frames per CPU-second."""
    root = ensure_sample_set()
    catalog = build_catalog(SourcesConfig(
        foreground=str(root / "videomatte" / "train"), background_videos=str(root / "backgrounds" / "videos" / "train"),
        background_images=str(root / "backgrounds" / "images" / "train")))
    config = ComposeConfig(size=SIZE, frames=FRAMES)
    start = time.process_time()
    samples = [render_sample(plan_sample(config, catalog, seed=0, split="train", index=i, augment=True), catalog)
               for i in range(n)]
    return samples, n * FRAMES / (time.process_time() - start)


def decode_limit(shards: list[Path], repeats: int = 3) -> float:
    """Frames per CPU-second decoding every member's bytes (in memory) with cv2.imdecode, best of ``repeats``."""
    members = []
    for shard in shards:
        with open(shard, "rb") as f:
            for ref in scan_shard(str(shard)):
                data = ref.read(f)
                members += [(bytes(v), name.rsplit(".", 1)[1]) for name, v in data.items()
                            if not name.endswith(".json")]
    flags = {"jpg": cv2.IMREAD_COLOR_RGB, "png": cv2.IMREAD_UNCHANGED, "webp": cv2.IMREAD_UNCHANGED}
    buffers = [(np.frombuffer(b, np.uint8), flags[ext]) for b, ext in members]
    frames = len(members) / 3
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for buf, flag in buffers:
            cv2.imdecode(buf, flag)
        best = min(best, time.process_time() - start)
    return frames / best


def cpu_seconds() -> float:
    """CPU time of this process and its live children (the DataLoader workers), from /proc."""
    pid = os.getpid()
    total = time.process_time()
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else []:
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def loader_rate(shards: list[Path], batch: int, workers: int, batches: int,
                verify_members: bool = False) -> tuple[float, float]:
    """Frames per second and per CPU-second (all processes) of an endless ShardDataset stream through
    ShardLoader, after warm-up batches. The batches are dropped at once, as a trainer does."""
    ds = ShardDataset([str(s) for s in shards], batch_size=batch, resample=True, seed=1, verify_members=verify_members)
    stream = iter(ds.loader(num_workers=workers))
    for _ in range(2 + 4 * workers):  # start-up, and each worker's shared-memory slots made once
        next(stream)
    wall, cpu = time.perf_counter(), cpu_seconds()
    for _ in range(batches):
        next(stream)
    frames = batches * batch * FRAMES
    rates = frames / (time.perf_counter() - wall), frames / (cpu_seconds() - cpu)
    del stream
    return rates


def codec_table(samples: list[dict]) -> list[str]:
    rows = ["| codec (colour + alpha) | fgr B/frame | bgr B/frame | pha B/frame | total KiB/frame | "
            "encode ms/frame | decode ms/frame |", "|---|---:|---:|---:|---:|---:|---:|"]
    for label, codec in CODECS.items():
        sizes = {"fgr": 0, "bgr": 0, "pha": 0}
        encode = decode = 0.0
        for sample in samples:
            for field in sizes:
                start = time.perf_counter()
                members = encode_field(field, sample[field], codec)
                encode += time.perf_counter() - start
                sizes[field] += sum(len(d) for _, d in members)
                start = time.perf_counter()
                for name, data in members:
                    ext = name.rsplit(".", 1)[1]
                    decode_video(data) if ext in ("mp4", "mkv") else decode_image(data, ext)
                decode += time.perf_counter() - start
        frames = len(samples) * FRAMES
        per = {k: v / frames for k, v in sizes.items()}
        rows.append(f"| {label} | {per['fgr']:,.0f} | {per['bgr']:,.0f} | {per['pha']:,.0f} | "
                    f"{sum(per.values()) / 1024:.1f} | {encode / frames * 1e3:.2f} | {decode / frames * 1e3:.2f} |")
    return rows


def random_access_line(repeats: int = 20) -> str:
    """read_sample of the last sample of a 64-sample shard (T=15, 64x64: decoding is small next to finding
    the sample), seeking through the member index and, with the index removed, by scanning the tar."""
    from rvm_data.shards import Manifest, ShardEntry, read_sample, write_manifest
    from rvm_data.shards.members import index_path

    rng = np.random.default_rng(0)
    samples = [{"fgr": rng.integers(0, 256, (FRAMES, 64, 64, 3), np.uint8),
                "pha": rng.integers(0, 256, (FRAMES, 64, 64, 1), np.uint8),
                "bgr": rng.integers(0, 256, (FRAMES, 64, 64, 3), np.uint8), "spec": {"index": i}} for i in range(64)]
    with tempfile.TemporaryDirectory() as tmp:
        info = write_shard(Path(tmp) / "train" / "bench-000000.tar", samples, CodecConfig())
        write_manifest(tmp, Manifest({"name": "bench"}, "0" * 64, {"train": [
            ShardEntry(f"train/{info.name}", info.samples, info.bytes, info.sha256)]}))
        times = {}
        for label in ("member index", "tar scan"):
            if label == "tar scan":
                index_path(Path(tmp) / "train" / info.name).unlink()
            read_sample(tmp, "train", 63)  # warm the page cache
            t0 = time.perf_counter()
            for _ in range(repeats):
                read_sample(tmp, "train", 63)
            times[label] = (time.perf_counter() - t0) / repeats * 1e3
    return (f"read_sample(last of 64 samples, {64 * FRAMES * 3 + 64} members): "
            f"{times['member index']:.2f} ms with the member index, {times['tar scan']:.2f} ms scanning the tar")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=24)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--batches", type=int, default=30, help="timed batches per loader setting")
    parser.add_argument("--random-access", action="store_true", help="only the read_sample line (seconds)")
    args = parser.parse_args()
    if args.random_access:
        print(random_access_line())
        return
    cv2.setNumThreads(1)
    samples, fly = render(args.samples)
    with tempfile.TemporaryDirectory() as tmp:
        per_shard = max(1, args.samples // 3)
        shards = []
        for j in range(0, args.samples, per_shard):
            path = Path(tmp) / f"bench-{j // per_shard:06d}.tar"
            write_shard(path, samples[j:j + per_shard], CodecConfig())
            shards.append(path)
        limit = decode_limit(shards)
        rates = {(w, False): loader_rate(shards, args.batch, w, args.batches) for w in (0, 1, 2)}
        rates[0, True] = loader_rate(shards, args.batch, 0, args.batches, verify_members=True)
    print(f"512x512, T={FRAMES}, {args.samples} engine samples in {len(shards)} shards (jpg q95 + png), "
          f"batch {args.batch}, OpenCV single-threaded, {os.cpu_count()} cores\n")
    print("| path | frames/s (wall) | frames per CPU-second | per CPU-s vs decode limit | per CPU-s vs on the fly |")
    print("|---|---:|---:|---:|---:|")
    print(f"| raw decode limit: tight cv2.imdecode loop over the member bytes | | {limit:,.0f} | 1.00 "
          f"| {limit / fly:.1f}x |")
    for (w, verify), (wall, cpu) in rates.items():
        checked = ", verify_members=True (crc32 of every member)" if verify else ""
        label = f"ShardDataset, {w} DataLoader workers{checked}"
        print(f"| {label} | {wall:,.0f} | {cpu:,.0f} | {cpu / limit:.2f} | {cpu / fly:.1f}x |")
    print(f"| on the fly: plan_sample + render_sample | | {fly:,.0f} | {fly / limit:.2f} | 1.0x |")
    print()
    print("\n".join(codec_table(samples[: min(8, len(samples))])))
    print()
    print(random_access_line())


if __name__ == "__main__":
    main()
