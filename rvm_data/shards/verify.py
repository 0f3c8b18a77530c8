"""What a build folder holds (inspect) and whether every byte of it is sound (verify)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from rvm_data.shards.manifest import Manifest, ShardEntry, read_manifest, shard_output
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


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a build: the shard, and the member or sample where known."""

    shard: str
    member: str | None
    problem: str

    def __str__(self) -> str:
        return f"{self.shard}: member {self.member}: {self.problem}" if self.member else f"{self.shard}: {self.problem}"


def groups(manifest: Manifest) -> dict[str, list[ShardEntry]]:
    """Shards by ``<split>/<output>`` (one output's samples share fields and sizes), in manifest order."""
    out: dict[str, list[ShardEntry]] = {}
    for split, entries in manifest.splits.items():
        for entry in entries:
            out.setdefault(f"{split}/{shard_output(entry.path)}", []).append(entry)
    return out


def inspect_build(build_dir: str | os.PathLike) -> tuple[Manifest, dict[str, GroupStats]]:
    """Counts and sizes from the manifest; per ``<split>/<output>``, each field's codec and bytes from
    the tar headers and T×H×W from its first sample."""
    root = Path(build_dir)
    manifest = read_manifest(root)
    stats: dict[str, GroupStats] = {}
    for group, entries in groups(manifest).items():
        st = stats[group] = GroupStats(len(entries), sum(e.samples for e in entries), sum(e.bytes for e in entries))
        for entry in entries:
            for ref in scan_shard(str(root / entry.path)):
                if st.shape is None:
                    st.shape = _shape(ref)
                fields, _ = parse_sample(ref)
                sizes = {name: size for name, _, size in ref.members}
                for name, info in fields.items():
                    fs = st.fields.setdefault(name, FieldStats(info.ext))
                    fs.bytes += sum(sizes[m] for m in info.names)
                    fs.frames += st.shape[0]
    return manifest, stats


def _shape(ref: SampleRef) -> tuple[int, int, int]:
    with open(ref.shard, "rb") as f:
        arrays = decode_sample(ref, ref.read(f))
    first = next(iter(arrays.values()))
    return first.shape[1], first.shape[3], first.shape[4]


def verify_build(build_dir: str | os.PathLike,
                 progress: Callable[[str], None] | None = None) -> list[Problem]:
    """Check every shard's size and sha256 against the manifest, decode every member, and check that
    each sample has the build's fields, equal T/H/W across fields, and a spec whose index is its key."""
    root = Path(build_dir)
    manifest = read_manifest(root)
    problems: list[Problem] = []
    for entries in groups(manifest).values():
        expected_fields: set[str] | None = None
        for entry in entries:
            path = root / entry.path
            if progress:
                progress(entry.path)
            if not path.is_file():
                problems.append(Problem(entry.path, None, "listed in the manifest but missing"))
                continue
            size, digest = _size_and_sha256(path)
            if size != entry.bytes:
                problems.append(Problem(entry.path, None, f"{size} bytes, manifest says {entry.bytes}"))
            if digest != entry.sha256:
                problems.append(Problem(entry.path, None, "sha256 differs from the manifest"))
            count = 0
            try:
                with open(path, "rb") as f:
                    for ref in scan_shard(str(path)):
                        count += 1
                        problem = _check_sample(ref, f, expected_fields)
                        if problem is None:
                            expected_fields = expected_fields or set(parse_sample(ref)[0])
                        else:
                            problems.append(Problem(entry.path, problem.member, problem.problem))
            except ShardError as exc:
                problems.append(Problem(entry.path, exc.member, exc.problem))
                continue
            if count != entry.samples:
                problems.append(Problem(entry.path, None, f"{count} samples, manifest says {entry.samples}"))
    return problems


def _check_sample(ref: SampleRef, f, expected_fields: set[str] | None) -> Problem | None:
    try:
        data = ref.read(f)
        fields, spec_name = parse_sample(ref)
        if expected_fields is not None and set(fields) != expected_fields:
            return Problem(ref.shard, ref.members[0][0],
                           f"sample {ref.key} has fields {sorted(fields)}, expected {sorted(expected_fields)}")
        spec = decode_spec(ref, data, spec_name)
        index = spec.get("index") if isinstance(spec, dict) else None
        if not isinstance(index, int) or f"{index:09d}" != ref.key:
            return Problem(ref.shard, spec_name, f"spec index does not match the key {ref.key}")
        arrays = decode_sample(ref, data)
    except ShardError as exc:
        return Problem(ref.shard, exc.member, exc.problem)
    shapes = {name: (a.shape[1],) + a.shape[3:] for name, a in arrays.items()}
    if len(set(shapes.values())) > 1:
        return Problem(ref.shard, ref.members[0][0], f"sample {ref.key} fields differ in T×H×W: {shapes}")
    return None


def _size_and_sha256(path: Path) -> tuple[int, str]:
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            sha.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest()
