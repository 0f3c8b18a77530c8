"""The member index beside every shard: ``<shard>.tar.json`` with each member's name, data offset, size
and crc32, written by ShardWriter with the shard (which itself stays a plain tar, byte for byte).

A sha256 over the whole shard says *that* a shard is damaged; the crc32 of each member says *which*
member, and lets the loader check exactly the bytes it reads (``ShardDataset(verify_members=True)``)
at the cost of one crc32 per member. The index also carries what WebDataset's ``wids`` shard list needs
(``url``, ``nsamples``) and the offsets a random-access reader needs. Member names in it are never used
as paths.
"""

from __future__ import annotations

import builtins
import json
import os
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rvm_data.shards.layout import INDEX_SUFFIX, index_path
from rvm_data.shards.manifest import show
from rvm_data.shards.reader import SampleRef, ShardError

__all__ = ["INDEX_FORMAT", "INDEX_SUFFIX", "Member", "MemberCheck", "ShardIndex", "index_path", "member_crc",
           "member_problems", "read_index"]
INDEX_FORMAT = "rvm-data-shard-index/1"

Member = tuple[str, int, int, int]  # name, data offset, size, crc32


def member_crc(data: bytes | memoryview) -> int:
    """The crc32 recorded for a member's data (zlib's, unsigned)."""
    return zlib.crc32(data)


@dataclass(frozen=True)
class ShardIndex:
    """A shard's member index: ``url`` is the shard's file name (relative to the index file)."""

    url: str
    nsamples: int
    bytes: int
    sha256: str
    members: tuple[Member, ...]

    def to_json(self) -> builtins.bytes:  # builtins: the field ``bytes`` shadows the type here
        """Canonical bytes (sorted keys, one member per line), equal for equal shards."""
        head = json.dumps({"format": INDEX_FORMAT, "url": self.url, "nsamples": self.nsamples, "bytes": self.bytes,
                           "sha256": self.sha256}, sort_keys=True)[:-1]
        rows = ",\n".join(json.dumps(list(m)) for m in self.members)
        return f'{head}, "members": [\n{rows}\n]}}\n'.encode()

    def by_name(self) -> dict[str, Member]:
        return {m[0]: m for m in self.members}


def read_index(shard: str | os.PathLike[str]) -> ShardIndex:
    """The member index of ``shard``; a ShardError naming the shard when it is missing or garbled."""
    path = index_path(shard)
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ShardError(str(shard), None, f"member index {path.name} is missing") from None
    except OSError as exc:
        raise ShardError(str(shard), None, f"member index {path.name} cannot be read ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ShardError(str(shard), None, f"member index {path.name} is not valid JSON ({exc})") from None
    problem = _index_problem(data, Path(shard).name)
    if problem:
        raise ShardError(str(shard), None, f"member index {path.name}: {problem}")
    return ShardIndex(data["url"], data["nsamples"], data["bytes"], data["sha256"],
                      tuple(tuple(m) for m in data["members"]))


def _index_problem(data: Any, shard_name: str) -> str | None:
    def count(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    if not isinstance(data, dict) or data.get("format") != INDEX_FORMAT:
        return f"not an {INDEX_FORMAT} file"
    if data.get("url") != shard_name:
        return f"describes shard {show(data.get('url'))}, not {shard_name}"
    for key in ("nsamples", "bytes"):
        if not count(data.get(key)):
            return f"{key}: expected an integer >= 0, got {show(data.get(key))}"
    if not isinstance(data.get("sha256"), str) or not isinstance(data.get("members"), list):
        return "needs sha256 (a string) and members (a list)"
    for i, m in enumerate(data["members"]):
        if not (isinstance(m, list) and len(m) == 4 and isinstance(m[0], str) and all(count(v) for v in m[1:])
                and m[3] <= 0xFFFFFFFF):
            return f"members[{i}]: expected [name, offset, size, crc32], got {show(m)}"
    return None


def member_problems(ref: SampleRef, data: Mapping[str, bytes | memoryview],
                    expected: Mapping[str, Member]) -> list[tuple[str, str]]:
    """(member, problem) for each member of a read sample that is not as its index records it."""
    problems = []
    for name, offset, size in ref.members:
        want = expected.get(name)
        if want is None:
            problems.append((name, "not in the member index"))
        elif (offset, size) != want[1:3]:
            problems.append((name, f"at offset {offset}, {size} bytes; the member index says offset {want[1]}, "
                                   f"{want[2]} bytes"))
        elif (crc := member_crc(data[name])) != want[3]:
            problems.append((name, f"crc32 {crc:08x} differs from the member index ({want[3]:08x}): damaged data"))
    return problems


class MemberCheck:
    """Checks samples the loader reads against their shards' member indices (a few cached per process)."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._indices: OrderedDict[str, dict[str, Member]] = OrderedDict()

    def __getstate__(self) -> dict[str, Any]:  # DataLoader workers start with an empty cache
        return {"size": self.size, "_indices": OrderedDict()}

    def check(self, ref: SampleRef, data: Mapping[str, bytes | memoryview]) -> None:
        """Raise ShardError naming the shard and the first member whose bytes differ from the index."""
        expected = self._indices.pop(ref.shard, None)
        if expected is None:
            expected = read_index(ref.shard).by_name()
            if len(self._indices) >= self.size:
                self._indices.popitem(last=False)
        self._indices[ref.shard] = expected
        problems = member_problems(ref, data, expected)
        if problems:
            raise ShardError(ref.shard, *problems[0])
