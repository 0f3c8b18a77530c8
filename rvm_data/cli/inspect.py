"""``rvm-data inspect DIR [--verify]``: what a build folder holds, and whether it is intact."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rvm_data.augment.temporal import speed_line, speed_stats
from rvm_data.errors import RvmDataError
from rvm_data.shards.folder import BuildFolder
from rvm_data.shards.layout import is_spec_member
from rvm_data.shards.manifest import ManifestError, ShardEntry
from rvm_data.shards.reader import ShardError, scan_shard
from rvm_data.shards.verify import inspect_build, verify_build
from rvm_data.units import byte_size

SPEED_SPECS = 2000  # specs read per split/output for the realised speeds (one small read each)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", help="build folder (holds manifest.json)")
    parser.add_argument("--verify", action="store_true",
                        help="check every sha256 and decode every member (reads everything)")
    parser.add_argument("--samples", action="store_true",
                        help="list every sample: key, sources (clip, frames), augmentations that fired, replacements")
    parser.add_argument("--spec", type=int, metavar="INDEX", help="print sample INDEX's spec.json")
    parser.add_argument("--split", help="with --samples/--spec: only this split")
    parser.add_argument("--output", help="with --samples/--spec: only this output")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _progress(args: argparse.Namespace) -> bool:
    """A bar only where someone watches: a terminal, and no --no-progress."""
    return not getattr(args, "no_progress", False) and sys.stderr.isatty()


def _matting_specs(folder: BuildFolder, entries: list[ShardEntry]) -> list[dict[str, Any]]:
    """Up to SPEED_SPECS matting specs of one split/output, read member by member (frames skipped)."""
    specs: list[dict[str, Any]] = []
    for entry in entries:
        try:
            path = str(folder.path(entry))
            with open(path, "rb") as f:
                for ref in scan_shard(path):
                    for name, offset, size in ref.members:
                        if is_spec_member(name):
                            f.seek(offset)
                            spec = json.loads(f.read(size))
                            if isinstance(spec, dict) and isinstance(spec.get("fgr"), dict) and "clock" in spec:
                                specs.append(spec)
                    if len(specs) >= SPEED_SPECS:
                        return specs
        except (ShardError, OSError, ValueError, RvmDataError):
            continue  # unreadable shards are reported above
    return specs


def run(args: argparse.Namespace) -> int:
    """Exit 0 when all is well, 1 when a shard is unreadable or --verify finds a problem (each printed
    on a line of its own), 2 when the folder cannot be inspected at all (no manifest, or a manifest that
    fails validation without --verify)."""
    if args.samples or args.spec is not None:
        from rvm_data.cli.inspect_samples import list_samples, print_spec
        try:
            if args.spec is not None:
                return print_spec(args.dir, args.spec, args.split, args.output)
            return list_samples(args.dir, args.split, args.output, progress=_progress(args))
        except (RvmDataError, IndexError) as exc:
            print(f"rvm-data inspect: {exc}", file=sys.stderr)
            return 2
    try:
        manifest, stats = inspect_build(args.dir)
    except RvmDataError as exc:
        if not (args.verify and isinstance(exc, ManifestError)):
            print(f"rvm-data inspect: {exc}", file=sys.stderr)
            return 2
        manifest, stats = None, {}
    unreadable = [path for st in stats.values() for path in st.unreadable]
    if manifest is not None:
        folder = BuildFolder(args.dir, manifest)
        print(f"{args.dir}: recipe {folder.recipe.name} (hash {manifest.recipe_hash[:12]}), "
              f"rvm_data {manifest.version}")
        for group, st in stats.items():
            shape = f"T={st.shape[0]} {st.shape[1]}x{st.shape[2]}" if st.shape else "empty"
            print(f"{group}: {st.shards} shards, {st.samples} samples, {byte_size(st.bytes)}, {shape}")
            for field, fs in sorted(st.fields.items()):
                print(f"  {field:<5} {fs.codec:<5} {byte_size(fs.bytes_per_frame):>10}/frame  "
                      f"{byte_size(fs.bytes):>10}")
            specs = _matting_specs(folder, folder.groups()[group])
            try:
                lines = [speed_line(stream, speeds) for stream, speeds in speed_stats(specs).items()] if specs else []
            except (KeyError, TypeError, IndexError, ValueError) as exc:  # a spec not made by plan_sample
                lines = [f"speeds: a sample spec lacks what they need ({type(exc).__name__}: {exc})"]
            for line in lines:
                print(f"  {line}")
        totals = manifest.totals()["all"]
        print(f"total: {totals['shards']} shards, {totals['samples']} samples, {byte_size(totals['bytes'])}")
    if not args.verify:
        if unreadable:
            print(f"rvm-data inspect: {len(unreadable)} listed shard(s) cannot be read ({', '.join(unreadable[:3])}"
                  f"{' ...' if len(unreadable) > 3 else ''}); --verify says why", file=sys.stderr)
        return 1 if unreadable else 0
    from tqdm import tqdm
    bar = tqdm(total=totals["shards"] if manifest is not None else None, unit="shard", desc="verify",
               disable=not _progress(args), dynamic_ncols=True)
    try:
        problems = verify_build(args.dir, progress=lambda _path: bar.update(1))
    except RvmDataError as exc:
        print(f"rvm-data inspect: {exc}", file=sys.stderr)
        return 2
    finally:
        bar.close()
    errors = [p for p in problems if not p.warning]
    for problem in problems:
        print(f"{'WARN' if problem.warning else 'BAD'} {problem}")
    warned = len(problems) - len(errors)
    checked = f" ({totals['shards']} shards, {totals['samples']} samples)" if manifest is not None else ""
    print(f"verify: {'OK' if not errors else f'{len(errors)} problem(s)'}"
          f"{f', {warned} warning(s)' if warned else ''}{checked}")
    return 1 if errors else 0
