"""The member index: the loader checks the crc32 of every member it reads when asked (verify_members)."""

import pickle

import pytest
import torch
from shard_helpers import make_build
from test_shard_verify import flip_byte

from rvm_data.shards import CodecConfig, ShardDataset, ShardError
from rvm_data.shards.members import MemberCheck, index_path


@pytest.fixture
def jpg_build(tmp_path):
    return make_build(tmp_path / "build", [4, 4], CodecConfig(color="jpg"))


def test_a_flipped_byte_in_a_jpeg_decodes_silently_unless_members_are_verified(jpg_build):
    shard = jpg_build / "train" / "test-000001.tar"
    name = flip_byte(shard, ".fgr.0000.jpg")
    plain = list(ShardDataset(jpg_build, batch_size=2, shuffle=False))
    assert len(plain) == 4  # the damage goes unnoticed: the JPEG still decodes
    with pytest.raises(ShardError, match=f"{shard}: member {name}: crc32 [0-9a-f]{{8}} differs from the member index"):
        list(ShardDataset(jpg_build, batch_size=2, shuffle=False, verify_members=True))
    ds = ShardDataset(jpg_build, batch_size=2, shuffle=False, verify_members=True, on_error="skip")
    with pytest.warns(RuntimeWarning, match=f"member {name}: crc32"):
        checked = list(ds)
    assert len(checked) == 4 and ds.skipped == 1
    # the damaged row is replaced by a sound one of its batch; every other batch is as without the check
    for a, b in zip(plain, checked, strict=True):
        if not torch.equal(a["fgr"], b["fgr"]):
            assert torch.equal(b["fgr"][0], b["fgr"][1])


def test_verified_members_with_a_worker_and_a_missing_index(jpg_build):
    ds = ShardDataset(jpg_build, batch_size=2, shuffle=False, verify_members=True)
    assert len(list(ds.loader(num_workers=1))) == 4
    index_path(jpg_build / "train" / "test-000000.tar").unlink()
    with pytest.raises(ShardError, match="member index test-000000.tar.json is missing"):
        list(ShardDataset(jpg_build, batch_size=2, shuffle=False, verify_members=True))


def test_member_check_starts_empty_in_each_process(jpg_build):
    check = MemberCheck(size=1)
    ds = ShardDataset(jpg_build, batch_size=2, shuffle=False, verify_members=True)
    ds.member_check = check
    list(ds)
    assert len(check._indices) == 1  # bounded: one index kept
    assert pickle.loads(pickle.dumps(check))._indices == {}
