"""CPU inference time per frame of MattingNetwork, streaming with carried recurrent state.

    python benchmarks/bench_model.py [--frames 8] [--threads N]

Prints a markdown table: per-frame latency when frames go through one at a time (T=1, as a
live stream would) and in chunks of 4 (as ``rvm-data matte`` does), at 512x288 (downsample 1)
and 1920x1080 (downsample 0.25). Weights are random: speed does not depend on their values.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from rvm_data.model import MattingNetwork

CASES = ((288, 512, 1.0), (1080, 1920, 0.25))
CHUNKS = (1, 4)


def seconds_per_frame(model: MattingNetwork, height: int, width: int, ratio: float, chunk: int, frames: int) -> float:
    """Mean wall time per frame over ``frames`` frames after one warm-up chunk."""
    src = torch.rand(1, chunk, 3, height, width, generator=torch.Generator().manual_seed(0))
    calls = max(1, frames // chunk)
    with torch.inference_mode():
        rec = model(src, downsample_ratio=ratio)[2:]
        start = time.perf_counter()
        for _ in range(calls):
            rec = model(src, *rec, downsample_ratio=ratio)[2:]
        return (time.perf_counter() - start) / (calls * chunk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=8, help="timed frames per row")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)), help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = MattingNetwork().eval()
    cpu = platform.processor() or platform.machine()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {cpu}\n")
    print("| input | downsample | frames per call | ms / frame | frames / s | x 512x288 T=1 time |")
    print("|---|---|---|---|---|---|")
    reference = None
    for height, width, ratio in CASES:
        for chunk in CHUNKS:
            seconds = seconds_per_frame(model, height, width, ratio, chunk, args.frames)
            reference = reference or seconds
            print(
                f"| {width}x{height} | {ratio:g} | {chunk} | {seconds * 1000:.1f} | {1 / seconds:.1f} "
                f"| {seconds / reference:.2f} |"
            )


if __name__ == "__main__":
    main()
