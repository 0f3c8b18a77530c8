"""``rvm-data inspect DIR [--verify]``: what a build folder holds, and whether it is intact."""

from __future__ import annotations

import argparse
import sys

from rvm_data.shards.verify import inspect_build, verify_build


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", help="build folder (holds manifest.json)")
    parser.add_argument("--verify", action="store_true",
                        help="check every sha256 and decode every member (reads everything)")


def _size(n: float) -> str:
    """Bytes in binary units, as ``du -h`` prints them."""
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    k = 0
    while n >= 1024 and k < len(units) - 1:
        n, k = n / 1024, k + 1
    return f"{n:.0f} B" if k == 0 else f"{n:.1f} {units[k]}"


def run(args: argparse.Namespace) -> int:
    try:
        manifest, stats = inspect_build(args.dir)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"rvm-data inspect: {exc}", file=sys.stderr)
        return 2
    name = manifest.recipe.get("name", "?") if isinstance(manifest.recipe, dict) else "?"
    print(f"{args.dir}: recipe {name} (hash {manifest.recipe_hash[:12]}), rvm_data {manifest.version}")
    for group, st in stats.items():
        shape = f"T={st.shape[0]} {st.shape[1]}x{st.shape[2]}" if st.shape else "empty"
        print(f"{group}: {st.shards} shards, {st.samples} samples, {_size(st.bytes)}, {shape}")
        for field, fs in sorted(st.fields.items()):
            print(f"  {field:<5} {fs.codec:<5} {_size(fs.bytes_per_frame):>10}/frame  {_size(fs.bytes):>10}")
    totals = manifest.totals()["all"]
    print(f"total: {totals['shards']} shards, {totals['samples']} samples, {_size(totals['bytes'])}")
    if not args.verify:
        return 0
    problems = verify_build(args.dir)
    for problem in problems:
        print(f"BAD {problem}")
    print(f"verify: {'OK' if not problems else f'{len(problems)} problem(s)'}"
          f" ({totals['shards']} shards, {totals['samples']} samples)")
    return 1 if problems else 0
