"""``rvm-data build RECIPE``: render a recipe's shards (resumes an interrupted build)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rvm_data.shards.layout import EPOCH_LIMIT

if TYPE_CHECKING:
    from rvm_data.recipe import Recipe


EPILOG = """\
A build only adds to its folder: it keeps every shard the folder lists, never rewrites an intact one and
writes only shards that are byte for byte those of the full build, so --limit and --split never shrink a
folder. One build at a time per folder: a second one is refused at once, naming the build that holds it.
Exit status: 0 done; 2 refused or failed, one line says why (the folder then lists only intact shards);
130 on Ctrl-C, 143 on SIGTERM (timeout, scancel, docker stop), 129 on SIGHUP: the complete shards are
kept, the temporaries removed, and the same command resumes."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("recipe", help="recipe YAML file, e.g. recipes/quickstart.yaml, or a build folder: "
                                       "more of the recipe it records (e.g. --epochs), into it")
    parser.add_argument("--out", metavar="DIR", help="build folder (default: shards/<recipe name>)")
    parser.add_argument("--workers", type=int, default=1, metavar="N", help="local worker processes (default 1)")
    parser.add_argument("--limit", type=int, metavar="N",
                        help="build only the first shards of each output and split, enough for N samples (rounded "
                             "up to whole shards, so they are the full build's; shards already there are kept)")
    parser.add_argument("--epochs", type=epoch_range, default=range(1), metavar="A:B",
                        help="build epochs A to B-1 of the recipe's sample space (or one epoch N): every epoch "
                             "draws every sample afresh; epoch 0 is DIR itself, epoch e >= 1 its train split in "
                             "DIR/epochs/NNNN (default: 0)")
    parser.add_argument("--split", action="append", metavar="S", dest="splits",
                        help="build only this split (repeatable; default: all)")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                        help="run the jobs on this dask.distributed scheduler (--out on shared storage)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", dest="overrides",
                        help="override a recipe value (YAML), e.g. --set outputs.lr.compose.frames=8")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from rvm_data.build import BuildInterrupted, build, build_splits
    from rvm_data.errors import RvmDataError

    try:
        recipe, out = _recipe_and_folder(args)
        for epoch in args.epochs:  # a refusal of any epoch comes before the first is built
            build_splits(recipe, args.splits, epoch)
        for epoch in args.epochs:
            summary = build(recipe, out, workers=args.workers, limit=args.limit, splits=args.splits,
                            scheduler=args.scheduler, progress=not args.no_progress, epoch=epoch)
            print(summary.line(), flush=True)
    except RvmDataError as error:
        print(f"rvm-data build: {error}", file=sys.stderr)
        return 2
    except BuildInterrupted as interrupted:
        _ignore_further_signals()
        print(f"\nrvm-data build: {interrupted}", file=sys.stderr)
        return 128 + interrupted.signum
    except KeyboardInterrupt as interrupt:  # Ctrl-C, or SIGTERM/SIGHUP as rvm_data.build.Stopped
        _ignore_further_signals()
        signum = getattr(interrupt, "signum", signal.SIGINT)
        how = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
        print(f"\nrvm-data build: {how} before any shard was rendered", file=sys.stderr)
        return 128 + signum
    return 0


def _recipe_and_folder(args: argparse.Namespace) -> tuple[Recipe, str | None]:
    """The recipe file's recipe, or the recipe a build folder records (built into that folder)."""
    from rvm_data.build import recipe_of_build
    from rvm_data.buildfolder import BuildError
    from rvm_data.recipe import load_recipe

    if not Path(args.recipe).is_dir():
        return load_recipe(args.recipe, args.overrides), args.out
    if args.overrides:
        raise BuildError(f"{args.recipe}: a build folder's recipe is built as it was recorded; --set would make "
                         "another recipe (build that from its YAML file into a new --out)")
    return recipe_of_build(args.recipe), args.out or args.recipe


def epoch_range(text: str) -> range:
    """``A:B`` (epochs A to B-1, as a Python slice) or ``N`` (epoch N alone)."""
    first, sep, stop = text.partition(":")
    try:
        epochs = range(int(first), int(stop)) if sep else range(int(first), int(first) + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected A:B or N (whole numbers), got {text!r}") from None
    if not epochs or epochs.start < 0:
        raise argparse.ArgumentTypeError(f"expected 0 <= A < B, got {text!r}")
    if epochs.stop > EPOCH_LIMIT:
        raise argparse.ArgumentTypeError(f"epochs are 0 to {EPOCH_LIMIT - 1} (DIR/epochs/NNNN), got {text!r}")
    return epochs


def _ignore_further_signals() -> None:
    """The build has stopped and recorded what it finished; more signals (a second Ctrl-C, `timeout`
    sending TERM again) must not turn the exit (worker shutdown included) into a traceback."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
