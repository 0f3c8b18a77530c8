"""``rvm-data sample-sources``: make the built-in sample set (once) and print where it is."""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache", metavar="DIR",
                        help="where to keep it (default: $RVM_DATA_CACHE or ~/.cache/rvm-data)")


def run(args: argparse.Namespace) -> int:
    from rvm_data.sources.builtin import DONE_FILE, ensure_sample_set

    root = ensure_sample_set(args.cache)
    print(root)
    contents = json.loads((root / DONE_FILE).read_text())
    parts = ", ".join(f"{part} {counts['train']}/{counts['valid']}" for part, counts in contents.items()
                      if isinstance(counts, dict))
    where = f"; builds find it with RVM_DATA_CACHE={args.cache} or RVM_DATA_BUILTIN={root}" if args.cache else ""
    print(f"train/valid: {parts}; recipes read it as ${{RVM_DATA_BUILTIN}} (see recipes/quickstart.yaml){where}",
          file=sys.stderr)
    return 0
