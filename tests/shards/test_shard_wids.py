"""The wids shard lists beside the manifest, and read_sample's random access through the member index."""

from __future__ import annotations

import json

import numpy as np
import pytest
from shard_helpers import make_build, synthetic_sample

from rvm_data.shards import read_sample
from rvm_data.shards.manifest import read_manifest
from rvm_data.shards.members import index_path
from rvm_data.shards.wids import wids_path, write_wids_indices


def test_wids_reads_the_shards_as_they_are(build):
    wids = pytest.importorskip("wids")
    [path] = write_wids_indices(build)
    assert path == wids_path(build, "train", "test")
    desc = json.loads(path.read_text())
    assert desc["__kind__"] == "wids-shard-index-v1" and desc["wids_version"] == 1
    assert [s["nsamples"] for s in desc["shardlist"]] == [5, 5, 4]
    ds = wids.ShardListDataset(str(path), transformations=[])
    assert len(ds) == 14
    for i in (0, 7, 13):
        sample = ds[i]
        assert sample["__key__"] == f"{i:09d}"
        assert json.loads(sample[".spec.json"].read())["index"] == i
        assert sample[".fgr.0001.png"].read() == read_raw(build, i, "fgr.0001.png")


def read_raw(build, i, member):
    """A member's bytes by a plain tar read (what wids must hand out unchanged)."""
    import tarfile
    manifest = read_manifest(build)
    position = i
    for entry in manifest.splits["train"]:
        if position < entry.samples:
            with tarfile.open(build / entry.path) as tar:
                return tar.extractfile(f"{i:09d}.{member}").read()
        position -= entry.samples
    raise AssertionError(i)


def test_an_output_no_longer_in_the_manifest_loses_its_shard_list(build):
    stale = build / "train" / "gone.wids.json"
    stale.write_text("{}")
    write_wids_indices(build)
    assert not stale.exists() and wids_path(build, "train", "test").exists()


@pytest.mark.parametrize("indexed", [True, False])
def test_read_sample_gives_the_same_sample_with_and_without_the_member_index(tmp_path, indexed):
    root = make_build(tmp_path / "b", [6, 6])
    if not indexed:
        for entry in read_manifest(root).splits["train"]:
            index_path(root / entry.path).unlink()
    for i in (0, 5, 6, 11):
        sample = read_sample(root, "train", i)
        assert sample["spec"]["index"] == i
        assert np.array_equal(sample["pha"], synthetic_sample(i)["pha"])


def test_a_stale_member_index_is_not_trusted(tmp_path):
    """An index whose byte count is not the shard's (the shard was replaced) falls back to a scan."""
    root = make_build(tmp_path / "b", [4])
    shard = root / read_manifest(root).splits["train"][0].path
    data = json.loads(index_path(shard).read_text())
    data["bytes"] += 512
    data["members"] = [[m[0], m[1] + 512, m[2], m[3]] for m in data["members"]]
    index_path(shard).write_text(json.dumps(data))
    assert read_sample(root, "train", 3)["spec"]["index"] == 3


def test_statefuldataloader_and_own_state_dict_resume_to_the_same_batches(build):
    """torchdata's StatefulDataLoader (single process) saves the dataset's state_dict with its own; both
    resume paths give the batches an uninterrupted epoch would have given next."""
    stateful = pytest.importorskip("torchdata.stateful_dataloader")
    from rvm_data.shards import ShardDataset

    def make() -> ShardDataset:
        return ShardDataset(build, batch_size=2, seed=3, with_spec=True)

    def keys(batches) -> list[list[int]]:
        return [[s["index"] for s in b["spec"]] for b in batches]

    whole = keys(make().loader())
    loader = stateful.StatefulDataLoader(make(), batch_size=None)
    it = iter(loader)
    head = keys([next(it) for _ in range(3)])
    saved = loader.state_dict()
    again = stateful.StatefulDataLoader(make(), batch_size=None)
    again.load_state_dict(saved)
    own = make()
    own.load_state_dict(saved["dataset_state"])
    rest_stateful, rest_own = keys(again), keys(own.loader())
    assert head == whole[:3] and len(whole) == 7
    assert rest_stateful == rest_own == whole[3:]


@pytest.mark.parametrize("cut", [1, 4])
def test_statefuldataloader_with_workers_resumes_each_worker_at_its_own_next_batch(build, cut):
    """With 2 workers each saves the next batch it makes; resumed, the round robin goes on where it was."""
    stateful = pytest.importorskip("torchdata.stateful_dataloader")
    from rvm_data.shards import ShardDataset

    def loader() -> stateful.StatefulDataLoader:
        return stateful.StatefulDataLoader(ShardDataset(build, batch_size=2, seed=5, with_spec=True),
                                           batch_size=None, num_workers=2)

    def keys(batches) -> list[list[int]]:
        return [[s["index"] for s in b["spec"]] for b in batches]

    whole = keys(loader())
    first = loader()
    it = iter(first)
    head = keys([next(it) for _ in range(cut)])
    saved = first.state_dict()
    del it
    again = loader()
    again.load_state_dict(saved)
    assert head == whole[:cut] and keys(again) == whole[cut:] and len(whole) == 7
