"""``rvm-data preview``: trajectory plot, frame sheet and clips of one sample (from a recipe or a build)."""

from __future__ import annotations

import argparse
import sys

from rvm_data.cli import add_progress_argument
from rvm_data.errors import RvmDataError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="a recipe YAML (plans and renders the sample) or a build folder "
                                       "(reads the sample and its spec from the shards)")
    parser.add_argument("--index", type=int, default=0, help="sample index within the split (default 0)")
    parser.add_argument("--split", help="split to preview (default: train, or the only one)")
    parser.add_argument("--output", help="which output of the recipe, e.g. lr or hr (default: the only one)")
    parser.add_argument("--out", default="preview", help="folder for the files (default: ./preview)")
    parser.add_argument("--fps", type=float, default=10.0, help="frame rate of the MP4 clips (default 10)")
    parser.add_argument("--count", type=int, default=0, metavar="K",
                        help="also write a grid of the first/last frames of K samples from --index on")
    parser.add_argument("--tile-height", type=int, default=128, metavar="PX",
                        help="height of one frame in the frame sheet and grid (default 128)")
    parser.add_argument("--show", action="store_true",
                        help="open an OpenCV window (trackbar scrubs frames, n/p next/previous sample, q quits) "
                             "where a display and a GUI build of OpenCV exist")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a recipe value, e.g. --set outputs.lr.compose.frames=8 (recipes only)")
    add_progress_argument(parser)


def run(args: argparse.Namespace) -> int:
    from rvm_data.viewer.load import PreviewError
    from rvm_data.viewer.preview import open_source, preview_files, show_window
    from rvm_data.viewer.sheets import SheetLayout

    try:
        if args.tile_height < 8:
            raise PreviewError(f"--tile-height must be >= 8, got {args.tile_height}")
        if args.count < 0:
            raise PreviewError(f"--count must be >= 0, got {args.count}")
        if not args.fps > 0:
            raise PreviewError(f"--fps must be > 0, got {args.fps}")
        source = open_source(args.target, output=args.output, split=args.split, overrides=tuple(args.overrides))
        layout = SheetLayout(tile_height=args.tile_height)
        paths = preview_files(source, args.index, args.out, fps=args.fps, count=args.count, layout=layout,
                              progress=not args.no_progress)
    except RvmDataError as err:
        print(f"rvm-data preview: error: {err}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    if args.show:
        problem = show_window(source, args.index)
        if problem:
            print(f"rvm-data preview: --show: {problem}; wrote the files above instead", file=sys.stderr)
    return 0
