"""``rvm-data sample-sources``: make the built-in sample set (once) and print where it is."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache", metavar="DIR",
                        help="where to keep it (default: $RVM_DATA_CACHE or ~/.cache/rvm-data)")


def run(args: argparse.Namespace) -> int:
    from rvm_data.sources.builtin import ensure_sample_set

    root = ensure_sample_set(args.cache)
    print(root)
    return 0
