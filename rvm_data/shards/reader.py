"""Reading shards without extracting them: a header scan gives sample references, a batch decoder
reads each sample's bytes with one seek + read and decodes its frames straight into batch arrays.

Member names are parsed (key, field, frame, extension) but never used as paths.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any, BinaryIO, Callable, Iterator

import numpy as np

from rvm_data.errors import RvmDataError
from rvm_data.shards.codec import IMAGE_EXTS, VIDEO_EXTS, CodecError, copy_frame, decode_image, decode_video
from rvm_data.shards.tarindex import TarFormatError, iter_members


class ShardError(RvmDataError, RuntimeError):
    """A shard (and, where known, a member of it) that cannot be read."""

    def __init__(self, shard: str, member: str | None, problem: str) -> None:
        self.shard, self.member, self.problem = shard, member, problem
        where = f"{shard}: member {member}" if member else shard
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class SampleRef:
    """Where one sample's members lie in its shard: (name, data offset, size) each, in tar order."""

    shard: str
    key: str
    members: tuple[tuple[str, int, int], ...]

    def read(self, f) -> dict[str, memoryview]:
        """Member name -> bytes, with one read of the sample's span of the (open, binary) shard file."""
        start = self.members[0][1]
        end = max(off + size for _, off, size in self.members)
        f.seek(start)
        blob = memoryview(f.read(end - start))
        if len(blob) != end - start:
            raise ShardError(self.shard, self.members[-1][0], "truncated: member data ends past the end of the file")
        return {name: blob[off - start: off - start + size] for name, off, size in self.members}


def scan_shard(path: str) -> Iterator[SampleRef]:
    """The samples of a shard in file order, from the tar headers only (data is skipped by seeking).

    Raises ShardError naming the last good member when a header is corrupt, the file is truncated,
    a member is not a regular file, or a sample's members are not adjacent.
    """
    key: str | None = None
    members: list[tuple[str, int, int]] = []
    seen: set[str] = set()
    try:
        with open(path, "rb") as f:
            for name, offset, size in iter_members(f):
                name_key, dot, _ = name.partition(".")
                if not dot or not name_key:
                    raise ShardError(path, name, "member name is not <key>.<field>...")
                if name_key != key:
                    if key is not None:
                        yield SampleRef(path, key, tuple(members))
                    if name_key in seen:
                        raise ShardError(path, name, f"members of sample {name_key} are not adjacent")
                    seen.add(name_key)
                    key, members = name_key, []
                members.append((name, offset, size))
    except TarFormatError as exc:
        raise ShardError(path, exc.member, exc.problem) from None
    if key is not None:
        yield SampleRef(path, key, tuple(members))


def count_samples(path: str) -> int:
    """Samples in a shard (a full header scan, which also checks the tar structure)."""
    return sum(1 for _ in scan_shard(path))


@dataclass
class _Field:
    ext: str
    names: list[str]  # one member per frame, or one video member


def parse_sample(ref: SampleRef) -> tuple[dict[str, _Field], str | None]:
    """Group a sample's members by field, checking frame numbers run 0..T-1; also the spec member."""
    fields: dict[str, dict[int, str]] = {}
    exts: dict[str, str] = {}
    spec = None
    for name, _, _ in ref.members:
        parts = name.split(".")
        if parts[1:] == ["spec", "json"]:
            spec = name
            continue
        if len(parts) == 4 and parts[2].isdigit() and parts[3] in IMAGE_EXTS:
            field, t, ext = parts[1], int(parts[2]), parts[3]
        elif len(parts) == 3 and parts[2] in VIDEO_EXTS:
            field, t, ext = parts[1], -1, parts[2]
        else:
            raise ShardError(ref.shard, name, "unknown member (expected <key>.<field>.<t>.<ext> or .spec.json)")
        if exts.setdefault(field, ext) != ext:
            raise ShardError(ref.shard, name, f"field {field} mixes {exts[field]} and {ext} members")
        fields.setdefault(field, {})[t] = name
    out = {}
    for field, frames in fields.items():
        ts = sorted(frames)
        if ts != [-1] and ts != list(range(len(ts))):
            raise ShardError(ref.shard, frames[ts[-1]], f"field {field} frames are not numbered 0..{len(ts) - 1}")
        out[field] = _Field(exts[field], [frames[t] for t in ts])
    return out, spec


def decode_spec(ref: SampleRef, data: dict[str, memoryview], spec_name: str | None) -> dict[str, Any]:
    if spec_name is None:
        raise ShardError(ref.shard, f"{ref.key}.spec.json", "missing")
    try:
        return json.loads(bytes(data[spec_name]))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ShardError(ref.shard, spec_name, f"invalid JSON ({exc})") from None


def decode_sample_into(ref: SampleRef, data: dict[str, memoryview], out: dict[str, np.ndarray], b: int,
                       batch_size: int, fields_expected: set[str] | None,
                       alloc: Callable[[tuple[int, ...]], np.ndarray] = lambda shape: np.empty(shape, np.uint8)) -> None:
    """Decode all frame fields of one sample into row ``b`` of the B×T×C×H×W arrays in ``out``.

    The first sample of a batch allocates the arrays with ``alloc`` (the loader passes one that
    allocates in shared memory inside DataLoader workers); every later sample must match them.
    """
    fields, _ = parse_sample(ref)
    if fields_expected is not None and set(fields) != fields_expected:
        raise ShardError(ref.shard, ref.members[0][0],
                         f"sample {ref.key} has fields {sorted(fields)}, the batch has {sorted(fields_expected)}")
    for field, info in fields.items():
        video = info.ext in VIDEO_EXTS
        name = info.names[0]
        try:
            seq = decode_video(data[name]) if video else None
            count = len(seq) if seq is not None else len(info.names)
            for t in range(count):
                if seq is None:
                    name = info.names[t]
                frame = seq[t] if seq is not None else decode_image(data[name], info.ext)
                arr = _target(out, field, (batch_size, count, frame.shape[2], *frame.shape[:2]), alloc)
                if arr.shape[1] != count:
                    raise CodecError(f"{count} frames, the batch has {arr.shape[1]}")
                copy_frame(frame, arr[b, t])
        except CodecError as exc:
            raise ShardError(ref.shard, name, str(exc)) from None


def decode_sample(ref: SampleRef, data: dict[str, memoryview]) -> dict[str, np.ndarray]:
    """All frame fields of one sample as 1×T×C×H×W uint8 arrays (a batch of one)."""
    arrays: dict[str, np.ndarray] = {}
    decode_sample_into(ref, data, arrays, 0, 1, None)
    return arrays


def load_sample(ref: SampleRef, f: BinaryIO, fields: Collection[str] | None = None) -> dict[str, Any]:
    """One scanned sample from its open shard file: ``{field: T×H×W×C uint8}`` plus ``"spec"`` (a dict).

    ``fields`` limits what is read and decoded (``"spec"`` counts as a field), and the fields it names that
    the sample lacks are left out; without ``fields`` a missing spec is an error. Reads the chosen
    members' span with one seek + read. Errors name the shard and member.
    """
    part = ref if fields is None else replace(ref, members=tuple(
        m for m in ref.members if m[0].split(".")[1] in fields))
    if not part.members:
        return {}
    data = part.read(f)
    sample: dict[str, Any] = {k: np.ascontiguousarray(v[0].transpose(0, 2, 3, 1))
                              for k, v in decode_sample(part, data).items()}
    spec_name = parse_sample(part)[1]
    if fields is None or spec_name is not None:  # all fields asked for: a sample without a spec is an error
        sample["spec"] = decode_spec(part, data, spec_name)
    return sample


def _target(out: dict[str, np.ndarray], field: str, shape: tuple[int, ...],
            alloc: Callable[[tuple[int, ...]], np.ndarray]) -> np.ndarray:
    if field not in out:
        out[field] = alloc(shape)
    return out[field]
