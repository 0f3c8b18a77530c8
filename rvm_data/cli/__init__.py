"""rvm-data: make video-matting training data, look at it, train and evaluate on it.

One sub-command a module under rvm_data.cli, imported only when it is run.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from rvm_data import __version__

# name -> (module under rvm_data.cli, one-line help). Each module defines
# ``add_arguments(parser)`` and ``run(args) -> int``.
COMMANDS: dict[str, tuple[str, str]] = {
    "build": ("build", "render a recipe's samples into shards"),
    "inspect": ("inspect", "count, size and verify a build folder"),
    "preview": ("preview", "plot the augmentation trajectories and frames of a sample"),
    "sample-sources": ("sample_sources", "make the built-in sample set and print where it is"),
    "train": ("train", "train MattingNetwork on a recipe's shards"),
    "evaluate": ("evaluate", "matting metrics of predictions against ground truth"),
    "export-frames": ("export_frames", "write a matting build as com/ pha/ fgr/ bgr/ PNG frame folders"),
    "matte": ("matte", "run a MattingNetwork checkpoint over a video"),
}


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rvm-data", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"rvm-data {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_module, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        make_parser().parse_args(argv)  # prints help, the version, or usage and the error, and exits
    name, rest = argv[0], argv[1:]
    module = importlib.import_module(f"rvm_data.cli.{COMMANDS[name][0]}")
    parser = argparse.ArgumentParser(prog=f"rvm-data {name}", description=COMMANDS[name][1])
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    return int(module.run(args) or 0)


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    """``--no-progress``; the library functions draw their bars only when stderr is a terminal anyway."""
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar (there is none either when stderr is not a terminal)")


if __name__ == "__main__":
    sys.exit(main())
