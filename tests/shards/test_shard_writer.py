import hashlib
import json
import tarfile

import numpy as np
import pytest

from shard_helpers import make_build, synthetic_sample
from rvm_data.shards import CodecConfig, ShardWriter, read_manifest, write_shard


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
