"""``rvm-data evaluate``: matting metrics of predicted frames against the ground truth."""

from __future__ import annotations

import argparse
import sys

from rvm_data.cli import add_progress_argument

# rvm_data.metrics' METRICS and GRAD_NORMALISE, spelled out so that --help imports no OpenCV
# (tests/test_cli.py checks they agree).
METRICS = ("pha_mad", "pha_mse", "pha_grad", "pha_conn", "pha_dtssd", "fgr_mad", "fgr_mse")
GRAD_NORMALISE = ("auto", "minmax", "none")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pred", required=True,
                        help="predictions: <clip>/pha/*.png (+ fgr/), a pha/ folder, or shards")
    parser.add_argument("--true", required=True, help="ground truth in the same layout, or a shard build")
    parser.add_argument("--csv", help="also write the table (per clip and mean) to this CSV file")
    parser.add_argument("--metrics", nargs="+", default=list(METRICS), choices=METRICS, metavar="NAME",
                        help=f"metrics to compute (default: all of {', '.join(METRICS)})")
    parser.add_argument("--split", help="split of a shard build to read (default: all)")
    parser.add_argument("--workers", type=int, default=2, help="clips scored in parallel threads")
    parser.add_argument("--grad-normalise", choices=GRAD_NORMALISE, default="auto",
                        help="pha_grad: min-max normalise each frame first (RVM's evaluate_lr.py) or not "
                             "(its evaluate_hr.py); auto: not from a 1080-pixel shorter side, as RVM (default)")
    add_progress_argument(parser)


def run(args: argparse.Namespace) -> int:
    from rvm_data.errors import RvmDataError
    from rvm_data.metrics import evaluate

    try:
        result = evaluate(args.pred, args.true, metrics=args.metrics, split=args.split, workers=args.workers,
                          grad_normalise=args.grad_normalise, progress=not args.no_progress)
    except RvmDataError as err:  # bad input, named; anything else is a bug and shows as one
        print(f"rvm-data evaluate: {err}", file=sys.stderr)
        return 2
    print(result.table())
    if args.csv:
        result.write_csv(args.csv)
        print(f"wrote {args.csv}")
    return 0
