"""The rvm-data entry point: --help, --version and usage errors answer without importing the heavy stack."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rvm_data import __version__
from rvm_data.cli import COMMANDS

HEAVY = ("torch", "cv2", "av", "albumentations")
LIGHT_COMMANDS = ("build", "preview", "sample-sources", "train", "evaluate", "export-frames", "matte")

PROBE = """
import json, sys
from rvm_data.cli import main
try:
    main(json.loads(sys.argv[1]))
except SystemExit as stop:
    code = stop.code
else:
    code = None
print(json.dumps({"code": code, "heavy": sorted(set(json.loads(sys.argv[2])) & set(sys.modules))}), file=sys.stderr)
"""


def probe(argv: list[str]) -> tuple[int | None, list[str], str]:
    """Run ``main(argv)`` in a fresh interpreter: exit code, heavy modules it imported, its stdout."""
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(HEAVY)],
                          capture_output=True, text=True, timeout=60)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], report["heavy"], done.stdout


def test_version_prints_name_and_version() -> None:
    code, heavy, out = probe(["--version"])
    assert (code, heavy, out) == (0, [], f"rvm-data {__version__}\n")


def test_top_level_help_and_usage_errors_import_nothing_heavy() -> None:
    code, heavy, out = probe(["--help"])
    assert code == 0 and heavy == [] and all(name in out for name in COMMANDS)
    for argv in ([], ["nope"]):
        code, heavy, _ = probe(argv)
        assert code == 2 and heavy == []


@pytest.mark.parametrize("command", LIGHT_COMMANDS)
def test_command_help_and_usage_errors_import_nothing_heavy(command: str) -> None:
    code, heavy, out = probe([command, "--help"])
    assert code == 0 and heavy == [] and out.startswith(f"usage: rvm-data {command}")
    code, heavy, _ = probe([command, "--no-such-option"])
    assert code == 2 and heavy == []


def test_spelled_out_choices_agree_with_the_library() -> None:
    from rvm_data import evalsets, metrics
    from rvm_data.cli import evaluate, export_frames, matte
    from rvm_data.model import inference

    assert evaluate.METRICS == metrics.METRICS and evaluate.GRAD_NORMALISE == metrics.GRAD_NORMALISE
    assert export_frames.EXPORT_FIELDS == evalsets.EXPORT_FIELDS
    assert matte.FORMATS == inference.FORMATS and matte.BACKGROUNDS == tuple(inference.BACKGROUNDS)


def test_matte_threads_follow_omp_num_threads_else_the_idle_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from rvm_data.model.inference import inference_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert inference_threads() == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 0.0, 0.0))
    assert inference_threads() == len(os.sched_getaffinity(0))
    monkeypatch.setattr(os, "getloadavg", lambda: (1.0, 0.0, 0.0))
    assert inference_threads() == max(1, len(os.sched_getaffinity(0)) - 1)
    monkeypatch.setattr(os, "getloadavg", lambda: (500.0, 0.0, 0.0))
    assert inference_threads() == 1


@pytest.mark.parametrize("argv", [["inspect", "--help"], ["build", "no-such-recipe.yaml"],
                                  ["build", "recipes/quickstart.yaml", "--set", "outputs.lrr.compose.frames=1"]])
def test_inspect_help_and_recipe_errors_never_import_torch(argv: list[str]) -> None:
    """They read a recipe or a manifest (OpenCV and PyAV come with the sources and codecs), never the trainer's
    stack."""
    code, heavy, _ = probe(argv)
    assert code in (0, None) and "torch" not in heavy  # None: main returned (2, the error printed) without exiting
