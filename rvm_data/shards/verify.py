"""What a build folder holds (inspect) and whether every byte of it is sound (verify).

Both go on past a bad shard: inspect counts what it can read and names what it cannot; verify lists
every problem of the folder in one run (missing, truncated or altered shards, members whose crc32
differs from the member index, undecodable members, counts that differ from the manifest, missing or
stale member indices, stray shards), each naming its shard and, where known, its member.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from rvm_data.shards.folder import BuildFolder
from rvm_data.shards.layout import INDEX_SUFFIX, MANIFEST_NAME, SHARD_SUFFIX, index_shard_name, key_index
from rvm_data.shards.manifest import Manifest, ManifestError, ShardEntry, read_manifest
from rvm_data.shards.members import Member, member_problems, read_index
from rvm_data.shards.reader import SampleRef, ShardError, decode_sample, decode_spec, parse_sample, scan_shard


@dataclass
class FieldStats:
    """Members of one field over a group of shards: codec (extension), bytes, frames."""

    codec: str
    bytes: int = 0
    frames: int = 0

    @property
    def bytes_per_frame(self) -> float:
        return self.bytes / max(self.frames, 1)


@dataclass
class GroupStats:
    shards: int = 0
    samples: int = 0
    bytes: int = 0
    shape: tuple[int, int, int] | None = None  # T, H, W of the first sample
    fields: dict[str, FieldStats] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)  # listed shards whose headers could not be read


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a build: the shard, and the member where known. A ``warning`` is something
    odd beside what the manifest lists (a stray file) that leaves the listed shards sound."""

    shard: str
    member: str | None
    problem: str
    warning: bool = False

    def __str__(self) -> str:
        return f"{self.shard}: member {self.member}: {self.problem}" if self.member else f"{self.shard}: {self.problem}"


def inspect_build(build_dir: str | os.PathLike[str]) -> tuple[Manifest, dict[str, GroupStats]]:
    """Counts and sizes from the manifest; per ``<split>/<output>``, each field's codec and bytes from
    the tar headers and T×H×W from its first sample. A shard that cannot be read is left out of the
    field statistics and named in ``unreadable``."""
    folder = BuildFolder(build_dir)
    root, manifest = folder.root, folder.manifest
    stats: dict[str, GroupStats] = {}
    for group, entries in folder.groups().items():
        st = stats[group] = GroupStats(len(entries), sum(e.samples for e in entries), sum(e.bytes for e in entries))
        for entry in entries:
            try:
                shape, sizes = _field_sizes(str(root / entry.path), st.shape)
            except (ShardError, OSError):
                st.unreadable.append(entry.path)
                continue
            st.shape = shape
            for name, (ext, size, samples) in sizes.items():
                fs = st.fields.setdefault(name, FieldStats(ext))
                fs.bytes += size
                fs.frames += samples * shape[0] if shape else 0
    return manifest, stats


def _field_sizes(path: str, shape: tuple[int, int, int] | None
                 ) -> tuple[tuple[int, int, int] | None, dict[str, tuple[str, int, int]]]:
    """T×H×W (``shape``, or the first sample's when None) and {field: (codec, bytes, samples)} of a shard."""
    sizes: dict[str, tuple[str, int, int]] = {}
    for ref in scan_shard(path):
        if shape is None:
            shape = _shape(ref)
        fields, _ = parse_sample(ref)
        member_sizes = {name: size for name, _, size in ref.members}
        for name, info in fields.items():
            ext, total, samples = sizes.get(name, (info.ext, 0, 0))
            sizes[name] = (ext, total + sum(member_sizes[m] for m in info.names), samples + 1)
    return shape, sizes


def _shape(ref: SampleRef) -> tuple[int, int, int]:
    with open(ref.shard, "rb") as f:
        arrays = decode_sample(ref, ref.read(f))
    first = next(iter(arrays.values()))
    return first.shape[1], first.shape[3], first.shape[4]


def verify_build(build_dir: str | os.PathLike[str],
                 progress: Callable[[str], object] | None = None) -> list[Problem]:
    """Every problem of a build folder: each listed shard's presence, size and sha256 against the
    manifest, its member index, every member's crc32 against the index and decode, each sample's fields
    (the build's, equal T/H/W) and spec index (its key), the sample count; then stray files.

    A manifest that fails validation is one problem (nothing else can be checked); a folder without a
    manifest raises ManifestMissingError (it is not a build folder).
    """
    root = Path(build_dir)
    try:
        manifest = read_manifest(root)
    except ManifestError as exc:
        return [Problem(MANIFEST_NAME, None, f"{exc.key}: {exc.problem}" if exc.key else exc.problem)]
    problems: list[Problem] = []
    for entries in BuildFolder(root, manifest).groups().values():
        expected_fields: list[set[str]] = []  # the group's fields, once a sound sample shows them
        for entry in entries:
            if progress:
                progress(entry.path)
            problems += _verify_shard(root, entry, expected_fields)
    return problems + _stray_files(root, manifest)


def _verify_shard(root: Path, entry: ShardEntry, expected_fields: list[set[str]]) -> list[Problem]:
    path = root / entry.path
    problems: list[Problem] = []

    def add(member: str | None, problem: str) -> None:
        problems.append(Problem(entry.path, member, problem))

    if not path.is_file():
        add(None, "listed in the manifest but missing")
        return problems
    try:
        size, digest = _size_and_sha256(path)
    except OSError as exc:
        add(None, f"cannot be read ({exc.strerror or exc})")
        return problems
    if size != entry.bytes:
        add(None, f"{size} bytes, manifest says {entry.bytes}")
    if digest != entry.sha256:
        add(None, "sha256 differs from the manifest")
    members: dict[str, Member] | None = None
    try:
        index = read_index(path)
        members = index.by_name()
        pairs = (("sha256", index.sha256, entry.sha256), ("bytes", index.bytes, entry.bytes),
                 ("samples", index.nsamples, entry.samples))
        differ = [key for key, mine, listed in pairs if mine != listed]
        if differ:
            add(None, f"member index {path.name}{INDEX_SUFFIX} was written for another shard than the manifest "
                      f"lists ({', '.join(differ)} differ)")
    except ShardError as exc:
        add(None, exc.problem)
    count = listed = 0
    try:
        with open(path, "rb") as f:
            for ref in scan_shard(str(path)):
                count += 1
                listed += len(ref.members)
                problems += [Problem(entry.path, m, p) for m, p in _check_sample(ref, f, expected_fields, members)]
    except ShardError as exc:
        add(exc.member, exc.problem)
        return problems
    if count != entry.samples:
        add(None, f"{count} samples, manifest says {entry.samples}")
    if members is not None and listed != len(members):
        add(None, f"the member index lists {len(members)} members, the shard holds {listed}")
    return problems


def _check_sample(ref: SampleRef, f: BinaryIO, expected_fields: list[set[str]],
                  members: dict[str, Member] | None) -> list[tuple[str | None, str]]:
    """(member, problem) of one sample: crc32 mismatches, then the first decode or structure problem."""
    try:
        data = ref.read(f)
    except ShardError as exc:
        return [(exc.member, exc.problem)]
    found: list[tuple[str | None, str]] = [*member_problems(ref, data, members)] if members is not None else []
    try:
        fields, spec_name = parse_sample(ref)
        if expected_fields and set(fields) != expected_fields[0]:
            return found + [(ref.members[0][0], f"sample {ref.key} has fields {sorted(fields)}, "
                                                f"expected {sorted(expected_fields[0])}")]
        spec = decode_spec(ref, data, spec_name)
        index = spec.get("index") if isinstance(spec, dict) else None
        if not isinstance(index, int) or key_index(ref.key) != index:
            return found + [(spec_name, f"spec index does not match the key {ref.key}")]
        arrays = decode_sample(ref, data)
    except ShardError as exc:
        return found + [(exc.member, exc.problem)]
    shapes = {name: (a.shape[1],) + a.shape[3:] for name, a in arrays.items()}
    if len(set(shapes.values())) > 1:
        return found + [(ref.members[0][0], f"sample {ref.key} fields differ in T×H×W: {shapes}")]
    if not expected_fields:
        expected_fields.append(set(fields))
    return found


def _stray_files(root: Path, manifest: Manifest) -> list[Problem]:
    """Warnings for ``.tar`` files in a split folder that the manifest does not list, and member
    indices of no shard (an interrupted build, or files copied in)."""
    listed = {entry.path for entries in manifest.splits.values() for entry in entries}
    out = []
    for split in manifest.splits:
        folder = root / split
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"*{SHARD_SUFFIX}")):
            if f"{split}/{path.name}" not in listed:
                out.append(Problem(f"{split}/{path.name}", None, "not listed in the manifest (stray shard: an "
                                   "interrupted build's, or copied in?); no reader uses it", warning=True))
        for path in sorted(folder.glob(f"*{SHARD_SUFFIX}{INDEX_SUFFIX}")):
            shard = index_shard_name(path.name)
            # shard is never None here (the glob matched the index suffix)
            if shard is not None and f"{split}/{shard}" not in listed and not (folder / shard).exists():
                out.append(Problem(f"{split}/{path.name}", None, f"member index of a shard {shard} that is not "
                                   "there", warning=True))
    return out


def _size_and_sha256(path: Path) -> tuple[int, str]:
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            sha.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest()
