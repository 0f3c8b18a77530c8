"""Reading tar headers fast: (member name, data offset, size) of every member, nothing extracted.

``tarfile`` builds a full TarInfo per member (about 15 µs); a loader that scans each shard once per
epoch in every DataLoader worker spends a few percent of its time there. This reader parses only what
an index needs from ustar headers (plus pax ``path``/``size`` records and GNU long names, so tars
written by other tools read too), verifies each header checksum, and, unlike ``tarfile``, treats a
file that ends without the end-of-archive blocks or with garbage after them as damaged. Whatever the
bytes, the only error it raises is :class:`TarFormatError`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO

from rvm_data.errors import RvmDataError

BLOCK = 512
_ZERO = bytes(BLOCK)
MAX_EXTENDED = 1 << 20  # bytes of a pax or GNU long-name header: names and sizes, never this long


class TarFormatError(RvmDataError, ValueError):
    """The tar structure is broken; ``member`` is the last good member (None at the start)."""

    def __init__(self, member: str | None, problem: str) -> None:
        self.member, self.problem = member, problem
        super().__init__(problem)


def _number(field: bytes) -> int:
    if field[:1] == b"\x80":  # GNU base-256 for sizes of 8 GiB and more
        return int.from_bytes(field[1:], "big")
    text = field.split(b"\0", 1)[0].strip()
    return int(text, 8) if text else 0


def _pax_records(data: bytes, last: str | None) -> dict[str, str]:
    """``<length> <key>=<value>\\n`` records; a malformed one is a TarFormatError, never a loop or ValueError."""
    records, pos = {}, 0
    while pos < len(data) and data[pos] != 0:
        space = data.find(b" ", pos, pos + 20)
        digits = data[pos:space]
        length = int(digits) if space > pos and digits.isdigit() else 0
        end = pos + length
        if length <= space - pos + 1 or end > len(data) or data[end - 1:end] != b"\n":
            raise TarFormatError(last, "corrupt pax header record after this member")
        key, eq, value = data[space + 1:end - 1].partition(b"=")
        if not eq:
            raise TarFormatError(last, "corrupt pax header record after this member (no '=')")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos = end
    return records


def iter_members(f: BinaryIO) -> Iterator[tuple[str, int, int]]:
    """(name, data offset, size) of each regular-file member of the tar open in ``f``, in file order."""
    size = os.fstat(f.fileno()).st_size
    offset = 0
    last: str | None = None
    pending: dict[str, str] = {}  # pax / GNU long-name values for the next header
    while True:
        f.seek(offset)
        header = f.read(BLOCK)
        if len(header) < BLOCK:
            raise TarFormatError(last, "truncated: the file ends before the end-of-archive marker")
        if header == _ZERO:
            while chunk := f.read(1 << 20):
                if chunk.count(0) != len(chunk):
                    raise TarFormatError(last, "data after the end-of-archive marker (corrupt header?)")
            return
        try:
            stored = _number(header[148:156])
            member_size = _number(header[124:136])
        except ValueError:
            raise TarFormatError(last, "corrupt tar header after this member") from None
        if stored != sum(header) - sum(header[148:156]) + 8 * 32:
            raise TarFormatError(last, "corrupt tar header after this member (checksum)")
        kind = header[156:157]
        data_offset = offset + BLOCK
        if data_offset + member_size > size:
            raise TarFormatError(last, "truncated: member data ends past the end of the file")
        offset = data_offset + -(-member_size // BLOCK) * BLOCK
        if kind in (b"x", b"L"):
            if member_size > MAX_EXTENDED:
                raise TarFormatError(last, f"a {member_size}-byte extended header after this member")
            data = f.read(member_size)
            if kind == b"x":
                pending.update(_pax_records(data, last))
            else:
                pending["path"] = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
            continue
        if kind == b"g":
            continue
        name = header[:100].split(b"\0", 1)[0]
        prefix = header[345:500].split(b"\0", 1)[0] if header[257:262] == b"ustar" else b""
        name_text = pending.get("path") or (prefix + b"/" + name if prefix else name).decode("utf-8", "surrogateescape")
        if "size" in pending:
            if not (pending["size"].isascii() and pending["size"].isdigit() and len(pending["size"]) <= 20):
                raise TarFormatError(last, f"corrupt pax size {pending['size'][:20]!r} after this member")
            member_size = int(pending["size"])
            if data_offset + member_size > size:
                raise TarFormatError(last, "truncated: member data ends past the end of the file")
            offset = data_offset + -(-member_size // BLOCK) * BLOCK
        pending = {}
        if kind not in (b"0", b"\0"):
            raise TarFormatError(name_text, "not a regular file member")
        yield name_text, data_offset, member_size
        last = name_text
