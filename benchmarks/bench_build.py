"""Build throughput against the codec limit, the cost of a stage-1 epoch, and shard size per codec.

    python benchmarks/bench_build.py [--samples 32] [--size 512] [--frames 15] [--sources bench|builtin]

Builds the quickstart recipe (matting output only) at ``--size`` x ``--size``, T=``--frames``, 4 samples per shard
(so every worker gets several jobs), on ``bench`` sources (bench_render.py's: 768x432 JPEG foreground clips, 1280x720
JPEG background videos, 1024x768 background images; the default) or the ``builtin`` sample set. Throughput is the
whole job as ``rvm-data build`` does it: plan, read sources, render, encode, write, hash. The loky workers are
started by a warm-up build first, so process start-up is not counted. A "frame" is one output frame with its three
fields (fgr, pha, bgr).

Per core is measured two ways: wall-clock frames/s divided by the workers (what you get when the cores are free)
and frames per CPU-second of the build's processes (read from /proc), which a machine shared with other work skews
less. The codec limit is measured in the same run, one thread, CPU time: decoding exactly the distinct source
frames the measured build reads (recorded while its specs render, file bytes already in memory) plus encoding its
outputs at the recipe's codec (frames already in the encoder's layout) -- the build's frames per CPU-second can
come near it but not pass it. It is given for the decoder the build uses (libjpeg-turbo through simplejpeg for
JPEG sources, OpenCV for the rest) and for OpenCV alone (what the build used before), and with the rest of the
pixel work added: the same specs rendered with their sources already decoded (warps, pixel ops), the most a build
that keeps today's bytes could reach. To compare with another version of the package, run this file with that
version first on PYTHONPATH.

The epoch cost extrapolates the measured frames per CPU-second to one fresh epoch of recipes/vm_stage1.yaml (its
samples, T and size), and the cores that keep GPUs fed at RVM's batch size (1 sequence of T frames per GPU per
step, RVM's train.py) from a GPU's training throughput in matting frames/s: ``--gpu-frames-per-s``, by default the
RVM paper's (stage 1: 15 epochs of about 15.8k 15-frame sequences in about 18 h on 4 V100s: 13.7 frames/s per GPU;
no GPU was at hand to measure one, and the README's step times are CPU runs).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import simplejpeg

from rvm_data import compose
from rvm_data.build import build
from rvm_data.compose import render_sample
from rvm_data.kinds import plan_output_samples
from rvm_data.recipe import load_recipe
from rvm_data.shards import codec as shard_codec
from rvm_data.shards import encode_sample
from rvm_data.sources import build_catalog, imageio, readers

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "recipes" / "quickstart.yaml"
STAGE1 = ROOT / "recipes" / "vm_stage1.yaml"
# RVM paper, training: stage 1 is 15 epochs on VideoMatte240K (~15.8k sequences of T=15 per epoch) in ~18 h on 4 V100
PAPER_GPU_FRAMES_PER_S = 15 * 15_800 * 15 / (18 * 3600 * 4)

# (label, codec overrides): the colour codec of fgr/bgr, the alpha codec of pha
CODECS = [
    ("jpg q95 + png (default)", {}),
    ("jpg q90 + png", {"quality": 90}),
    ("webp q95 + png", {"color": "webp"}),
    ("png + png (lossless)", {"color": "png"}),
    ("mp4 crf16 + png", {"color": "mp4"}),
    ("jpg q95 + mkv (ffv1)", {"alpha": "mkv"}),
]


def source_overrides(kind: str, root: Path) -> list[str]:
    """Recipe overrides pointing the train split at the benchmark sources (made under ``root``), or none (built-in)."""
    if kind == "builtin":
        return []
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_render import make_sources

    make_sources(root)
    return [f"sources.train.foreground={root}/fg", f"sources.train.background_videos={root}/bgv",
            f"sources.train.background_images={root}/bgi"]


def recipe_for(args: argparse.Namespace, samples: int, codec: dict[str, object] | None = None):
    overrides = args.source_overrides + [
        f"outputs.lr.compose.size=[{args.size}, {args.size}]", f"outputs.lr.compose.frames={args.frames}",
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


@contextmanager
def recording_reads() -> Iterator[list[tuple[str, int, bool]]]:
    """Every (path, reduction, gray) the frame readers decode while the block runs."""
    reads: list[tuple[str, int, bool]] = []
    color, alpha = readers.read_color, readers.read_alpha

    def read_color(path: str, reduction: int = 1, out: np.ndarray | None = None) -> np.ndarray:
        reads.append((path, reduction, False))
        return color(path, reduction, out=out)

    def read_alpha(path: str, reduction: int = 1) -> np.ndarray:
        reads.append((path, reduction, True))
        return alpha(path, reduction)

    readers.read_color, readers.read_alpha = read_color, read_alpha
    try:
        yield reads
    finally:
        readers.read_color, readers.read_alpha = color, alpha


@contextmanager
def decoded_once() -> Iterator[None]:
    """Render's source loaders answer from memory after their first call: what render costs besides decoding.
    The frame-by-frame readers (``iter_*``) replay copies of their frames; older versions' stack loaders
    (``load_*``) return their stacks."""
    names = ("iter_matte_packed", "iter_background_packed", "load_matte_packed", "load_background_packed",
             "load_matte", "load_background")
    loaders = {name: getattr(compose, name) for name in names if hasattr(compose, name)}  # this version's
    cache: dict[tuple[Any, ...], Any] = {}

    def cached(name: str) -> Callable[..., Any]:
        def load(clip: Any, indices: Any, **kw: Any) -> Any:
            key = (name, clip.name, tuple(np.asarray(indices).tolist()), kw.get("min_size"))
            if key not in cache:
                loaded = loaders[name](clip, indices, **kw)
                cache[key] = [(p, f.copy()) for p, f in loaded] if name.startswith("iter_") else loaded
            return iter(cache[key]) if name.startswith("iter_") else cache[key]
        return load

    for name in loaders:
        setattr(compose, name, cached(name))
    try:
        yield
    finally:
        for name, loader in loaders.items():
            setattr(compose, name, loader)


_OPENCV_FLAGS = {False: imageio._COLOR_FLAGS, True: imageio._GRAY_FLAGS}


def _decoders(data: bytes, reduction: int, gray: bool) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """(the fastest decode the library offers for this frame, OpenCV's decode)."""
    buffer = np.frombuffer(data, np.uint8)
    flag = _OPENCV_FLAGS[gray][reduction] | cv2.IMREAD_IGNORE_ORIENTATION

    def opencv() -> Any:
        return cv2.imdecode(buffer, flag)

    try:
        height, width, space, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        return opencv, opencv
    if space not in getattr(imageio, "_FAST_JPEG_SPACES", ("YCbCr", "Gray", "RGB")):  # older readers: no such list
        return opencv, opencv
    shape = dict(min_height=-(-height // reduction), min_width=-(-width // reduction), min_factor=reduction)
    return (lambda: simplejpeg.decode_jpeg(data, "GRAY" if gray else "RGB", **shape)), opencv


def _timed(calls: list[Callable[[], Any]]) -> float:
    start = time.process_time()
    for call in calls:
        call()
    return time.process_time() - start


def _encoders(samples: list[dict[str, Any]], codec: shard_codec.CodecConfig) -> list[Callable[[], Any]]:
    """One call per member the shards hold, its input already in the encoder's layout (BGR, one channel)."""
    calls: list[Callable[[], Any]] = []
    for sample in samples:
        for field in ("fgr", "pha", "bgr"):
            frames = sample[field]
            ext = codec.codec_for(frames.shape[-1])
            if ext in shard_codec.VIDEO_EXTS:
                calls.append(lambda frames=frames, ext=ext: shard_codec._encode_video(frames, ext, codec))
                continue
            params = shard_codec._image_params(ext, codec)
            for frame in frames:
                pixels = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR) if frame.shape[-1] == 3 else frame[..., 0].copy()
                calls.append(lambda pixels=pixels, ext=ext, params=params: cv2.imencode("." + ext, pixels, params))
    return calls


def codec_limit(recipe, samples: int, codecs: list[shard_codec.CodecConfig], repeat: int = 2) -> dict[str, Any]:
    """CPU seconds (best of ``repeat``, one thread) to decode the distinct source frames the specs of ``samples``
    read and to encode their outputs with each of ``codecs``, and to render them with their sources decoded
    already (render's own pixel work: warps, pixel ops), and so without their pixel ops (the warps alone)."""
    catalog = build_catalog(recipe.resolve_sources("train"))
    specs = list(plan_output_samples(recipe, "lr", "train", range(samples), catalog))
    # the same specs with every pixel op off (no colour, noise, blur, grayscale, sharpen): the warps alone
    geometric = [dataclasses.replace(spec, motion={}, grayscale=False, sharpen=None) for spec in specs]
    with recording_reads() as reads, decoded_once():
        rendered = [render_sample(spec, catalog) for spec in specs]
        render = min(_timed([lambda spec=spec: render_sample(spec, catalog) for spec in specs]) for _ in range(repeat))
        warps = min(_timed([lambda spec=spec: render_sample(spec, catalog) for spec in geometric])
                    for _ in range(repeat))
    decoders = [_decoders(Path(path).read_bytes(), reduction, gray) for path, reduction, gray in reads]
    fast = min(_timed([d[0] for d in decoders]) for _ in range(repeat))
    opencv = min(_timed([d[1] for d in decoders]) for _ in range(repeat))
    encode = [min(_timed(_encoders(rendered, codec)) for _ in range(repeat)) for codec in codecs]
    return {"reads": len(reads), "decode": fast, "decode_opencv": opencv, "encode": encode, "render": render,
            "warps": warps, "frames": samples * recipe.outputs["lr"].compose.frames}


def stage_times(recipe, samples: int) -> dict[str, float]:
    """CPU milliseconds per output frame of plan, render (its decode, warp, pixel ops) and encode, one process."""
    catalog = build_catalog(recipe.resolve_sources("train"))
    compose = recipe.outputs["lr"].compose
    times = {"plan": 0.0, "render": 0.0, "encode": 0.0}
    inside: dict[str, float] = {}
    specs = plan_output_samples(recipe, "lr", "train", range(samples), catalog)  # as the build plans them
    for _ in range(samples):
        t0 = time.process_time()
        spec = next(specs)
        t1 = time.process_time()
        sample = render_sample(spec, catalog, timings=inside)
        t2 = time.process_time()
        encode_sample(sample, recipe.shards.codec)
        t3 = time.process_time()
        for key, seconds in zip(times, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            times[key] += seconds
    frames = samples * compose.frames
    return {**{k: 1000 * v / frames for k, v in times.items()}, **{k: 1000 * v / frames for k, v in inside.items()}}


def epoch_table(per_cpu_second: float, gpu_frames_per_s: float, source: str) -> None:
    """Core-hours of one fresh stage-1 epoch and cores that keep 1, 4, 8 GPUs fed, from the measured rate."""
    stage1 = load_recipe(STAGE1)
    lr = stage1.outputs["lr"]
    frames = lr.samples["train"] * lr.compose.frames
    batch = stage1.train.batch_size if stage1.train is not None else 1
    step = batch * lr.compose.frames / gpu_frames_per_s
    height, width = lr.compose.size
    print(f"## One fresh stage-1 epoch (recipes/vm_stage1.yaml: {lr.samples['train']} samples x T={lr.compose.frames} "
          f"at {height}x{width} = {frames:,} frames), extrapolated from {per_cpu_second:.0f} frames per CPU-second\n")
    print(f"{frames / per_cpu_second / 3600:.2f} core-hours per epoch ({frames / per_cpu_second / 3600 / 16:.3f} h "
          "on a 16-core machine).\n")
    print(f"GPU side: {gpu_frames_per_s:.1f} matting frames/s per GPU ({source}), RVM's batch of {batch} sequence "
          f"of {lr.compose.frames} frames per GPU, so one step per {step:.2f} s.\n")
    print("| GPUs | frames/s consumed | cores to keep them fed | one epoch's shards on those cores |")
    print("|---:|---:|---:|---:|")
    for gpus in (1, 4, 8):
        cores = gpus * gpu_frames_per_s / per_cpu_second
        print(f"| {gpus} | {gpus * gpu_frames_per_s:.0f} | {cores:.2f} | "
              f"{frames / (max(1, int(np.ceil(cores))) * per_cpu_second) / 3600:.2f} h |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=32, help="training samples per throughput run")
    parser.add_argument("--codec-samples", type=int, default=4, help="samples per codec size run")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--frames", type=int, default=15)
    parser.add_argument("--sources", choices=("bench", "builtin"), default="bench")
    parser.add_argument("--gpu-frames-per-s", type=float, default=None,
                        help=f"a GPU's stage-1 training throughput in matting frames/s (default: the RVM paper's, "
                             f"{PAPER_GPU_FRAMES_PER_S:.1f})")
    args = parser.parse_args()
    cv2.setNumThreads(1)  # the codec limit is one thread's, as every build job is

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        args.source_overrides = source_overrides(args.sources, tmp_path / "sources")
        recipe = recipe_for(args, args.samples)
        for workers in (1, 2):  # warm-up: imports, source caches, loky processes
            build(recipe, tmp_path / f"warm{workers}", workers=workers, limit=4, splits=["train"], progress=False)

        load = os.getloadavg()[0]
        runs, cpu = {}, {}
        for w in (1, 2, 1):  # the 1-worker build before and after the 2-worker one: the less loaded of the two
            before = cpu_seconds()
            run = build(recipe, tmp_path / f"w{w}-{len(cpu)}", workers=w, splits=["train"], progress=False)
            seconds = cpu_seconds() - before
            if w not in cpu or seconds < cpu[w]:
                runs[w], cpu[w] = run, seconds
        limit = codec_limit(recipe, args.samples, [recipe.shards.codec])
        sources = ("bench sources: 768x432 JPEG fg, 1280x720 JPEG bg video, 1024x768 bg images"
                   if args.sources == "bench" else "built-in sample set")
        print(f"## Build throughput: {args.size}x{args.size}, T={args.frames}, {args.samples} samples, jpg q95 + png, "
              f"{sources} (load average before: {load:.1f} on {os.cpu_count()} cores)\n")
        print("| workers | frames | wall s | frames/s | frames/s per core (wall) | CPU s | frames per CPU-second |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for w, s in sorted(runs.items()):
            print(f"| {w} | {s.rendered_frames} | {s.seconds:.2f} | {s.frames_per_s:.0f} | {s.frames_per_s / w:.0f} | "
                  f"{cpu[w]:.2f} | {s.rendered_frames / cpu[w]:.0f} |")
        print(f"\n2 workers / 1 worker, wall clock: **{runs[2].frames_per_s / runs[1].frames_per_s:.2f}x**; "
              f"CPU per frame, 2 workers / 1 worker: {cpu[2] / cpu[1]:.2f} (1.00 = no parallel overhead)\n")

        build_rate = runs[1].rendered_frames / cpu[1]
        frames, encode, render = limit["frames"], limit["encode"][0], limit["render"]
        rows = [("codec limit: decode (libjpeg-turbo via simplejpeg, as the build) + encode", limit["decode"] + encode),
                ("codec limit with OpenCV's decode (the build's decoder before #15)", limit["decode_opencv"] + encode),
                ("codec limit + the warps alone (render with its sources decoded and no pixel op): the least "
                 "pixel work of a composite", limit["decode"] + encode + limit["warps"]),
                ("codec limit + render with its sources decoded (warps, pixel ops): all the pixel work",
                 limit["decode"] + encode + render)]
        print(f"### Against the codec limit (same run; {limit['reads']} distinct source frames decoded, "
              f"{frames} output frames encoded; CPU time, one thread, best of 2)\n")
        print("| | CPU ms per frame | frames per CPU-second | build / this |")
        print("|---|---:|---:|---:|")
        print(f"| build, 1 worker (everything) | {1000 / build_rate:.2f} | {build_rate:.0f} | |")
        for label, seconds in rows:
            bold = "**" if label.startswith("codec limit: ") else ""
            print(f"| {label} | {1000 * seconds / frames:.2f} | {frames / seconds:.0f} | "
                  f"{bold}{build_rate * seconds / frames:.2f}{bold} |")
        ceiling = (limit["decode"] + encode) / (limit["decode"] + encode + limit["warps"])
        print(f"\nms per frame: decode {1000 * limit['decode'] / frames:.2f} (OpenCV's "
              f"{1000 * limit['decode_opencv'] / frames:.2f}), encode {1000 * encode / frames:.2f}, render without "
              f"decoding {1000 * render / frames:.2f} (the warps alone {1000 * limit['warps'] / frames:.2f}). "
              f"The most a build that warps could reach: **{ceiling:.2f}** "
              "of the codec limit (codec limit / codec limit + the warps alone).\n")
        stages = stage_times(recipe, 4)
        inside = ", ".join(f"{k} {stages[k]:.2f}" for k in ("decode", "warp", "pixel_ops") if k in stages)
        print("ms per frame, one process: " + ", ".join(f"{k} {stages[k]:.2f}" for k in ("plan", "render", "encode"))
              + f" CPU; inside render {inside} wall\n")

        gpu_rate = args.gpu_frames_per_s or PAPER_GPU_FRAMES_PER_S
        epoch_table(build_rate, gpu_rate, "given" if args.gpu_frames_per_s else
                    "the RVM paper's stage-1 throughput on V100s, not measured here")

        print(f"## Bytes per frame by codec ({args.size}x{args.size}, T={args.frames}, {args.codec_samples} samples, "
              "1 worker)\n")
        print("| codec (colour + alpha) | bytes/frame (fgr+pha+bgr) | vs default | build frames per CPU-second "
              "| build / codec limit |")
        print("|---|---:|---:|---:|---:|")
        default = None
        recipes = [recipe_for(args, args.codec_samples, codec) for _, codec in CODECS]
        small = codec_limit(recipes[0], args.codec_samples, [r.shards.codec for r in recipes], repeat=1)
        for (label, _), codec_recipe, encode in zip(CODECS, recipes, small["encode"], strict=True):
            before = cpu_seconds()
            s = build(codec_recipe, tmp_path / label.replace(" ", "_"), splits=["train"], progress=False)
            per_cpu_second = s.rendered_frames / (cpu_seconds() - before)
            per_frame = s.bytes / s.rendered_frames
            default = default or per_frame
            limit_rate = small["frames"] / (small["decode"] + encode)
            print(f"| {label} | {per_frame / 1000:.1f} KB | {per_frame / default:.2f}x | {per_cpu_second:.0f} | "
                  f"{per_cpu_second / limit_rate:.2f} |")


if __name__ == "__main__":
    main()
