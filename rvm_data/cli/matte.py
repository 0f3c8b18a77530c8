"""``rvm-data matte``: run a MattingNetwork checkpoint over a video or frame folder."""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

from rvm_data.model.inference import BACKGROUNDS, FORMATS, find_clips, matte_clip
from rvm_data.model.network import MattingNetwork, load_checkpoint


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="video file (any format PyAV reads), folder of frames, or a folder of clips "
                                      "<clip>/com/ as `rvm-data export-frames` writes them (each matted into --out/<clip>/)")
    parser.add_argument("--checkpoint", required=True, help="MattingNetwork state dict (e.g. rvm_mobilenetv3.pth)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--downsample-ratio", type=float, default=None,
                        help="resolution of the base network relative to the input (default: long side ~512 px)")
    parser.add_argument("--format", choices=FORMATS, default="video",
                        help="video: com.mp4, pha.mp4, fgr.mp4; png: com/, pha/, fgr/ with <frame:05d>.png")
    parser.add_argument("--background", choices=tuple(BACKGROUNDS), default="green", help="composition colour")
    parser.add_argument("--chunk", type=int, default=1,
                        help="frames per forward pass; the state carries across, so only speed changes (1 is fastest on CPU)")
    parser.add_argument("--fps", type=Fraction, default=None, help="output frame rate (default: the input's, 30 for frames)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")


def run(args: argparse.Namespace) -> int:
    try:
        clips = find_clips(args.input)
        model = load_checkpoint(MattingNetwork(), args.checkpoint)
        for source, relative in clips:
            result = matte_clip(
                model, source, Path(args.out) / relative,
                downsample_ratio=args.downsample_ratio, fmt=args.format, background=args.background,
                chunk=args.chunk, rate=args.fps, device=args.device,
            )
            height, width = result.size
            name = "" if relative == Path(".") else f"{relative}: "
            print(f"{name}matted {result.frames} frames ({width}x{height}, downsample ratio {result.downsample_ratio:g})")
            if len(clips) == 1:
                for kind, path in result.outputs.items():
                    print(f"  {kind}: {path}")
    except (FileNotFoundError, ValueError) as error:
        print(f"rvm-data matte: error: {error}", file=sys.stderr)
        return 2
    return 0
