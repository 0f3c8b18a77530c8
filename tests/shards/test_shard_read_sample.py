"""read_sample / load_sample: one sample of a build by index, as T×H×W×C arrays plus its spec."""

from pathlib import Path

import numpy as np
import pytest
from shard_helpers import synthetic_sample

from rvm_data.shards import (
    Manifest,
    ShardEntry,
    ShardError,
    load_sample,
    read_manifest,
    read_sample,
    scan_shard,
    write_manifest,
    write_shard,
)


@pytest.mark.parametrize("index", [0, 4, 5, 13])  # first / last of shard 0, first of shard 1, last of all
def test_reads_the_written_pixels_and_spec_by_index(build, index):
    sample = read_sample(build, "train", index)
    want = synthetic_sample(index)
    assert set(sample) == {"fgr", "pha", "bgr", "spec"} and sample["spec"] == want["spec"]
    for field in ("fgr", "pha", "bgr"):
        assert sample[field].dtype == np.uint8 and sample[field].flags.c_contiguous
        np.testing.assert_array_equal(sample[field], want[field])


def test_index_out_of_range_names_the_build_split_and_count(build):
    for index in (14, -1):
        with pytest.raises(IndexError, match=rf"{build}: split 'train' has 14 samples; index {index} is out of range"):
            read_sample(build, "train", index)


def test_a_truncated_shard_is_named(build):
    shard = build / "train" / "test-000002.tar"
    shard.write_bytes(shard.read_bytes()[:6000])
    with pytest.raises(ShardError, match=str(shard)):
        read_sample(build, "train", 13)


def test_picks_one_output_of_a_split_with_two(tmp_path: Path):
    entries = []
    for output, size in (("lr", (16, 24)), ("hr", (32, 48))):
        samples = [synthetic_sample(i, size=size) for i in range(2)]
        info = write_shard(tmp_path / "train" / f"{output}-000000.tar", samples)
        entries.append(ShardEntry(f"train/{info.name}", info.samples, info.bytes, info.sha256))
    write_manifest(tmp_path, Manifest({"name": "two"}, "0" * 64, {"train": entries}))
    with pytest.raises(ValueError, match="pass output="):
        read_sample(tmp_path, "train", 0)
    assert read_sample(tmp_path, "train", 1, output="hr")["fgr"].shape == (2, 32, 48, 3)
    assert read_sample(tmp_path, "train", 1, output="lr")["spec"]["index"] == 1


def test_load_sample_reads_only_the_fields_asked_for(build):
    shard = build / "train" / "test-000000.tar"
    ref = list(scan_shard(str(shard)))[3]
    with open(shard, "rb") as f:
        part = load_sample(ref, f, ("pha", "seg"))  # seg: not in this sample, left out
        whole = load_sample(ref, f)
    assert set(part) == {"pha"} and set(whole) == {"fgr", "pha", "bgr", "spec"}
    np.testing.assert_array_equal(part["pha"], whole["pha"])


def test_a_shard_missing_from_the_manifest_is_an_error_not_another_sample(build):
    manifest = read_manifest(build)
    del manifest.splits["train"][0]  # e.g. an interrupted build whose shard 0 is not finished yet
    write_manifest(build, manifest)
    with pytest.raises(ShardError, match="holds sample 000000005 where the manifest's counts put sample 0"):
        read_sample(build, "train", 0)
