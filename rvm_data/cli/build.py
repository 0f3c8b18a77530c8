"""``rvm-data build RECIPE``: render a recipe's shards (resumes an interrupted build)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", help="recipe YAML file, e.g. recipes/quickstart.yaml")
    parser.add_argument("--out", metavar="DIR", help="build folder (default: shards/<recipe name>)")
    parser.add_argument("--workers", type=int, default=1, metavar="N", help="local worker processes (default 1)")
    parser.add_argument("--limit", type=int, metavar="N", help="at most N samples per output and split")
    parser.add_argument("--split", action="append", metavar="S", dest="splits",
                        help="build only this split (repeatable; default: all)")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                        help="run the jobs on this dask.distributed scheduler (--out on shared storage)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", dest="overrides",
                        help="override a recipe value (YAML), e.g. --set outputs.lr.compose.frames=8")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from rvm_data.build import BuildError, BuildInterrupted, build
    from rvm_data.recipe import RecipeError, load_recipe

    try:
        recipe = load_recipe(args.recipe, args.overrides)
        summary = build(recipe, args.out, workers=args.workers, limit=args.limit, splits=args.splits,
                        scheduler=args.scheduler, progress=not args.no_progress)
    except (RecipeError, BuildError) as error:
        print(f"rvm-data build: {error}", file=sys.stderr)
        return 2
    except BuildInterrupted as interrupted:
        print(f"\nrvm-data build: {interrupted}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("\nrvm-data build: interrupted before any shard was rendered", file=sys.stderr)
        return 130
    print(summary.line())
    return 0
