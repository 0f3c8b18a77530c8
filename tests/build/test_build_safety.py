"""Builds that survive anything: --limit/--split never shrink a folder, one writer per folder, SIGTERM and
SIGKILL with workers, dead workers, unwritable folders and full disks. After each, the folder holds a true
manifest of intact shards and no temporaries, or the command was refused in one line naming the folder."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import pytest
from build_helpers import folder_bytes

from rvm_data.build import build
from rvm_data.buildfolder import LOCK_NAME, FolderError, FolderLock, write_error
from rvm_data.cli import main
from rvm_data.recipe import load_recipe
from rvm_data.shards import read_manifest, write_manifest
from rvm_data.shards.writer import _HashingFile

# A build that would run for a minute (1000 shards); every test stops it early, so each signal and second
# build lands while it works.
LONG = ["outputs.lr.samples.train=2000", "outputs.lr.samples.valid=0", "outputs.hr.samples.train=0",
        "outputs.lr.compose.size=[128, 128]", "outputs.lr.compose.frames=8", "shards.samples_per_shard=2"]
CLI = "import sys; from rvm_data.cli import main; sys.exit(main(sys.argv[1:]))"


def start(recipe: Path, out: Path, *args: str, overrides: list[str] = LONG) -> subprocess.Popen:
    """``rvm-data build`` in a process of its own."""
    sets = [a for o in overrides for a in ("--set", o)]
    return subprocess.Popen([sys.executable, "-c", CLI, "build", str(recipe), "--out", str(out), "--no-progress",
                             *sets, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen | None = None) -> None:
    """Poll until ``condition()``; fail if ``proc`` ends first or a minute passes."""
    deadline = time.monotonic() + 60
    while not condition():
        assert proc is None or proc.poll() is None, f"the build ended first: {proc.communicate()}"
        assert time.monotonic() < deadline, "condition never met"
        time.sleep(0.005)


def shards_on_disk(out: Path) -> int:
    return len(list(out.glob("*/*.tar")))


def temporaries(out: Path) -> list[Path]:
    return sorted(out.rglob(".*.tmp-*"))


def assert_true_build(out: Path) -> int:
    """Every listed shard is there with the listed size and sha256, no temporary is left; the count."""
    assert not temporaries(out), temporaries(out)
    entries = [e for split in read_manifest(out).splits.values() for e in split]
    for entry in entries:
        data = (out / entry.path).read_bytes()
        assert len(data) == entry.bytes and hashlib.sha256(data).hexdigest() == entry.sha256, entry.path
    return len(entries)


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("rvm-data build: "), err
    return lines[0]


def children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as gone: it cannot write)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def workers_of(pid: int) -> list[int]:
    """The loky worker processes among the children of ``pid``."""
    found = []
    for child in children(pid):
        try:
            if b"LokyProcess" in (Path("/proc") / str(child) / "cmdline").read_bytes():
                found.append(child)
        except OSError:  # gone meanwhile
            pass
    return found


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


@pytest.fixture
def reap() -> Iterator[list[int]]:
    """Pids to SIGKILL after the test where still alive, so a failing test leaves no worker rendering."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def tmpfs(tmp_path) -> Iterator[Callable[[str, str], Path]]:
    """``mount(size, options)``: a real small tmpfs (as root where the sandbox allows it), else skip."""
    mounted: list[Path] = []

    def mount(size: str, options: str = "") -> Path:
        where = tmp_path / f"mnt{len(mounted)}"
        where.mkdir()
        opts = f"size={size}" + (f",{options}" if options else "")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], check=False)


# ---------------------------------------------------------------------------------------------
# --limit and --split only add
# ---------------------------------------------------------------------------------------------


def test_a_shorter_limit_leaves_a_complete_build_as_it_is(reference_build, tiny_recipe_path, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(reference_build, out)
    before = folder_bytes(out)
    assert main(["build", str(tiny_recipe_path), "--out", str(out), "--limit", "1", "--no-progress"]) == 0
    assert "16 samples in 9 shards" in capsys.readouterr().out
    assert main(["build", str(tiny_recipe_path), "--out", str(out), "--split", "valid", "--limit", "2",
                 "--no-progress"]) == 0
    assert folder_bytes(out) == before and assert_true_build(out) == 9


def test_a_limited_build_writes_only_shards_of_the_full_build(reference_build, tiny_recipe_path, tmp_path):
    out = tmp_path / "out"
    build(load_recipe(tiny_recipe_path), out, limit=3, progress=False)
    listed = [e.path for split in read_manifest(out).splits.values() for e in split]
    assert listed == ["train/lr-000000.tar", "train/lr-000001.tar", "train/hr-000000.tar", "train/hr-000001.tar",
                      "valid/lr-000000.tar", "valid/lr-000001.tar"]  # 3 samples rounded up to 2 shards of 2
    for path in listed:
        assert (out / path).read_bytes() == (reference_build / path).read_bytes(), path
    assert assert_true_build(out) == 6


def test_a_partial_shard_listed_by_an_older_limited_build_is_refused(reference_build, tiny_recipe_path, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(reference_build, out)
    manifest = read_manifest(out)
    entry = manifest.splits["train"][1]
    manifest.splits["train"][1] = type(entry)(entry.path, 1, entry.bytes, entry.sha256)  # as a --limit 3 wrote it
    write_manifest(out, manifest)
    before = folder_bytes(out)
    with pytest.raises(FolderError, match=rf"{out}: the manifest lists train/lr-000001.tar with 1 samples.*2 samples"):
        build(load_recipe(tiny_recipe_path), out, progress=False)
    assert folder_bytes(out) == before


# ---------------------------------------------------------------------------------------------
# One writer per folder
# ---------------------------------------------------------------------------------------------


def test_the_lock_refuses_a_second_holder_and_names_the_first(tmp_path):
    with FolderLock(tmp_path):
        holder = json.loads((tmp_path / LOCK_NAME).read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        with pytest.raises(FolderError, match=rf"{tmp_path}: another build is writing .*pid {os.getpid()} on "):
            FolderLock(tmp_path).__enter__()
    with FolderLock(tmp_path):  # released on exit
        pass
    assert (tmp_path / LOCK_NAME).read_bytes() == b""  # a finished folder does not say who built it


def test_a_refusal_says_what_the_holder_does_and_a_folder_removed_before_its_lock_is_one_error(tmp_path):
    epoch = tmp_path / "0001"
    epoch.mkdir()
    with FolderLock(epoch, doing="deleting this epoch, which training has finished (--keep-epochs)"):
        with pytest.raises(FolderError, match=rf"{epoch}: another process is deleting this epoch, which training .*"
                                              rf"\(pid {os.getpid()} on "):
            FolderLock(epoch).__enter__()
    shutil.rmtree(epoch)  # what --keep-epochs does between a build's look at the folder and its lock
    with pytest.raises(FolderError, match=rf"{epoch}: the folder was removed \(by another process\) before it could"):
        FolderLock(epoch).__enter__()
    assert not epoch.exists()  # and the lock made nothing


def _remove_elsewhere(folder: Path, away: Path) -> str:
    """Another process's move_away_unread of ``folder``: "moved", or the reason it was refused."""
    code = ("import sys; from pathlib import Path; from rvm_data.buildfolder import FolderError, move_away_unread\n"
            "try:\n    move_away_unread(Path(sys.argv[1]), Path(sys.argv[2])); print('moved')\n"
            "except FolderError as error:\n    print(error.reason)")
    return subprocess.run([sys.executable, "-c", code, str(folder), str(away)], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_a_folder_read_by_one_process_is_not_moved_away_by_another_until_every_reader_lets_go(tmp_path):
    import multiprocessing

    from rvm_data.buildfolder import ReadHold, move_away_unread

    epoch = tmp_path / "0001"
    epoch.mkdir()
    lead, follower = ReadHold(epoch), ReadHold(epoch)  # two streams of one run reading one epoch
    lead.take()
    follower.take()
    with pytest.raises(FolderError, match=rf"{epoch}: this process is reading this folder"):
        move_away_unread(epoch, tmp_path / "away")
    lead.release()  # the lead stream moves on; the follower still reads
    assert _remove_elsewhere(epoch, tmp_path / "away") == "another process is reading this folder"
    worker = multiprocessing.get_context("fork").Process(target=time.sleep, args=(30,))
    worker.start()  # a DataLoader worker forked meanwhile inherits the lock's descriptor
    try:
        follower.release()
        assert _remove_elsewhere(epoch, tmp_path / "away") == "moved"
    finally:
        worker.kill()
        worker.join()
    assert not epoch.exists() and (tmp_path / "away").is_dir()


def test_a_reader_waiting_for_a_remover_is_told_the_folder_is_gone(tmp_path):
    import threading

    from rvm_data.buildfolder import ReadHold, move_away_unread

    epoch = tmp_path / "0001"
    epoch.mkdir()
    real_rename, renaming = Path.rename, threading.Event()

    def slow_rename(self: Path, target: Path) -> Path:
        renaming.set()
        time.sleep(0.3)  # the reader below opens .readers now and waits for the remover's lock
        return real_rename(self, target)

    with mock.patch.object(Path, "rename", slow_rename):
        remover = threading.Thread(target=move_away_unread, args=(epoch, tmp_path / "away"))
        remover.start()
        renaming.wait()
        with pytest.raises(FolderError, match=rf"{epoch}: the folder was removed \(by another process\) as this one"):
            ReadHold(epoch).take()
        remover.join()


def test_a_second_build_into_a_busy_folder_is_refused_at_once(tiny_recipe_path, tmp_path):
    out = tmp_path / "out"
    holder = start(tiny_recipe_path, out)
    wait_for(lambda: shards_on_disk(out) >= 1, holder)
    second = subprocess.run([sys.executable, "-c", CLI, "build", str(tiny_recipe_path), "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert holder.poll() is None, "the holder was still working"
    line = one_line(second.stderr)
    assert second.returncode == 2 and f"{out}: another build is writing into this folder" in line
    assert f"pid {holder.pid} on {socket.gethostname()}, started " in line and f"--out {out}" in line
    holder.send_signal(signal.SIGINT)
    holder.communicate(timeout=60)
    assert holder.returncode == 130 and assert_true_build(out) >= 1


@pytest.mark.parametrize("round_", range(3))
def test_two_recipes_racing_for_one_folder_never_both_succeed(round_, tiny_recipe_path, tmp_path):
    out = tmp_path / "out"
    procs = [start(tiny_recipe_path, out, overrides=[f"seed={seed}"]) for seed in (5, 6)]
    results = [(p.wait(timeout=120), p.communicate()[1]) for p in procs]
    assert sorted(rc for rc, _ in results) == [0, 2], results
    winner = [seed for (rc, _), seed in zip(results, (5, 6), strict=True) if rc == 0][0]
    loser = one_line([err for rc, err in results if rc == 2][0])
    assert str(out) in loser and ("another build is writing" in loser or "another recipe" in loser)
    assert read_manifest(out).recipe_hash == load_recipe(tiny_recipe_path, [f"seed={winner}"]).hash
    assert assert_true_build(out) == 9


def test_a_killed_holder_frees_the_folder(tiny_recipe_path, tmp_path):
    out = tmp_path / "out"
    holder = start(tiny_recipe_path, out)
    wait_for(lambda: shards_on_disk(out) >= 1, holder)
    holder.kill()
    holder.communicate(timeout=60)
    assert json.loads((out / LOCK_NAME).read_text())["pid"] == holder.pid  # the lock file stays, its lock died
    summary = build(load_recipe(tiny_recipe_path, LONG), out, limit=8, progress=False)
    assert summary.shards >= 4 and assert_true_build(out) == summary.shards
    assert (out / LOCK_NAME).read_bytes() == b""


# ---------------------------------------------------------------------------------------------
# Signals and workers
# ---------------------------------------------------------------------------------------------


def busy_build(recipe: Path, tmp_path: Path, reap: list[int]) -> tuple[Path, subprocess.Popen, list[int]]:
    """A 2-worker build that has written 3 shards and has both workers running; all its pids reaped."""
    out = tmp_path / "out"
    proc = start(recipe, out, "--workers", "2")
    reap.append(proc.pid)
    wait_for(lambda: shards_on_disk(out) >= 3 and len(workers_of(proc.pid)) == 2, proc)
    kids = children(proc.pid)
    reap.extend(kids)
    return out, proc, kids


@needs_proc
def test_sigterm_stops_the_build_and_its_workers_like_ctrl_c(tiny_recipe_path, tmp_path, reap):
    out, proc, kids = busy_build(tiny_recipe_path, tmp_path, reap)
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143
    line = one_line(err)
    assert f"stopped by SIGTERM: {assert_true_build(out)} complete shards are kept in {out}" in line
    assert "rerun the same command" in line
    wait_for(lambda: not [k for k in kids if alive(k)])  # the workers were stopped with the build


@needs_proc
def test_signals_after_the_first_do_not_break_into_the_cleanup(tiny_recipe_path, tmp_path, reap):
    """`timeout` and impatient users send more than one signal: the cleanup still records the finished
    shards and ends in the one line of the first signal."""
    out, proc, kids = busy_build(tiny_recipe_path, tmp_path, reap)
    proc.terminate()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGTERM, signal.SIGINT):
        time.sleep(0.02)
        if proc.poll() is None:
            proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "Traceback" not in err
    assert f"stopped by SIGTERM: {assert_true_build(out)} complete shards are kept in {out}" in one_line(err)
    wait_for(lambda: not [k for k in kids if alive(k)])


@needs_proc
def test_a_killed_build_takes_its_workers_along(tiny_recipe_path, tmp_path, reap):
    out, proc, kids = busy_build(tiny_recipe_path, tmp_path, reap)
    proc.kill()
    proc.wait(timeout=60)  # not communicate(): workers left alive would hold its pipes open
    proc.stdout.close()
    proc.stderr.close()
    wait_for(lambda: not [k for k in kids if alive(k)])  # the workers notice their parent died and exit
    settled = folder_bytes(out)
    time.sleep(1)
    assert folder_bytes(out) == settled, "nothing writes into the folder any more"
    assert not [t for t in temporaries(out) if "manifest" not in t.name], "each worker removed its temporary"
    summary = build(load_recipe(tiny_recipe_path, LONG), out, limit=2 * shards_on_disk(out) + 2, progress=False)
    assert assert_true_build(out) == summary.shards and summary.rendered_shards >= 1


@needs_proc
def test_a_killed_worker_is_one_line_naming_the_shard(tiny_recipe_path, tmp_path, reap):
    out, proc, _ = busy_build(tiny_recipe_path, tmp_path, reap)
    victim = workers_of(proc.pid)[0]
    wait_for(lambda: bool(list(out.glob(f"train/.lr-*.tar.tmp-{victim}"))), proc)  # it is writing a shard
    os.kill(victim, signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    line = one_line(err)
    assert proc.returncode == 2 and "a worker process died (exit codes {" in line and "SIGKILL(-9)" in line
    assert "while rendering train/lr-" in line and "rerun the same command to resume" in line
    assert f"the {assert_true_build(out)} complete shards are kept in {out}" in line


# ---------------------------------------------------------------------------------------------
# Folders that cannot be written
# ---------------------------------------------------------------------------------------------


def test_an_out_that_is_a_file_is_one_line(tiny_recipe_path, tmp_path, capsys):
    (tmp_path / "file").write_text("mine")
    assert main(["build", str(tiny_recipe_path), "--out", str(tmp_path / "file"), "--no-progress"]) == 2
    expected = f"rvm-data build: {tmp_path / 'file'}: --out must be a folder, this is a file"
    assert one_line(capsys.readouterr().err) == expected
    assert main(["build", str(tiny_recipe_path), "--out", str(tmp_path / "file" / "x"), "--no-progress"]) == 2
    assert f"{tmp_path / 'file' / 'x'}: --out lies inside a file" in one_line(capsys.readouterr().err)
    assert (tmp_path / "file").read_text() == "mine"


def test_a_read_only_folder_is_one_line(reference_build, tiny_recipe_path, tmp_path, tmpfs, capsys):
    if os.geteuid() == 0:  # root writes through chmod: a read-only mount is what stops it
        folder = tmpfs("1m")
        shutil.copytree(reference_build, folder / "out")
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    else:
        folder = tmp_path / "ro"
        shutil.copytree(reference_build, folder / "out")
        for path in (folder, folder / "out"):
            path.chmod(0o555)
    before = folder_bytes(folder / "out")
    for out in (folder / "out", folder / "new"):
        assert main(["build", str(tiny_recipe_path), "--out", str(out), "--no-progress"]) == 2
        line = one_line(capsys.readouterr().err)
        assert str(out) in line and "cannot write here" in line
    assert folder_bytes(folder / "out") == before


def test_a_full_disk_is_one_line_and_the_manifest_stays_true(tiny_recipe_path, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real_write, written = _HashingFile.write, []

    def write(self, data: bytes) -> int:
        written.append(len(data))
        if sum(written) > 60_000:  # a few shards fit, then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(self, data)

    monkeypatch.setattr(_HashingFile, "write", write)
    with pytest.raises(FolderError, match=rf"{out}/train/lr-\d+\.tar: no space left on the device; the \d+ complete"):
        build(load_recipe(tiny_recipe_path), out, progress=False)
    assert 1 <= assert_true_build(out) < 9


def test_a_full_disk_while_writing_the_manifest(tiny_recipe_path, tmp_path, monkeypatch):
    import rvm_data.shards.manifest as manifest_module

    out, calls = tmp_path / "out", []
    real = manifest_module.write_atomically

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def write(path, text):
        calls.append(1)
        if len(calls) <= 3:
            return real(path, text)
        with monkeypatch.context() as disk:  # the disk fills up as the temporary is flushed to it
            disk.setattr(os, "fsync", full)
            return real(path, text)

    monkeypatch.setattr(manifest_module, "write_atomically", write)
    with pytest.raises(FolderError, match=rf"{out}/manifest.json: no space left on the device"):
        build(load_recipe(tiny_recipe_path), out, progress=False)
    assert assert_true_build(out) == 2  # the manifest of the third write is the one there, and it is true
    assert not list(out.glob(".manifest.json.tmp-*"))


def test_a_real_full_disk_then_a_rerun_with_room(reference_build, tiny_recipe_path, tmpfs, capsys):
    folder = tmpfs("128k")
    out = folder / "out"
    assert main(["build", str(tiny_recipe_path), "--out", str(out), "--no-progress"]) == 2
    line = one_line(capsys.readouterr().err)
    assert f"{out}/" in line and "no space left on the device" in line and "rerun the same command" in line
    assert assert_true_build(out) < 9
    subprocess.run(["mount", "-o", "remount,size=4m", str(folder)], check=True)
    assert main(["build", str(tiny_recipe_path), "--out", str(out), "--no-progress"]) == 0
    assert folder_bytes(out) == folder_bytes(reference_build)


def test_a_bug_is_not_dressed_as_a_folder_error(tiny_recipe_path, tmp_path, monkeypatch):
    def broken(self, data: bytes) -> int:
        raise OSError(errno.EBADF, "a bug")

    monkeypatch.setattr(_HashingFile, "write", broken)
    with pytest.raises(OSError, match="a bug"):
        main(["build", str(tiny_recipe_path), "--out", str(tmp_path / "out"), "--no-progress"])
    assert assert_true_build(tmp_path / "out") == 0
    outside = OSError(errno.EACCES, "Permission denied", str(tmp_path / "sources" / "x.png"))
    assert write_error(outside, tmp_path / "out" / "train/lr-000000.tar", tmp_path / "out") is None


def test_bad_sources_leave_no_folder_behind(tiny_recipe_path, tmp_path, capsys):
    out = tmp_path / "new" / "out"
    assert main(["build", str(tiny_recipe_path), "--out", str(out), "--set", "sources.train.foreground=/nowhere",
                 "--no-progress"]) == 2
    assert "/nowhere" in one_line(capsys.readouterr().err) and not (tmp_path / "new").exists()


def test_a_lock_taken_on_a_discarded_lock_file_is_taken_again_on_the_new_one(tmp_path, monkeypatch):
    """A holder that discards its lock file between a second build's open and flock must not leave that
    build holding an unlinked inode while a third locks the new file: both would think they write alone."""
    from rvm_data import buildfolder

    real_flock = buildfolder.fcntl.flock

    first = buildfolder.FolderLock(tmp_path)
    first.__enter__()
    flocks = []

    def flock_after_the_holder_discards(fd, op):
        if not flocks:  # the first holder discards and exits just before this flock
            first.discard()
            first.__exit__(None, None, None)
        flocks.append(os.fstat(fd).st_ino)
        return real_flock(fd, op)

    monkeypatch.setattr(buildfolder.fcntl, "flock", flock_after_the_holder_discards)
    with buildfolder.FolderLock(tmp_path) as second:
        assert len(flocks) == 2 and flocks[1] == os.stat(second.path).st_ino
        monkeypatch.undo()
        with pytest.raises(buildfolder.FolderError, match="another build"):
            buildfolder.FolderLock(tmp_path).__enter__()
