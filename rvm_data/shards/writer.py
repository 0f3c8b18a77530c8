"""ShardWriter: one WebDataset-style tar shard (and its member index), byte-identical for equal samples,
visible only when complete."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from rvm_data.shards.codec import CodecConfig, encode_field
from rvm_data.shards.layout import INDEX_SUFFIX, index_key, index_path, member_key, member_name, spec_member, temp_path
from rvm_data.shards.members import Member, ShardIndex, member_crc


@dataclass(frozen=True)
class ShardInfo:
    """What the manifest records of one finished shard (``name`` is the file name)."""

    name: str
    samples: int
    bytes: int
    sha256: str


def sample_key(spec: dict[str, Any]) -> str:
    """The sample's tar key: its index zero-padded to 9 digits (:func:`rvm_data.shards.layout.index_key`)."""
    index = spec.get("index") if isinstance(spec, dict) else None
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise ValueError(f"sample spec needs a non-negative integer 'index', got {index!r}")
    return index_key(index)


def encode_sample(sample: dict[str, Any], codec: CodecConfig) -> list[tuple[str, bytes]]:
    """All members of one sample, ``(name, bytes)`` sorted by name.

    Every array field must be T×H×W×C uint8 with the same T, H and W (one clip, one size).
    """
    if "spec" not in sample:
        raise ValueError("sample has no 'spec'")
    key = sample_key(sample["spec"])
    members = [(spec_member(key), json.dumps(sample["spec"], sort_keys=True, separators=(",", ":")).encode())]
    shape = None
    for field in sorted(k for k in sample if k != "spec"):
        frames = sample[field]
        if not isinstance(frames, np.ndarray) or frames.ndim != 4:
            raise ValueError(f"sample {key} field {field!r} must be a T×H×W×C array")
        if shape is None:
            shape = frames.shape[:3]
        elif frames.shape[:3] != shape:
            raise ValueError(f"sample {key} field {field!r} has T×H×W {frames.shape[:3]}, other fields {shape}")
        members.extend((member_name(key, suffix), data) for suffix, data in encode_field(field, frames, codec))
    return sorted(members)


class _HashingFile(io.RawIOBase):
    """Write-through file wrapper that hashes and counts what tarfile writes."""

    def __init__(self, f: io.BufferedWriter) -> None:
        self._f = f
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._f.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size


class ShardWriter:
    """Context manager writing one shard and its member index (:mod:`rvm_data.shards.members`).

    Writes to ``.<name>.tmp-<pid>`` beside ``path``; on a clean exit flushes and fsyncs it, writes the
    index ``<name>.json`` the same way, and renames the index, then the shard, into place (atomic on
    POSIX), so a visible shard has its index. On any failure (KeyboardInterrupt, a full disk in write,
    close, flush or fsync) both temporaries are deleted; an OSError names the shard. ``info`` holds the
    ShardInfo after a successful close.
    """

    def __init__(self, path: str | os.PathLike[str], codec: CodecConfig | None = None) -> None:
        self.path = Path(path)
        self.codec = codec or CodecConfig()
        self.tmp_path = temp_path(self.path)
        self.index_path = index_path(self.path)
        # matches build's stale-temporary pattern (layout.SHARD_TEMP_GLOB)
        self.index_tmp_path = self.tmp_path.with_name(self.tmp_path.name + INDEX_SUFFIX)
        self.info: ShardInfo | None = None
        self._keys: set[str] = set()
        self._members: list[Member] = []
        self._file: io.BufferedWriter | None = None
        self._hashing: _HashingFile | None = None
        self._tar: tarfile.TarFile | None = None

    def __enter__(self) -> ShardWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.tmp_path, "wb")
        self._hashing = _HashingFile(self._file)
        self._tar = tarfile.open(fileobj=self._hashing, mode="w", format=tarfile.USTAR_FORMAT)
        return self

    def write(self, sample: dict[str, Any]) -> None:
        """Encode and append one sample (its key comes from ``sample['spec']['index']``)."""
        if self._tar is None:
            raise RuntimeError("ShardWriter.write outside its 'with' block")
        members = encode_sample(sample, self.codec)
        key = member_key(members[0][0])
        if key in self._keys:
            raise ValueError(f"sample {key} written twice to {self.path}")
        self._keys.add(key)
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            try:
                self._tar.addfile(info, io.BytesIO(data))
            except OSError as exc:
                raise self._named(exc) from exc
            # the data ends at the tar's offset less the padding to the next 512-byte block
            offset = self._tar.offset - -(-len(data) // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
            self._members.append((name, offset, len(data), member_crc(data)))

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self._tar is not None and self._file is not None and self._hashing is not None
        try:
            if exc_type is None:
                self._finish()
        except OSError as error:
            raise self._named(error) from error
        finally:
            self._discard()
        if exc_type is None:
            self.info = ShardInfo(self.path.name, len(self._keys), self._hashing.size, self._hashing.sha.hexdigest())

    def _finish(self) -> None:
        assert self._tar is not None and self._file is not None and self._hashing is not None
        self._tar.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        index = ShardIndex(self.path.name, len(self._keys), self._hashing.size, self._hashing.sha.hexdigest(),
                           tuple(self._members))
        with open(self.index_tmp_path, "wb") as f:
            f.write(index.to_json())
            f.flush()
            os.fsync(f.fileno())
        os.replace(self.index_tmp_path, self.index_path)
        try:
            os.replace(self.tmp_path, self.path)
        except BaseException:
            self.index_path.unlink(missing_ok=True)
            raise
        _fsync_dir(self.path.parent)

    def _discard(self) -> None:
        """Close the temporary (quietly: after a failed flush, closing fails again) and delete both."""
        assert self._file is not None
        try:
            self._file.close()
        except OSError:
            pass
        self.tmp_path.unlink(missing_ok=True)
        self.index_tmp_path.unlink(missing_ok=True)

    def _named(self, error: OSError) -> OSError:
        """The same error, naming the shard (a full disk says which shard it stopped)."""
        if str(self.path) in str(error):
            return error
        message = f"writing shard {self.path}: {error.strerror or error}"
        return OSError(error.errno, message) if error.errno is not None else OSError(message)


def _fsync_dir(path: Path) -> None:
    """Make a rename durable (best effort where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_shard(path: str | os.PathLike[str], samples: Iterable[dict[str, Any]],
                codec: CodecConfig | None = None) -> ShardInfo:
    """Write an iterable of samples to one shard and return its ShardInfo."""
    with ShardWriter(path, codec) as writer:
        for sample in samples:
            writer.write(sample)
    assert writer.info is not None
    return writer.info
