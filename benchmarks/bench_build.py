"""Build throughput and shard size: frames/s per core with 1 and 2 workers, bytes per frame per codec.

    python benchmarks/bench_build.py [--samples 32] [--size 512] [--frames 15]

Builds the quickstart recipe (matting output only) on the built-in sample set at ``--size`` x ``--size``, T=``--frames``
(4 samples per shard, so every worker gets several jobs). Throughput is the whole job as
``rvm-data build`` does it: plan, read sources, render, encode, write, hash. The loky workers are
started by a warm-up build first, so process start-up is not counted. A "frame" is one output
frame with its three fields (fgr, pha, bgr).

Per core is measured two ways: wall-clock frames/s divided by the workers (what you get when the
cores are free) and frames per CPU-second of the build's processes (read from /proc), which a
machine shared with other work does not skew.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from rvm_data.build import build, plan_output_samples
from rvm_data.compose import render_sample
from rvm_data.recipe import load_recipe
from rvm_data.shards import encode_sample
from rvm_data.sources import build_catalog

QUICKSTART = Path(__file__).resolve().parents[1] / "recipes" / "quickstart.yaml"

# (label, codec overrides): the colour codec of fgr/bgr, the alpha codec of pha
CODECS = [
    ("jpg q95 + png (default)", {}),
    ("jpg q90 + png", {"quality": 90}),
    ("webp q95 + png", {"color": "webp"}),
    ("png + png (lossless)", {"color": "png"}),
    ("mp4 crf16 + png", {"color": "mp4"}),
    ("jpg q95 + mkv (ffv1)", {"alpha": "mkv"}),
]


def recipe_for(args: argparse.Namespace, samples: int, codec: dict[str, object] | None = None):
    overrides = [f"outputs.lr.compose.size=[{args.size}, {args.size}]", f"outputs.lr.compose.frames={args.frames}",
                 f"outputs.lr.samples.train={samples}", "shards.samples_per_shard=4", "segmentation=null"]
    overrides += [f"shards.codec.{key}={value}" for key, value in (codec or {}).items()]
    return load_recipe(QUICKSTART, overrides)


def cpu_seconds() -> float:
    """CPU time of this process plus its child processes (the loky workers), from /proc on Linux."""
    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == os.getpid():
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def stage_times(recipe, samples: int) -> dict[str, float]:
    """CPU milliseconds per output frame of plan, render and encode, one process."""
    catalog = build_catalog(recipe.resolve_sources("train"))
    compose = recipe.outputs["lr"].compose
    times = {"plan": 0.0, "render": 0.0, "encode": 0.0}
    specs = plan_output_samples(recipe, "lr", "train", range(samples), catalog)  # as the build plans them
    for _ in range(samples):
        t0 = time.process_time()
        spec = next(specs)
        t1 = time.process_time()
        sample = render_sample(spec, catalog)
        t2 = time.process_time()
        encode_sample(sample, recipe.shards.codec)
        t3 = time.process_time()
        for key, seconds in zip(times, (t1 - t0, t2 - t1, t3 - t2)):
            times[key] += seconds
    return {key: 1000 * seconds / (samples * compose.frames) for key, seconds in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=32, help="training samples per throughput run")
    parser.add_argument("--codec-samples", type=int, default=8, help="samples per codec size run")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--frames", type=int, default=15)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        recipe = recipe_for(args, args.samples)
        for workers in (1, 2):  # warm-up: imports, source caches, loky processes
            build(recipe, tmp_path / f"warm{workers}", workers=workers, limit=8, splits=["train"], progress=False)

        load = os.getloadavg()[0]
        runs, cpu = {}, {}
        for w in (1, 2):
            before = cpu_seconds()
            runs[w] = build(recipe, tmp_path / f"w{w}", workers=w, splits=["train"], progress=False)
            cpu[w] = cpu_seconds() - before
        print(f"## Build throughput: {args.size}x{args.size}, T={args.frames}, {args.samples} samples, "
              f"jpg q95 + png (load average before: {load:.1f} on {os.cpu_count()} cores)\n")
        print("| workers | frames | wall s | frames/s | frames/s per core (wall) | CPU s | frames per CPU-second |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for w, s in runs.items():
            print(f"| {w} | {s.rendered_frames} | {s.seconds:.2f} | {s.frames_per_s:.0f} | {s.frames_per_s / w:.0f} | "
                  f"{cpu[w]:.2f} | {s.rendered_frames / cpu[w]:.0f} |")
        print(f"\n2 workers / 1 worker, wall clock: **{runs[2].frames_per_s / runs[1].frames_per_s:.2f}x**; "
              f"CPU per frame, 2 workers / 1 worker: {cpu[2] / cpu[1]:.2f} (1.00 = no parallel overhead)\n")
        stages = stage_times(recipe, 4)
        print("CPU ms per frame, one process: " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
              + f" (sum {sum(stages.values()):.2f} ms = {1000 / sum(stages.values()):.0f} frames per CPU-second)\n")

        print(f"## Bytes per frame by codec ({args.size}x{args.size}, T={args.frames}, {args.codec_samples} samples, "
              "1 worker)\n")
        print("| codec (colour + alpha) | bytes/frame (fgr+pha+bgr) | vs default | build frames per CPU-second |")
        print("|---|---:|---:|---:|")
        default = None
        for label, codec in CODECS:
            before = cpu_seconds()
            s = build(recipe_for(args, args.codec_samples, codec), tmp_path / label.replace(" ", "_"), splits=["train"],
                      progress=False)
            per_cpu_second = s.rendered_frames / (cpu_seconds() - before)
            per_frame = s.bytes / s.rendered_frames
            default = default or per_frame
            print(f"| {label} | {per_frame / 1000:.1f} KB | {per_frame / default:.2f}x | {per_cpu_second:.0f} |")


if __name__ == "__main__":
    main()
