"""``rvm-data export-frames``: a build as RVM's frame folders (com/, pha/, fgr/, bgr/ PNGs; img/, seg/ for
segmentation outputs)."""

from __future__ import annotations

import argparse
import sys

from rvm_data.cli import add_progress_argument

# rvm_data.evalsets.EXPORT_FIELDS, spelled out so that --help imports no torch (tests/test_cli.py checks it)
EXPORT_FIELDS = ("com", "pha", "fgr", "bgr")
SEG_EXPORT_FIELDS = ("img", "seg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="build folder (manifest.json), split folder or .tar shard")
    parser.add_argument("out", help="folder to write <split>/<output>/<key>/{com,pha,fgr,bgr}/ into "
                                    "(segmentation outputs: {img,seg}/)")
    parser.add_argument("--split", help="only this split of a build folder")
    parser.add_argument("--fields", nargs="+", default=list(EXPORT_FIELDS + SEG_EXPORT_FIELDS),
                        choices=EXPORT_FIELDS + SEG_EXPORT_FIELDS,
                        help="folders to write: com pha fgr bgr of matting samples, img seg of segmentation ones")
    add_progress_argument(parser)


def run(args: argparse.Namespace) -> int:
    from rvm_data.errors import RvmDataError
    from rvm_data.evalsets import export_frames

    try:
        names = export_frames(args.source, args.out, split=args.split, fields=args.fields,
                              progress=not args.no_progress)
    except RvmDataError as err:
        print(f"rvm-data export-frames: {err}", file=sys.stderr)
        return 2
    shown = ", ".join(names[:4]) + (" ..." if len(names) > 4 else "")
    print(f"exported {len(names)} clips to {args.out}: {shown}")
    return 0
