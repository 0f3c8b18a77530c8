"""``rvm-data train RECIPE``: train MattingNetwork on the shards the recipe built (its ``train:`` section)."""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import TextIO


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", help="recipe YAML file with a train: section, e.g. recipes/quickstart.yaml")
    parser.add_argument("--out", metavar="DIR",
                        help="run folder: checkpoints, log.jsonl, images (default: runs/<recipe name>)")
    parser.add_argument("--shards", metavar="DIR", help="build folder to train on (default: shards/<recipe name>)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.add_argument("--init", metavar="CKPT",
                        help="start from these weights: a stage's checkpoint/model.pth or an original RVM .pth")
    parser.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", dest="overrides",
                        help="override a recipe value (YAML), e.g. --set train.max_steps=200")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when available, else cpu")
    parser.add_argument("--build-ahead", type=int, metavar="K",
                        help="build epochs e+1..e+K of the recipe's train samples while epoch e trains, so every "
                             "epoch trains on fresh samples (into the --shards folder's epochs/)")
    parser.add_argument("--build-workers", type=int, default=1, metavar="N",
                        help="local processes of that build (default 1)")
    parser.add_argument("--build-scheduler", metavar="tcp://HOST:PORT",
                        help="run that build on this dask.distributed scheduler instead (--shards on shared storage)")
    parser.add_argument("--keep-epochs", type=int, metavar="N",
                        help="with --build-ahead: delete the epoch folders training has left N epochs behind")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: TextIO | None = None, line: str | None = None) -> None:
    print(f"rvm-data train: warning: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from rvm_data.errors import RvmDataError
    from rvm_data.recipe import load_recipe
    from rvm_data.train.errors import TrainInterrupted
    from rvm_data.train.run import train

    warnings.showwarning = _show_warning
    from rvm_data.build import stop_signals_interrupt

    try:
        recipe = load_recipe(args.recipe, args.overrides)
        with stop_signals_interrupt():  # SIGTERM/SIGHUP (timeout, scancel, a closed terminal) stop like Ctrl-C
            result = train(recipe, out_dir=args.out, build_dir=args.shards, resume=args.resume, init=args.init,
                           device=args.device, progress=not args.no_progress, build_ahead=args.build_ahead,
                           build_workers=args.build_workers, build_scheduler=args.build_scheduler,
                           keep_epochs=args.keep_epochs)
    except TrainInterrupted as error:
        print(f"\nrvm-data train: {error}", file=sys.stderr)
        return 128 + error.signum
    except RvmDataError as error:  # bad input, named in one line; anything else is a bug and shows as one
        print(f"rvm-data train: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nrvm-data train: interrupted (use --resume to continue from the last checkpoint)", file=sys.stderr)
        return 130
    if result.main:
        print(result.line())
    return 0
