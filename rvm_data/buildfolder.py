"""The build folder as a place to write: one writer at a time, and one-line errors when it cannot be written.
(A finished folder as readers see it, its manifest, shards and recipe, is :class:`rvm_data.shards.folder.BuildFolder`;
where each file lies, :mod:`rvm_data.shards.layout`.)

One writer per folder: a build holds an OS lock (``fcntl.flock``) on ``<out>/.lock`` from before it reads
the manifest or removes anything until it returns. The kernel drops the lock when the holder's process
dies, however it dies, so a lock file left behind by a killed build never blocks the next one; the file
names its holder (pid, host, command, start time) for the refusal a second build prints, and is emptied
when the build ends (so a finished folder's bytes do not depend on who built it). The lock is advisory:
it binds ``rvm-data build``, not other programs, and on network file systems it is as good as their flock.

Readers of a folder that may be removed (an epoch a training run's ``--keep-epochs`` deletes once it has
read it) hold a shared lock on ``<out>/.readers`` (:class:`ReadHold`); the remover takes it exclusively
first (:func:`move_away_unread`), so it never removes an epoch another process is reading.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shlex
import socket
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType

from rvm_data.errors import RvmDataError
from rvm_data.shards.layout import LOCK_NAME, READERS_NAME

__all__ = ["BuildError", "FolderError", "FolderLock", "LOCK_NAME", "ReadHold", "move_away_unread", "prepare_folder",
           "remove_made", "write_error", "writing"]

# errnos that say "this place cannot be written" (not a bug): the disk or quota is full, or no permission
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
_NOT_WRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


class BuildError(RvmDataError, RuntimeError):
    """A build that cannot start or go on (mismatched folder, missing data); one line for the user."""


class FolderError(BuildError):
    """A build folder (or a file in it) that cannot be used: busy, not a folder, not writable, disk full.
    ``path`` is what could not be used, ``reason`` why."""

    def __init__(self, path: str | os.PathLike[str], reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def write_error(error: OSError, path: str | os.PathLike[str], out: Path) -> FolderError | None:
    """The FolderError for an OSError met writing ``path`` in build folder ``out``, or None when the
    error is not about writing there (a bug, or a source that cannot be read, which stays as it is).
    A full disk is named whatever file the error carries: only the build writes."""
    if error.errno in _NO_SPACE:
        quota = " (disk quota exceeded)" if error.errno == errno.EDQUOT else ""
        return FolderError(path, f"no space left on the device{quota}")
    where = Path(error.filename) if isinstance(error.filename, (str, os.PathLike)) else None
    if error.errno in _NOT_WRITABLE and (where is None or where.resolve().is_relative_to(out)):
        return FolderError(where or path, f"cannot write here ({error.strerror})")
    return None


@contextmanager
def writing(path: str | os.PathLike[str], out: Path) -> Iterator[None]:
    """Inside, an OSError saying the folder cannot be written becomes a FolderError naming ``path``."""
    try:
        yield
    except OSError as error:
        folder_error = write_error(error, path, out)
        if folder_error is None:
            raise
        raise folder_error from None


def prepare_folder(out: Path) -> list[Path]:
    """Make ``out`` (and its parents) if missing; the folders this call made, ``out`` first."""
    if out.is_dir():
        return []
    if out.exists() or out.is_symlink():
        raise FolderError(out, "--out must be a folder, this is a file")
    missing = [out, *(p for p in out.parents if not p.exists())]
    try:
        with writing(out, Path(out.anchor)):  # the folder or a parent it needs
            out.mkdir(parents=True)
    except FileExistsError:  # made meanwhile by someone else (another build racing for it)
        if not out.is_dir():
            raise FolderError(out, "--out must be a folder, this is a file") from None
        return []
    except NotADirectoryError:
        raise FolderError(out, "--out lies inside a file, not a folder") from None
    return missing


def remove_made(made: list[Path]) -> None:
    """Remove the empty folders :func:`prepare_folder` made (never anything inside them)."""
    for folder in made:
        try:
            folder.rmdir()
        except OSError:  # not empty (another build made its lock file meanwhile): it stays
            return


def _holder() -> dict[str, object]:
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "python",
            "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}


def _describe(text: str) -> str:
    """Who holds a lock and what it does, from what its holder wrote into the lock file."""
    try:
        holder = json.loads(text)
        who = (f"pid {holder['pid']} on {holder['host']}, started {holder['started']}, "
               f"running {holder['command']}")
    except (ValueError, KeyError, TypeError):
        return ("another build is writing into this folder, or a training run is deleting it (its holder has not "
                "written its name yet)")
    return f"another process is {holder['doing']} ({who})" if holder.get("doing") else \
        f"another build is writing into this folder ({who})"


class FolderLock:
    """Context manager: the one-writer lock of build folder ``out`` (which must exist).

    Refuses at once (FolderError naming the folder and the holder) when another process holds it;
    never waits. ``doing``: what the holder is said to do in another's refusal (a build writes into it)."""

    def __init__(self, out: Path, doing: str = ""):
        self.out, self.doing = out, doing
        self.path = out / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:
        try:
            with writing(self.out, self.out):
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:  # removed since it was looked at (a training run's --keep-epochs, rm -r)
            raise FolderError(self.out, "the folder was removed (by another process) before it could be locked; "
                                        "run again") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 4096, 0).decode(errors="replace")
            os.close(fd)
            raise FolderError(self.out, f"{_describe(text)}; wait for it, or stop it (a stopped process "
                                        "frees the folder)") from None
        except OSError as error:  # a file system without flock (ENOLCK, EOPNOTSUPP): one writer is not assured
            os.close(fd)
            raise FolderError(self.out, f"cannot lock this folder ({error.strerror}), so a second build could "
                                        "write into it at the same time; build on a file system with flock") from None
        except BaseException:
            os.close(fd)
            raise
        if not _same_file(fd, self.path):
            # The holder we waited behind discarded the file between our open and our flock: what we
            # hold is an unlinked inode nobody else will ever lock. Lock the file that is there now.
            os.close(fd)
            if not self.out.is_dir():
                raise FolderError(self.out, "the folder was removed by the process that held it (a build, or a "
                                            "training run's --keep-epochs); run again")
            return self.__enter__()
        self._fd = fd
        try:  # who holds it, for the refusal above; best effort (a full disk must not stop the build here)
            os.ftruncate(fd, 0)
            holder = _holder() | ({"doing": self.doing} if self.doing else {})
            os.pwrite(fd, (json.dumps(holder, sort_keys=True) + "\n").encode(), 0)
        except OSError:
            pass
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, 0)
        except OSError:
            pass
        finally:
            os.close(self._fd)  # releases the lock
            self._fd = None

    def discard(self) -> None:
        """Remove the lock file while still holding the lock (a folder this build made and leaves empty)."""
        self.path.unlink(missing_ok=True)


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``fd`` is the file at ``path`` now (not one renamed away or removed since it was opened)."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)


_REMOVED_MEANWHILE = "the folder was removed (by another process) as this one began to read it"


class _Shared:
    """This process's one shared lock on a folder's ``.readers`` and how many readers hold it: where flock is
    emulated by POSIX locks (NFS) a process's locks on a file are one lock, and the first reader to let go
    would drop every other reader's."""

    def __init__(self, fd: int) -> None:
        self.fd, self.readers, self.pid = fd, 0, os.getpid()


_SHARED: dict[Path, _Shared] = {}
_UNGUARDED: set[Path] = set()  # folders this process said it reads unguarded


class ReadHold:
    """Holds ``folder`` against removal by another process (:func:`move_away_unread`) from :meth:`take` to
    :meth:`release`. Released explicitly (``LOCK_UN``), so a forked DataLoader worker that inherited the
    descriptor does not keep holding it. Where this process cannot hold it (storage it may not write with no
    ``.readers`` yet, a file system without flock) it says so once and reads unguarded."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._key: Path | None = None

    def take(self) -> None:
        """Hold the folder, after a remover holding it now (it only renames it away) is done; a FolderError
        when one removed it meanwhile."""
        self.release()
        key = self.folder.absolute()
        shared = _SHARED.get(key)
        if shared is None or shared.pid != os.getpid():  # none yet (a forked child's copy is its parent's)
            fd = _lock_shared(self.folder)
            if fd is None:
                return
            shared = _SHARED[key] = _Shared(fd)
        shared.readers += 1
        self._key = key

    def release(self) -> None:
        if self._key is None:
            return
        shared = _SHARED[self._key]
        shared.readers -= 1
        if not shared.readers:
            del _SHARED[self._key]
            with suppress(OSError):  # closing releases it too, where the descriptor is not shared
                fcntl.flock(shared.fd, fcntl.LOCK_UN)
            os.close(shared.fd)
        self._key = None


def _lock_shared(folder: Path) -> int | None:
    """A descriptor of ``folder``'s ``.readers`` under a shared lock; None where none can be had."""
    path = folder / READERS_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except FileNotFoundError:
        raise FolderError(folder, _REMOVED_MEANWHILE) from None
    except OSError as error:
        try:  # one this process may not write (another user's build): a shared lock needs only reading
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            if not folder.is_dir():
                raise FolderError(folder, _REMOVED_MEANWHILE) from None
            _unguarded(folder, error)
            return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
    except OSError as error:
        os.close(fd)
        _unguarded(folder, error)
        return None
    try:  # renamed away while this process waited (on NFS as far as its client revalidates the name)
        removed = not _same_file(fd, path)
    except OSError:  # ESTALE: removed through another machine's view of the share
        removed = True
    if removed:
        os.close(fd)
        raise FolderError(folder, _REMOVED_MEANWHILE)
    return fd


def _unguarded(folder: Path, error: OSError) -> None:
    if folder in _UNGUARDED:
        return
    _UNGUARDED.add(folder)
    warnings.warn(f"{folder}: cannot hold this folder against removal by another process's --keep-epochs "
                  f"({error.strerror or error}); it is read unguarded", stacklevel=4)


def move_away_unread(folder: Path, away: Path) -> None:
    """Rename ``folder`` to ``away`` unless a process reads it (holds a :class:`ReadHold`), then a FolderError
    at once. A reader that opened ``.readers`` meanwhile waits, then finds it renamed away."""
    mine = _SHARED.get(folder.absolute())
    if mine is not None and mine.pid == os.getpid():  # its own lock would not stop it where locks are POSIX's
        raise FolderError(folder, "this process is reading this folder")
    fd = os.open(folder / READERS_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderError(folder, "another process is reading this folder") from None
        folder.rename(away)
    finally:
        os.close(fd)
