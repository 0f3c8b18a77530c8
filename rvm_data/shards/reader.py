"""Reading shards without extracting them: a header scan gives sample references, a batch decoder
reads each sample's bytes with one seek + read and decodes its frames straight into batch arrays.

Member names are parsed (key, field, frame, extension) but never used as paths. What a sample must
look like (its :data:`Layout`: fields and their T×C×H×W) is known before its frames are decoded, from
the dataset or from the sample's own headers, and every frame's header is checked against it first,
so a small member that claims a huge image is refused before anything that size is allocated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Generator
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

import numpy as np

from rvm_data.errors import RvmDataError
from rvm_data.shards.codec import CodecError, Encoding, copy_frame, encoding, gib, memory_limit
from rvm_data.shards.layout import MemberNameError, is_spec_member, member_field, parse_member, scan_key, spec_member
from rvm_data.shards.tarindex import TarFormatError, iter_members

Layout = dict[str, tuple[int, int, int, int]]  # frame field -> (T, C, H, W) of one sample
SPEC_DEPTH = 64  # nesting a sample's spec.json may have (a SampleSpec has 5 levels)


class ShardError(RvmDataError, RuntimeError):
    """A shard (and, where known, a member of it) that cannot be read; the message is one line."""

    def __init__(self, shard: str, member: str | None, problem: str) -> None:
        self.shard, self.member, self.problem = shard, member, " ".join(problem.split())
        where = f"{shard}: member {member!r}" if member and not member.isprintable() else (
            f"{shard}: member {member}" if member else shard)
        super().__init__(f"{where}: {self.problem}")


@dataclass(frozen=True)
class SampleRef:
    """Where one sample's members lie in its shard: (name, data offset, size) each, in tar order."""

    shard: str
    key: str
    members: tuple[tuple[str, int, int], ...]

    def read(self, f: BinaryIO) -> dict[str, memoryview]:
        """Member name -> bytes, with one read of the sample's span of the (open, binary) shard file."""
        start = self.members[0][1]
        end = max(off + size for _, off, size in self.members)
        try:
            f.seek(start)
            blob = memoryview(f.read(end - start))
        except OSError as exc:
            raise ShardError(self.shard, self.members[0][0], f"cannot read: {exc.strerror or exc}") from None
        if len(blob) != end - start:
            raise ShardError(self.shard, self.members[-1][0], "truncated: member data ends past the end of the file")
        return {name: blob[off - start: off - start + size] for name, off, size in self.members}


def scan_shard(path: str) -> Generator[SampleRef, None, None]:
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
                name_key = scan_key(name)
                if name_key is None:
                    raise ShardError(path, name, "member name is not <key>.<field>...")
                if name_key == key and any(m[0] == name for m in members):
                    raise ShardError(path, name, f"member appears twice in sample {key}")
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
    except OSError as exc:
        raise ShardError(path, None, f"cannot read: {exc.strerror or exc}") from None
    if key is not None:
        yield SampleRef(path, key, tuple(members))


def count_samples(path: str) -> int:
    """Samples in a shard (a full header scan, which also checks the tar structure)."""
    return sum(1 for _ in scan_shard(path))


@dataclass
class _Field:
    ext: str
    names: list[str]  # one member per frame, or one video member

    @property
    def encoding(self) -> Encoding:
        enc = encoding(self.ext)
        assert enc is not None  # parse_sample admits only members of a registered encoding
        return enc


def parse_sample(ref: SampleRef) -> tuple[dict[str, _Field], str | None]:
    """Group a sample's members by field, checking frame numbers run 0..T-1; also the spec member."""
    fields: dict[str, dict[int, str]] = {}
    exts: dict[str, str] = {}
    spec = None
    for name, _, _ in ref.members:
        try:
            member = parse_member(name)
        except MemberNameError as exc:
            raise ShardError(ref.shard, name, str(exc)) from None
        if member.is_spec:
            spec = name
            continue
        enc = encoding(member.ext)
        if enc is not None and enc.per_frame == (member.frame is not None):
            field, t, ext = member.field, -1 if member.frame is None else member.frame, member.ext
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
        raise ShardError(ref.shard, spec_member(ref.key), "missing")
    try:
        spec = json.loads(bytes(data[spec_name]))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ShardError(ref.shard, spec_name, f"invalid JSON ({type(exc).__name__}: {exc})") from None
    if not isinstance(spec, dict):
        raise ShardError(ref.shard, spec_name, f"expected a JSON object, got {type(spec).__name__}")
    if _depth(spec) > SPEC_DEPTH:  # parsed, but code that walks it recursively would not cope
        raise ShardError(ref.shard, spec_name, f"JSON nested more than {SPEC_DEPTH} levels deep")
    return spec


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, walked without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def sample_layout(ref: SampleRef, data: dict[str, memoryview]) -> Layout:
    """Each frame field's (T, C, H, W), from its first member's header (video: container and packets).

    Nothing is decoded, so this is what a sample claims to be; decoding checks every frame against it.
    """
    fields, _ = parse_sample(ref)
    layout: Layout = {}
    for field, info in fields.items():
        name = info.names[0]
        try:
            frames, h, w, c = info.encoding.header(data[name])
            t = len(info.names) if frames is None else frames
        except CodecError as exc:
            raise ShardError(ref.shard, name, str(exc)) from None
        if c not in (1, 3) or min(t, h, w) < 1:
            raise ShardError(ref.shard, name, f"field {field} is {t}x{h}x{w} with {c} channels (not a shard field)")
        layout[field] = (t, c, h, w)
    if not layout:
        raise ShardError(ref.shard, ref.members[0][0], f"sample {ref.key} has no frame fields")
    return layout


def check_memory(layout: Layout, batch: int, shard: str, member: str | None) -> None:
    """Refuse a layout whose batch would not fit the memory limit, before it is allocated."""
    need = batch * sum(t * c * h * w for t, c, h, w in layout.values())
    limit = memory_limit()
    if need > limit:
        shapes = ", ".join(f"{f} {t}x{h}x{w}x{c}" for f, (t, c, h, w) in layout.items())
        raise ShardError(shard, member, f"a batch of {batch} such samples ({shapes}) needs {gib(need)}, more than "
                         f"the limit of {gib(limit)} (half the RAM, or $RVM_DATA_MEMORY_LIMIT_GIB)")


def allocate(layout: Layout, batch: int,
             alloc: Callable[[tuple[int, ...]], np.ndarray] = lambda shape: np.empty(shape, np.uint8)
             ) -> dict[str, np.ndarray]:
    """B×T×C×H×W uint8 arrays for a batch of samples of ``layout`` (``alloc`` may give shared memory)."""
    return {field: alloc((batch, *shape)) for field, shape in layout.items()}


def decode_sample_into(ref: SampleRef, data: dict[str, memoryview], out: dict[str, np.ndarray], b: int) -> None:
    """Decode all frame fields of one sample into row ``b`` of the B×T×C×H×W arrays in ``out``.

    The sample must have exactly the fields of ``out`` with their T, H, W and C; every frame's header is
    checked before the frame is decoded. Errors are ShardErrors naming the shard and member.
    """
    fields, _ = parse_sample(ref)
    if set(fields) != set(out):
        raise ShardError(ref.shard, ref.members[0][0],
                         f"sample {ref.key} has fields {sorted(fields)}, the dataset's samples {sorted(out)}")
    for field, info in fields.items():
        arr = out[field]
        count, channels, h, w = arr.shape[1:]
        name = info.names[0]
        try:
            enc = info.encoding
            if not enc.per_frame:
                seq = enc.decode(data[name], (count, h, w))
                for t in range(count):
                    copy_frame(seq[t], arr[b, t])
                continue
            if len(info.names) != count:
                raise CodecError(f"field {field} has {len(info.names)} frames, the dataset's samples {count}")
            for t, name in enumerate(info.names):
                copy_frame(enc.decode(data[name], (count, h, w)), arr[b, t])
        except CodecError as exc:
            raise ShardError(ref.shard, name, str(exc)) from None


def decode_sample(ref: SampleRef, data: dict[str, memoryview], layout: Layout | None = None) -> dict[str, np.ndarray]:
    """All frame fields of one sample as 1×T×C×H×W uint8 arrays (a batch of one).

    Without ``layout`` the sample's own headers give it (each field's first frame), within the memory limit.
    """
    if layout is None:
        layout = sample_layout(ref, data)
        check_memory(layout, 1, ref.shard, ref.members[0][0])
    arrays = allocate(layout, 1)
    decode_sample_into(ref, data, arrays, 0)
    return arrays


def load_sample(ref: SampleRef, f: BinaryIO, fields: Collection[str] | None = None) -> dict[str, Any]:
    """One scanned sample from its open shard file: ``{field: T×H×W×C uint8}`` plus ``"spec"`` (a dict).

    ``fields`` limits what is read and decoded (``"spec"`` counts as a field), and the fields it names that
    the sample lacks are left out; without ``fields`` a missing spec is an error. Reads the chosen
    members' span with one seek + read. Frames are decoded only once their headers match the size and
    frame count the sample's spec gives (where it has one) and fit the memory limit. Errors name the
    shard and member.
    """
    part = ref if fields is None else replace(ref, members=tuple(
        m for m in ref.members if member_field(m[0]) in fields or is_spec_member(m[0])))
    frame_fields, spec_name = parse_sample(part)
    if not frame_fields and (spec_name is None or (fields is not None and "spec" not in fields)):
        return {}
    data = part.read(f)
    spec = decode_spec(part, data, spec_name) if fields is None or spec_name is not None else None
    sample: dict[str, Any] = {}
    if frame_fields:
        layout = sample_layout(part, data)
        size, frames = (spec or {}).get("size"), (spec or {}).get("frames")
        if isinstance(size, list) and len(size) == 2 and type(frames) is int:
            for field, (t, _, h, w) in layout.items():
                if [t, h, w] != [frames, *size]:
                    raise ShardError(part.shard, frame_fields[field].names[0], f"field {field} is {t}x{h}x{w} (TxHxW), "
                                     f"the sample's spec says {frames}x{size[0]}x{size[1]} (not decoded)")
        check_memory(layout, 1, part.shard, part.members[0][0])
        sample = {k: np.ascontiguousarray(v[0].transpose(0, 2, 3, 1))
                  for k, v in decode_sample(part, data, layout).items()}
    if spec is not None and (fields is None or "spec" in fields):
        sample["spec"] = spec
    return sample
