"""Every deterministic number the README's command transcripts show comes back from a fresh run.

The transcripts (```` ``` ```` blocks of ``$ command`` lines and their output) are rerun in a scratch folder
in README order; what is deterministic (counts, sizes, hashes, messages, exported clips) must match
the README line for line. Timings (``in 12.7 s = 383 frames/s``) are replaced before comparing: they
are this machine's, and the README says so. The training run is rerun for one step (its warning and
step-0 validation must match); transcripts that need minutes or a trained model (the rest of training,
matting, evaluation, a dask cluster, a Ctrl-C) are not rerun, but their build lines are checked against
the fresh build of the same recipe.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
TIMING = re.compile(r" in \d+(\.\d+)? s = \d+ frames/s")
SUMMARY = re.compile(r"^(\S+): (\d+ samples in \d+ shards, [\d.]+ [KMGT]?i?B);", re.M)

# The transcripts rerun, in README order, each command exactly as the README prints it.
RERUN = (
    "rvm-data build recipes/quickstart.yaml --workers 2",
    "rvm-data inspect shards/quickstart",
    "rvm-data build recipes/quickstart.yaml --set outputs.lr.compose.augment.fgr_affine.prob=1.3",
    "rvm-data build recipes/vm_stage3.yaml",
    "rvm-data build recipes/quickstart.yaml --set outputs.lr.compose.frames=12",
    "rvm-data build recipes/quickstart.yaml --workers 2 --out shards/quickstart-64 "
    "--set outputs.lr.compose.size=[64,64] --set outputs.lr.compose.frames=4 "
    "--set segmentation.outputs.seg_image.size=[64,64] --set segmentation.outputs.seg_video.size=[64,64] "
    "--set segmentation.outputs.seg_video.frames=4",
    "rvm-data build recipes/seg_builtin.yaml --out /tmp/segb --workers 2",
    "rvm-data build recipes/eval_builtin.yaml --out eval/builtin",
    "rvm-data export-frames eval/builtin eval/frames",
)


def plain_blocks() -> list[str]:
    """The README's fenced blocks without a language (``bash``/``python`` blocks are not transcripts)."""
    blocks: list[str] = []
    current: list[str] | None = None
    language = ""
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            if current is None:
                current, language = [], line[3:].strip()
            else:
                if not language:
                    blocks.append("\n".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def transcripts() -> list[tuple[str, list[str]]]:
    """Each README command (continuation lines joined) with the output lines that follow it, in order."""
    found: list[tuple[str, list[str]]] = []
    for block in plain_blocks():
        continued = False
        for line in block.splitlines():
            if continued:
                found[-1] = (found[-1][0] + " " + line.strip().rstrip("\\").strip(), found[-1][1])
                continued = line.endswith("\\")
            elif line.startswith("$ "):
                found.append((line[2:].rstrip("\\").strip(), []))
                continued = line.endswith("\\")
            elif found:
                found[-1][1].append(line)
    return found


def first_transcripts() -> dict[str, list[str]]:
    first: dict[str, list[str]] = {}
    for command, lines in transcripts():
        first.setdefault(command, lines)
    return first


def _normalised(lines: list[str]) -> list[str]:
    return [TIMING.sub(" in T s = F frames/s", line.rstrip()) for line in lines if line.strip()]


@dataclass(frozen=True)
class FreshRuns:
    folder: Path  # the scratch folder the commands ran in (it holds their builds)
    outputs: dict[str, list[str]]  # RERUN command -> its output lines


@pytest.fixture(scope="module")
def fresh_runs(tmp_path_factory: pytest.TempPathFactory) -> FreshRuns:
    """Each RERUN command's output, run in a scratch folder that sees the repository's recipes."""
    folder = tmp_path_factory.mktemp("readme-transcripts")
    (folder / "recipes").symlink_to(REPO / "recipes")
    segb = folder / "segb"
    cli = shutil.which("rvm-data", path=str(Path(sys.executable).parent)) or "rvm-data"
    env = {k: v for k, v in os.environ.items() if k != "RVM_DATA_ROOT"}
    outputs: dict[str, list[str]] = {}
    for command in RERUN:
        argv = command.split()[1:]
        argv = [str(segb) if a == "/tmp/segb" else a for a in argv]  # never write outside the scratch folder
        done = subprocess.run([cli, *argv, "--no-progress"] if argv[0] in ("build", "export-frames") else [cli, *argv],
                              cwd=folder, env=env, capture_output=True, text=True, timeout=600)
        text = (done.stdout + done.stderr).replace(str(segb), "/tmp/segb")
        outputs[command] = text.splitlines()
    return FreshRuns(folder, outputs)


TRAIN = ("OMP_NUM_THREADS=1 rvm-data train recipes/quickstart.yaml --shards shards/quickstart-64 "
         "--out runs/quickstart-64 --no-progress")


def test_the_training_transcript_starts_where_a_fresh_run_starts(fresh_runs: FreshRuns,
                                                                  tmp_path: Path) -> None:
    """The README's training run, cut to one step: its warning and step-0 validation (fixed by the seed
    and the valid split) come out the same; later steps are minutes of CPU and are not rerun."""
    shown = first_transcripts()[TRAIN]
    folder = fresh_runs.folder
    cli = shutil.which("rvm-data", path=str(Path(sys.executable).parent)) or "rvm-data"
    argv = TRAIN.split()[2:]
    argv[argv.index("runs/quickstart-64")] = str(tmp_path / "run")
    done = subprocess.run([cli, *argv, "--set", "train.max_steps=1"], cwd=folder, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    fresh = (done.stdout + done.stderr).splitlines()
    for prefix in ("rvm-data train: warning:", "step 0 valid:"):
        expected = [line for line in shown if line.startswith(prefix)]
        assert [line for line in fresh if line.startswith(prefix)] == expected


def test_every_rerun_command_is_in_the_readme() -> None:
    missing = [c for c in RERUN if c not in first_transcripts()]
    assert not missing, f"README no longer shows {missing}: update RERUN"


@pytest.mark.parametrize("command", RERUN)
def test_transcript_matches_a_fresh_run(command: str, fresh_runs: FreshRuns) -> None:
    assert _normalised(fresh_runs.outputs[command]) == _normalised(first_transcripts()[command])


def test_every_build_line_in_the_readme_matches_a_fresh_build(fresh_runs: FreshRuns) -> None:
    """Build lines of transcripts not rerun (a resumed Ctrl-C, the dask cluster) quote the totals of
    the fresh build of the same recipe and settings."""
    quickstart = SUMMARY.search("\n".join(fresh_runs.outputs[RERUN[0]]))
    assert quickstart is not None
    seen: set[str] = set()
    for command, lines in transcripts():
        first = command not in seen
        seen.add(command)
        for match in SUMMARY.finditer("\n".join(lines)):
            if first and command in RERUN:
                continue  # compared whole above
            assert command.startswith("rvm-data build recipes/quickstart.yaml") and "--set" not in command, (
                f"{command}: a build line no test reruns; add the command to RERUN")
            assert match.group(2) == quickstart.group(2), (
                f"{command}: README says {match.group(2)}, a fresh build {quickstart.group(2)}")
