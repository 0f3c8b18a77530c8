"""``rvm-data matte``: run a MattingNetwork checkpoint over a video or frame folder."""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

from rvm_data.cli import add_progress_argument

# rvm_data.model.inference's BACKGROUNDS and FORMATS, spelled out so that --help imports no torch
# (tests/test_cli.py checks they agree).
BACKGROUNDS = ("green", "white")
FORMATS = ("video", "png")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="video file (any format PyAV reads), folder of frames, or a folder of clips "
                                      "<clip>/com/ as `rvm-data export-frames` writes them "
                                      "(each matted into --out/<clip>/)")
    parser.add_argument("--checkpoint", required=True, help="MattingNetwork state dict (e.g. rvm_mobilenetv3.pth)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--downsample-ratio", type=float, default=None,
                        help="resolution of the base network relative to the input (default: long side ~512 px)")
    parser.add_argument("--format", choices=FORMATS, default="video",
                        help="video: com.mp4, pha.mp4, fgr.mp4; png: com/, pha/, fgr/ with <frame:05d>.png")
    parser.add_argument("--background", choices=BACKGROUNDS, default="green", help="composition colour")
    parser.add_argument("--chunk", type=int, default=1,
                        help="frames per forward pass; the state carries across, so only speed changes "
                             "(1 is fastest on CPU)")
    parser.add_argument("--fps", type=Fraction, default=None,
                        help="output frame rate (default: the input's, 30 for frames)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="CPU threads (default: $OMP_NUM_THREADS, else the CPUs this process may use that are "
                             "not busy)")
    add_progress_argument(parser)


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from rvm_data.errors import RvmDataError
    from rvm_data.model.inference import count_frames, find_clips, inference_threads, matte_clip
    from rvm_data.model.network import MattingNetwork, load_checkpoint

    if args.threads is not None and args.threads < 1:
        print(f"rvm-data matte: error: --threads must be >= 1, got {args.threads}", file=sys.stderr)
        return 2
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads or inference_threads())
    try:
        clips = find_clips(args.input)
        model = load_checkpoint(MattingNetwork(), args.checkpoint)
        counts = [count_frames(source) for source, _ in clips]
        known = [c for c in counts if c is not None]
        total = sum(known) if len(known) == len(counts) else None
        with tqdm(total=total, desc="matte", unit="frame", disable=True if args.no_progress else None) as bar:
            for source, relative in clips:
                result = matte_clip(
                    model, source, Path(args.out) / relative,
                    downsample_ratio=args.downsample_ratio, fmt=args.format, background=args.background,
                    chunk=args.chunk, rate=args.fps, device=args.device, on_frames=bar.update,
                )
                height, width = result.size
                name = "" if relative == Path(".") else f"{relative}: "
                bar.write(f"{name}matted {result.frames} frames ({width}x{height}, "
                          f"downsample ratio {result.downsample_ratio:g})", file=sys.stdout)
                if len(clips) == 1:
                    for kind, path in result.outputs.items():
                        bar.write(f"  {kind}: {path}", file=sys.stdout)
    except RvmDataError as error:  # bad input, named; anything else is a bug and shows as one
        print(f"rvm-data matte: error: {error}", file=sys.stderr)
        return 2
    finally:
        torch.set_num_threads(threads)  # main() may run inside a larger program (the tests)
    return 0
