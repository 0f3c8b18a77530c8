"""Where everything lies in a build folder, and what its names mean: the one place that builds or
parses a shard path, a sample key or a member name.

```
<out>/manifest.json                      the build's record (rvm_data.shards.manifest)
<out>/.lock                              the one-writer lock (rvm_data.buildfolder)
<out>/.readers                           the shared lock of processes reading an epoch (rvm_data.buildfolder)
<out>/<split>/<output>-NNNNNN.tar        shard NNNNNN (6 digits) of one output and split
<out>/<split>/<output>-NNNNNN.tar.json   its member index (rvm_data.shards.members)
<out>/<split>/<output>.wids.json         the WebDataset wids shard list (rvm_data.shards.wids)
<out>/epochs/NNNN/                       epoch NNNN (>= 1) of the recipe's train samples: a build folder of its own
.<name>.tmp-<pid>[.json]                 a file being written by process <pid>, renamed into place when complete
```

Inside a shard, sample ``i`` has the key ``KKKKKKKKK`` (``i`` in 9 digits) and the members
``<key>.spec.json``, ``<key>.<field>.<t>.<ext>`` (frame ``t`` in 4 digits, an image) or
``<key>.<field>.<ext>`` (a whole clip, a video). Names read from a shard or manifest are parsed here
and never become paths except through :func:`shard_path`, whose parts follow :data:`SAFE_NAME`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rvm_data.errors import RvmDataError

MANIFEST_NAME = "manifest.json"
LOCK_NAME = ".lock"
READERS_NAME = ".readers"
SHARD_SUFFIX = ".tar"
INDEX_SUFFIX = ".json"  # member index: <shard>.tar + this
WIDS_SUFFIX = ".wids.json"
SHARD_DIGITS, KEY_DIGITS, FRAME_DIGITS = 6, 9, 4
# The recipe-name rule (rvm_data.recipe._SAFE_NAME): names that become file and folder names.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
SHARD_NAME = re.compile(rf"^([A-Za-z0-9][A-Za-z0-9_.-]*)-([0-9]{{{SHARD_DIGITS}}})\.tar$")
TEMP_MARK = ".tmp-"
SHARD_TEMP_GLOB = f".*{SHARD_SUFFIX}{TEMP_MARK}*"  # a shard's (and its index's) temporaries in a split folder
TEMP_GLOB = f".*{TEMP_MARK}*"  # every temporary: shards, member indices, shard lists, the manifest
SPEC_FIELD, SPEC_EXT = "spec", "json"


# ----- shards ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShardName:
    """A shard's place in its build folder: split, output and number."""

    split: str
    output: str
    number: int

    @property
    def name(self) -> str:
        """The file name, ``<output>-NNNNNN.tar``."""
        return f"{self.output}-{self.number:0{SHARD_DIGITS}d}{SHARD_SUFFIX}"

    @property
    def path(self) -> str:
        """The path relative to the build folder (the manifest's key), ``<split>/<output>-NNNNNN.tar``."""
        return f"{self.split}/{self.name}"


def shard_path(split: str, output: str, number: int) -> str:
    """``<split>/<output>-NNNNNN.tar``, relative to the build folder."""
    return ShardName(split, output, number).path


def parse_shard_path(path: str) -> ShardName | None:
    """The split, output and number of a manifest path ``<split>/<output>-NNNNNN.tar``; None for
    anything else (a parent folder, an absolute path, a backslash, an unsafe name)."""
    folder, slash, name = path.partition("/")
    match = SHARD_NAME.match(name) if slash else None
    if not match or not SAFE_NAME.match(folder):
        return None
    return ShardName(folder, match.group(1), int(match.group(2)))


def shard_output(path: str | os.PathLike[str]) -> str:
    """The output a shard belongs to, from its file name ``<output>-NNNNNN.tar`` (stage 3 has lr and hr);
    for another name, the name without ``.tar`` and without its last ``-part``."""
    name = Path(path).name
    base = name[:-len(SHARD_SUFFIX)] if name.endswith(SHARD_SUFFIX) else name
    return base.rsplit("-", 1)[0]


def is_shard_file(path: str | os.PathLike[str]) -> bool:
    """Named as a tar shard (``*.tar``)."""
    return Path(path).suffix == SHARD_SUFFIX


def index_path(shard: str | os.PathLike[str]) -> Path:
    """The member index beside a shard: ``train/lr-000000.tar`` -> ``train/lr-000000.tar.json``."""
    shard = Path(shard)
    return shard.with_name(shard.name + INDEX_SUFFIX)


def index_shard_name(index_name: str) -> str | None:
    """The shard a member index file name belongs to (``lr-000000.tar.json`` -> ``lr-000000.tar``)."""
    shard = index_name[:-len(INDEX_SUFFIX)] if index_name.endswith(SHARD_SUFFIX + INDEX_SUFFIX) else None
    return shard or None


def wids_path(build_dir: str | os.PathLike[str], split: str, output: str) -> Path:
    """Where the wids shard list of one split and output lies: beside its shards."""
    return Path(build_dir) / split / f"{output}{WIDS_SUFFIX}"


def wids_output(name: str) -> str | None:
    """The output a wids shard list file name is of (``lr.wids.json`` -> ``lr``)."""
    return name[:-len(WIDS_SUFFIX)] if name.endswith(WIDS_SUFFIX) else None


def shard_url(path: str) -> str:
    """A manifest path's file name, as a shard list beside the shards names it."""
    return PurePosixPath(path).name


# ----- epochs ----------------------------------------------------------------------------------

EPOCHS_DIR, EPOCH_DIGITS = "epochs", 4
EPOCH_LIMIT = 10**EPOCH_DIGITS  # epochs are 0 .. EPOCH_LIMIT - 1: a longer name would be one built_epochs never finds
TRAIN_SPLIT = "train"  # the split epochs >= 1 hold (validation is one fixed set, epoch 0's)


def epoch_root(root: str | os.PathLike[str], epoch: int) -> Path:
    """The build folder of ``epoch`` of the build at ``root``: ``root`` itself for epoch 0, else
    ``root/epochs/NNNN`` (a complete build folder of its own: manifest, lock, train shards)."""
    if not 0 <= epoch < EPOCH_LIMIT:
        raise ValueError(f"epoch must be in 0..{EPOCH_LIMIT - 1}, got {epoch}")
    return Path(root) if epoch == 0 else Path(root) / EPOCHS_DIR / f"{epoch:0{EPOCH_DIGITS}d}"


def built_epochs(root: str | os.PathLike[str]) -> list[int]:
    """The epochs >= 1 with a folder (and a manifest) under ``root/epochs``, in order."""
    folder = Path(root) / EPOCHS_DIR
    found = [int(p.name) for p in folder.glob("[0-9]" * EPOCH_DIGITS) if (p / MANIFEST_NAME).is_file()]
    return sorted(e for e in found if e > 0)


# ----- temporaries -----------------------------------------------------------------------------

def temp_path(path: str | os.PathLike[str], pid: int | None = None) -> Path:
    """``.<name>.tmp-<pid>`` beside ``path`` (this process's pid by default)."""
    path = Path(path)
    return path.with_name(f".{path.name}{TEMP_MARK}{os.getpid() if pid is None else pid}")


def write_atomically(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through its temporary (flushed, fsynced, renamed into place): a reader sees
    the old file or the new one, never half of one, and no temporary stays whatever stops the write
    (a SIGTERM between the write and the rename left one in the folder)."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def temp_parts(name: str) -> tuple[str, str] | None:
    """(the file it becomes, the writer's pid) of a temporary's name ``.<name>.tmp-<pid>[.json]``;
    None for other names. An index temporary ``.<shard>.tmp-<pid>.json`` gives the shard's name."""
    if not name.startswith(".") or TEMP_MARK not in name:
        return None
    target, _, pid = name[1:].rpartition(TEMP_MARK)
    return target, pid.split(".")[0]


# ----- samples and members ---------------------------------------------------------------------

def index_key(index: int) -> str:
    """The tar key of sample ``index``: the index in 9 digits."""
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 10**KEY_DIGITS:
        raise ValueError(f"a sample index is an integer in [0, 10**{KEY_DIGITS}), got {index!r}")
    return f"{index:0{KEY_DIGITS}d}"


def key_index(key: str) -> int | None:
    """The sample index a key names (``"000000012"`` -> 12), or None for a key that is not one."""
    return int(key) if len(key) == KEY_DIGITS and key.isascii() and key.isdigit() else None


def member_name(key: str, suffix: str) -> str:
    """``<key>.<suffix>``."""
    return f"{key}.{suffix}"


def spec_member(key: str) -> str:
    """``<key>.spec.json``: the sample's SampleSpec."""
    return member_name(key, f"{SPEC_FIELD}.{SPEC_EXT}")


def frame_suffix(field: str, t: int, ext: str) -> str:
    """``<field>.<t>.<ext>`` (frame ``t`` in 4 digits): one frame of a field stored as images."""
    return f"{field}.{t:0{FRAME_DIGITS}d}.{ext}"


def clip_suffix(field: str, ext: str) -> str:
    """``<field>.<ext>``: a whole field stored as one video."""
    return f"{field}.{ext}"


def member_key(name: str) -> str:
    """The key part of a member name (before its first dot)."""
    return name.partition(".")[0]


def member_field(name: str) -> str:
    """The field part of a member name (``spec`` for the spec; empty when there is none)."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def is_spec_member(name: str) -> bool:
    """Exactly ``<key>.spec.json``."""
    return name.split(".")[1:] == [SPEC_FIELD, SPEC_EXT]


@dataclass(frozen=True)
class Member:
    """A parsed member name: ``frame`` is the frame number of an image member, None for a spec or video."""

    key: str
    field: str
    frame: int | None
    ext: str

    @property
    def is_spec(self) -> bool:
        return self.field == SPEC_FIELD and self.ext == SPEC_EXT and self.frame is None


class MemberNameError(RvmDataError, ValueError):
    """A member name outside the grammar (readers turn it into a ShardError naming shard and member)."""


def parse_member(name: str) -> Member:
    """``<key>.spec.json``, ``<key>.<field>.<t>.<ext>`` or ``<key>.<field>.<ext>`` parsed; which
    extensions a field may have is the codecs' business. Raises MemberNameError otherwise."""
    parts = name.split(".")
    if not all(parts):
        raise MemberNameError("member name has an empty part")
    if len(parts) == 4 and parts[2].isascii() and parts[2].isdigit():  # ASCII digits only: not "²"
        return Member(parts[0], parts[1], int(parts[2]), parts[3])
    if len(parts) == 3:
        return Member(parts[0], parts[1], None, parts[2])
    raise MemberNameError("unknown member (expected <key>.<field>.<t>.<ext> or .spec.json)")


def scan_key(name: str) -> str | None:
    """The key of a member name met in a tar scan, or None when the name is not ``<key>.<rest>`` (no dot,
    an empty key, a path separator or an unprintable character)."""
    key, dot, _ = name.partition(".")
    if not dot or not key or "/" in name or "\\" in name or not name.isprintable():
        return None
    return key
