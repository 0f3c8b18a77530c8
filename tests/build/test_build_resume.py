"""Interrupted builds: SIGKILL, Ctrl-C and SIGTERM mid-way, then a rerun equal to an uninterrupted build."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from build_helpers import folder_bytes

from rvm_data.build import build
from rvm_data.recipe import load_recipe
from rvm_data.shards import read_manifest

# Slow enough (one sample per shard, 60 shards) that a signal lands mid-way.
OVERRIDES = ["outputs.lr.samples.train=60", "outputs.lr.compose.size=[64, 64]", "outputs.lr.compose.frames=4",
             "shards.samples_per_shard=1"]


@pytest.fixture(scope="module")
def long_reference(tiny_recipe_path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("long_reference") / "out"
    build(load_recipe(tiny_recipe_path, OVERRIDES), out, progress=False)
    return out


def start_build(recipe: Path, out: Path) -> subprocess.Popen:
    args = ["build", str(recipe), "--out", str(out), "--no-progress"]
    for override in OVERRIDES:
        args += ["--set", override]
    code = "import sys; from rvm_data.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _listed(out: Path) -> int:
    try:
        return read_manifest(out).totals()["all"]["shards"]
    except (OSError, ValueError):  # no manifest yet
        return 0


def interrupt_after_first_shards(proc: subprocess.Popen, out: Path, sig: int) -> tuple[int, str]:
    """Signal the build once its manifest lists 3 shards (a shard renamed into place but not yet recorded is
    removed by a clean stop, so counting files would let a loaded machine stop it before 3 are kept)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if _listed(out) >= 3:
            break
        time.sleep(0.002)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def visible_shards_are_complete(out: Path) -> int:
    shards = sorted(out.rglob("*.tar"))
    for shard in shards:
        with tarfile.open(shard) as tar:
            assert sum(name.endswith(".spec.json") for name in tar.getnames()) == 1, shard
    return len(shards)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM], ids=["sigkill", "ctrl-c", "sigterm"])
def test_interrupted_build_resumes_to_identical_bytes(sig, tiny_recipe_path, long_reference, tmp_path):
    out = tmp_path / "out"
    rc, err = interrupt_after_first_shards(start_build(tiny_recipe_path, out), out, sig)
    done = visible_shards_are_complete(out)
    assert 3 <= done < 66, "the signal should land mid-way"
    if sig != signal.SIGKILL:  # Ctrl-C and SIGTERM (timeout, scancel, docker stop) stop the same clean way
        how = "interrupted" if sig == signal.SIGINT else "stopped by SIGTERM"
        assert rc == 128 + sig and f"{how}: " in err and "rerun the same command" in err
        listed = _listed(out)
        assert done - 1 <= listed <= done  # the signal may land between a shard's rename and its record
        assert not [p for p in out.rglob(".*.tmp-*")], "a clean stop leaves no temporary file"
    else:
        assert rc == -signal.SIGKILL
    summary = build(load_recipe(tiny_recipe_path, OVERRIDES), out, progress=False)
    assert summary.kept_shards >= done - 1 and summary.shards == 66
    assert folder_bytes(out) == folder_bytes(long_reference)


def test_a_rerun_removes_the_temporary_files_a_kill_left(tiny_recipe_path, long_reference, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(long_reference, out)
    (out / ".manifest.json.tmp-4242").write_text("{")  # killed while writing the manifest
    (out / "train" / ".lr-000003.tar.tmp-4242").write_bytes(b"")  # killed while writing a shard
    (out / "train" / ".lr.wids.json.tmp-4242").write_text("{")  # killed while writing a shard list
    summary = build(load_recipe(tiny_recipe_path, OVERRIDES), out, progress=False)
    assert summary.kept_shards == summary.shards == 66
    assert folder_bytes(out) == folder_bytes(long_reference)
