import errno
import hashlib
import json
import os
import tarfile
import zlib

import numpy as np
import pytest
from shard_helpers import make_build, synthetic_sample

from rvm_data.shards import CodecConfig, ShardWriter, read_manifest, write_shard
from rvm_data.shards import writer as writer_module
from rvm_data.shards.members import index_path, read_index


def test_equal_samples_give_byte_identical_shards(tmp_path):
    samples = [synthetic_sample(i) for i in range(3)]
    a = write_shard(tmp_path / "a" / "s-000000.tar", samples, CodecConfig())
    b = write_shard(tmp_path / "b" / "s-000000.tar", [synthetic_sample(i) for i in range(3)], CodecConfig())
    data = (tmp_path / "a" / "s-000000.tar").read_bytes()
    assert data == (tmp_path / "b" / "s-000000.tar").read_bytes()
    assert (a.name, a.samples, a.bytes, a.sha256) == ("s-000000.tar", 3, len(data), hashlib.sha256(data).hexdigest())
    assert a == b


def test_member_names_order_and_fixed_attributes(tmp_path):
    write_shard(tmp_path / "s.tar", [synthetic_sample(7, frames=2)])
    with tarfile.open(tmp_path / "s.tar") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == [
            "000000007.bgr.0000.jpg", "000000007.bgr.0001.jpg", "000000007.fgr.0000.jpg", "000000007.fgr.0001.jpg",
            "000000007.pha.0000.png", "000000007.pha.0001.png", "000000007.spec.json"]
        assert {(m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) for m in members} == {(0, 0, 0, "", "", 0o644)}
        assert json.loads(tar.extractfile(members[-1]).read())["index"] == 7


@pytest.mark.parametrize("interrupt", [RuntimeError, KeyboardInterrupt])
def test_failure_mid_shard_leaves_no_visible_or_temporary_file(tmp_path, interrupt):
    with pytest.raises(interrupt):
        with ShardWriter(tmp_path / "s-000000.tar") as writer:
            writer.write(synthetic_sample(0))
            assert writer.tmp_path.exists() and not writer.path.exists()
            raise interrupt("stop")
    assert list(tmp_path.iterdir()) == []


def test_bad_samples_are_refused_with_the_key_and_field(tmp_path):
    bad = synthetic_sample(4)
    bad["pha"] = bad["pha"][:1]
    with pytest.raises(ValueError, match="sample 000000004 field 'pha'"):
        write_shard(tmp_path / "s.tar", [bad])
    with pytest.raises(ValueError, match="index"):
        write_shard(tmp_path / "s.tar", [{**synthetic_sample(0), "spec": {}}])
    with pytest.raises(ValueError, match="written twice"):
        write_shard(tmp_path / "s.tar", [synthetic_sample(1), synthetic_sample(1)])
    assert list(tmp_path.iterdir()) == []


def test_manifest_round_trip_and_totals(tmp_path):
    root = make_build(tmp_path, [2, 3])
    manifest = read_manifest(root)
    assert [e.path for e in manifest.splits["train"]] == ["train/test-000000.tar", "train/test-000001.tar"]
    assert manifest.totals()["all"]["samples"] == 5
    on_disk = json.loads((root / "manifest.json").read_text())
    assert on_disk["totals"]["train"]["bytes"] == sum((root / e.path).stat().st_size for e in manifest.splits["train"])
    assert not [p for p in root.iterdir() if p.name.startswith(".")]


def test_webdataset_reads_a_shard(tmp_path):
    wds = pytest.importorskip("webdataset")
    write_shard(tmp_path / "s.tar", [synthetic_sample(i) for i in range(3)], CodecConfig(color="png"))
    samples = list(wds.WebDataset(str(tmp_path / "s.tar"), shardshuffle=False).decode("rgb8"))
    assert [s["__key__"] for s in samples] == ["000000000", "000000001", "000000002"]
    assert samples[1]["spec.json"]["index"] == 1
    assert np.array_equal(samples[1]["fgr.0001.png"], synthetic_sample(1)["fgr"][1])


def test_every_shard_has_a_member_index_with_offsets_sizes_and_crc32(tmp_path):
    info = write_shard(tmp_path / "s-000000.tar", [synthetic_sample(i) for i in range(3)], CodecConfig())
    index = read_index(tmp_path / "s-000000.tar")
    assert (index.url, index.nsamples, index.bytes, index.sha256) == ("s-000000.tar", 3, info.bytes, info.sha256)
    with tarfile.open(tmp_path / "s-000000.tar") as tar:
        expected = [(m.name, m.offset_data, m.size, zlib.crc32(tar.extractfile(m).read())) for m in tar.getmembers()]
    assert list(index.members) == expected and len(expected) == 21  # nothing was added to the tar
    again = tmp_path / "again" / "s-000000.tar"
    write_shard(again, [synthetic_sample(i) for i in range(3)], CodecConfig())
    assert index_path(again).read_bytes() == index_path(tmp_path / "s-000000.tar").read_bytes()
    assert json.loads(index_path(again).read_text())["members"][0][0] == "000000000.bgr.0000.jpg"


class _FullDisk:
    """A file that fails with ENOSPC at ``fail`` ("write" or "flush"; after a failed flush, close fails too)."""

    def __init__(self, f, fail: str) -> None:
        self._f, self.fail = f, fail

    def _full(self):
        raise OSError(errno.ENOSPC, "No space left on device")

    def write(self, data):
        return self._full() if self.fail == "write" else self._f.write(data)

    def flush(self):
        return self._full() if self.fail == "flush" else self._f.flush()

    def fileno(self):
        return self._f.fileno()

    def close(self):
        self._f.close()
        if self.fail == "flush":
            self._full()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.mark.parametrize("where", ["write", "flush", "fsync", "index write", "index fsync"])
def test_a_full_disk_leaves_no_shard_index_or_temporary_and_names_the_shard(tmp_path, monkeypatch, where):
    real_open, real_fsync, calls = open, os.fsync, []

    def fake_open(path, mode="r", *args, **kwargs):
        f = real_open(path, mode, *args, **kwargs)
        index = str(path).endswith(".json")
        if where in ("write", "flush") and not index or where == "index write" and index:
            return _FullDisk(f, where.split()[-1])
        return f

    def fake_fsync(fd):
        calls.append(fd)
        if where == "fsync" or where == "index fsync" and len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(writer_module, "open", fake_open, raising=False)
    monkeypatch.setattr(writer_module.os, "fsync", fake_fsync)
    shard = tmp_path / "train" / "s-000000.tar"
    with pytest.raises(OSError) as info:
        write_shard(shard, [synthetic_sample(i) for i in range(2)])
    assert info.value.errno == errno.ENOSPC and str(shard) in str(info.value)
    assert list((tmp_path / "train").iterdir()) == []
