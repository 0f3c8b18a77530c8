import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from shard_helpers import make_build, synthetic_sample

from rvm_data.shards import ShardDataset, ShardError


def indices(batches) -> list[list[int]]:
    return [[s["index"] for s in b["spec"]] for b in batches]


def test_batches_hold_the_written_pixels_and_composite(build):
    ds = ShardDataset(build, batch_size=3, with_spec=True, with_src=True, decode="float")
    batches = list(ds)
    assert len(batches) == len(ds) == 4  # 14 samples, drop_last
    b = batches[0]
    assert b["fgr"].shape == (3, 2, 3, 16, 24) and b["pha"].shape == (3, 2, 1, 16, 24)
    assert b["fgr"].dtype == torch.float32 and b["fgr"].is_contiguous()
    ref = synthetic_sample(b["spec"][1]["index"])
    assert np.array_equal((b["fgr"][1] * 255).round().byte().permute(0, 2, 3, 1).numpy(), ref["fgr"])
    alpha = ref["pha"] / 255.0
    src = (ref["fgr"] * alpha + ref["bgr"] * (1 - alpha)) / 255
    assert np.allclose(b["src"][1].permute(0, 2, 3, 1).numpy(), src, atol=1e-5)


def test_single_samples_and_unshuffled_order(build):
    ds = ShardDataset(build, shuffle=False, with_spec=True)
    samples = list(ds)
    assert [s["spec"]["index"] for s in samples] == list(range(14))
    assert samples[0]["fgr"].shape == (2, 3, 16, 24) and samples[0]["fgr"].dtype == torch.uint8


def test_same_seed_same_order_and_epochs_differ(build):
    def order(seed, epoch):
        ds = ShardDataset(build, batch_size=2, seed=seed, with_spec=True)
        ds.set_epoch(epoch)
        return indices(ds)
    assert order(0, 0) == order(0, 0)
    assert order(0, 0) != order(0, 1)
    assert order(0, 0) != order(1, 0)


@pytest.mark.parametrize("shard_sizes", [[5, 5, 4], [3, 4, 3, 2, 2], [14]])
def test_two_workers_two_ranks_split_without_repeats(tmp_path, shard_sizes):
    """2 DataLoader workers x 2 simulated ranks: disjoint samples, equal batch counts, and the same
    batches as without workers (also with one shard, fewer than workers x ranks)."""
    root = make_build(tmp_path, shard_sizes)
    seen = []
    for rank in range(2):
        ds = ShardDataset(root, batch_size=2, with_spec=True, rank=rank, world_size=2)
        with_workers = indices(ds.loader(num_workers=2))
        assert len(with_workers) == len(ds) == 3  # 7 samples a rank -> 3 batches of 2
        ds.set_epoch(0)
        assert indices(ds) == with_workers
        seen += [i for batch in with_workers for i in batch]
    assert len(seen) == len(set(seen)) == 12


def test_resume_in_a_new_process_continues_the_epoch(build, tmp_path):
    script = """
import json, sys, torch
from rvm_data.shards import ShardDataset
root, mode, k, workers, state_path, out = sys.argv[1:]
ds = ShardDataset(root, batch_size=2, seed=5, with_spec=True)
ds.set_epoch(3)
if mode == "resume":
    ds.load_state_dict(json.load(open(state_path)))
got = []
for batch in ds.loader(num_workers=int(workers)):
    got.append([[s["index"] for s in batch["spec"]], int(batch["fgr"].sum()), int(batch["pha"].sum())])
    if mode == "stop" and len(got) == int(k):
        json.dump(ds.state_dict(), open(state_path, "w"))
        break
json.dump(got, open(out, "w"))
"""
    def run(mode, k, workers, out):
        subprocess.run([sys.executable, "-c", script, str(build), mode, str(k), str(workers),
                        str(tmp_path / "state.json"), str(tmp_path / out)], check=True)
        return json.loads((tmp_path / out).read_text())
    full = run("full", 0, 0, "full.json")
    assert len(full) == 7
    head = run("stop", 3, 2, "head.json")
    tail = run("resume", 0, 0, "tail.json")
    assert head + tail == full
    assert json.loads((tmp_path / "state.json").read_text())["batches"] == 3


def test_state_dict_tracks_epochs_and_refuses_other_settings(build):
    ds = ShardDataset(build, batch_size=4)
    assert len(list(ds)) == 3 and ds.state_dict()["epoch"] == 1
    other = ShardDataset(build, batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        other.load_state_dict(ds.state_dict())


def test_resampled_stream_is_endless_and_reshuffles(build):
    ds = ShardDataset(build, batch_size=7, resample=True, with_spec=True)
    with pytest.raises(TypeError):
        len(ds)
    stream = iter(ds)
    first, second = [[s["index"] for s in next(stream)["spec"]] + [s["index"] for s in next(stream)["spec"]]
                     for _ in range(2)]
    assert sorted(first) == sorted(second) == list(range(14)) and first != second
    assert ds.state_dict()["epoch"] == 2


def corrupt_member(path: Path, member_suffix: str) -> str:
    """Overwrite the data of the first member ending with member_suffix; return its name."""
    import tarfile
    with tarfile.open(path) as tar:
        info = next(m for m in tar.getmembers() if m.name.endswith(member_suffix))
    data = bytearray(path.read_bytes())
    data[info.offset_data:info.offset_data + info.size] = b"\x00" * info.size
    path.write_bytes(bytes(data))
    return info.name


def test_corrupt_member_is_named_or_skipped_and_counted(build):
    shard = build / "train" / "test-000001.tar"
    name = corrupt_member(shard, ".fgr.0001.png")
    with pytest.raises(ShardError, match=f"{shard}: member {name}"):
        list(ShardDataset(build, batch_size=2))
    ds = ShardDataset(build, batch_size=2, on_error="skip")
    with pytest.warns(RuntimeWarning, match=name):
        batches = list(ds)
    assert len(batches) == len(ds) and ds.skipped == 1 and name in ds.skip_messages[0]


def test_truncated_shard_is_named_or_skipped_with_workers(build):
    shard = build / "train" / "test-000000.tar"
    shard.write_bytes(shard.read_bytes()[:6000])
    with pytest.raises(ShardError, match=str(shard)):
        list(ShardDataset(build, batch_size=2))
    ds = ShardDataset(build, batch_size=2, on_error="skip", shuffle=False)
    batches = list(ds.loader(num_workers=2))
    assert len(batches) == len(ds) == 7
    assert ds.skipped >= 4 and all(str(shard) in m for m in ds.skip_messages)


def test_segmentation_shards_and_shard_lists(tmp_path):
    from rvm_data.shards import write_shard
    samples = [{"img": s["fgr"], "seg": (s["pha"] > 127).astype(np.uint8) * 255, "spec": s["spec"]}
               for s in map(synthetic_sample, range(4))]
    write_shard(tmp_path / "seg.tar", samples)
    batch = next(iter(ShardDataset([tmp_path / "seg.tar"], batch_size=4, shuffle=False)))
    assert set(batch) == {"img", "seg"} and batch["seg"].shape == (4, 2, 1, 16, 24)
    assert np.array_equal(batch["seg"][2].permute(0, 2, 3, 1).numpy(), samples[2]["seg"])
    with pytest.raises(ValueError, match="with_src"):
        next(iter(ShardDataset([tmp_path / "seg.tar"], batch_size=4, with_src=True)))


def test_batches_the_trainer_still_holds_are_never_reused(build):
    """Batch memory is recycled only once nothing refers to it (views included)."""
    stream = iter(ShardDataset(build, batch_size=2, resample=True, with_spec=True))
    held = [next(stream) for _ in range(6)]
    view = held[0]["fgr"][1]
    copies = [(b["fgr"].clone(), b["pha"].clone()) for b in held]
    del held[0]  # only the view of batch 0 remains
    for _ in range(12):
        b = next(stream)
        ref = synthetic_sample(b["spec"][0]["index"])
        assert np.array_equal(b["pha"][0].permute(0, 2, 3, 1).numpy(), ref["pha"])
    assert torch.equal(view, copies[0][0][1])
    later = zip(held, copies[1:], strict=True)  # batch 0 was deleted from held, not from copies
    assert all(torch.equal(b["fgr"], f) and torch.equal(b["pha"], p) for b, (f, p) in later)


def test_a_split_with_two_outputs_needs_output(tmp_path):
    from rvm_data.shards import Manifest, ShardEntry, write_manifest, write_shard
    entries = []
    for output, size in (("lr", (16, 24)), ("hr", (32, 48))):
        samples = [synthetic_sample(i, size=size) for i in range(2)]
        info = write_shard(tmp_path / "train" / f"{output}-000000.tar", samples)
        entries.append(ShardEntry(f"train/{info.name}", info.samples, info.bytes, info.sha256))
    write_manifest(tmp_path, Manifest({"name": "two"}, "0" * 64, {"train": entries}))
    with pytest.raises(ValueError, match=r"outputs \['hr', 'lr'\]; pass output="):
        ShardDataset(tmp_path, split="train")
    batch = next(iter(ShardDataset(tmp_path, split="train", output="hr", batch_size=2)))
    assert batch["fgr"].shape == (2, 2, 3, 32, 48)


def test_whole_sequence_video_members_load_like_frames(tmp_path):
    from rvm_data.shards import CodecConfig
    size = (16, 32)  # mp4: multiples of 16
    root = make_build(tmp_path, [3], CodecConfig(color="mp4", alpha="mkv", crf=0), frames=3, size=size)
    batch = next(iter(ShardDataset(root, batch_size=3, shuffle=False)))
    assert batch["fgr"].shape == (3, 3, 3, 16, 32)
    expected = synthetic_sample(1, frames=3, size=size)
    assert np.array_equal(batch["pha"][1].permute(0, 2, 3, 1).numpy(), expected["pha"])
    fgr = batch["fgr"][1].permute(0, 2, 3, 1).float()
    assert (fgr - torch.from_numpy(expected["fgr"])).abs().mean() < 8  # 4:2:0 chroma at 16x32


def test_loader_refuses_options_that_break_the_order(build):
    ds = ShardDataset(build, batch_size=2)
    for bad in ({"batch_size": 4}, {"persistent_workers": True}, {"in_order": False}):
        with pytest.raises(ValueError, match="ShardLoader takes neither"):
            ds.loader(num_workers=1, **bad)


def test_workers_load_the_same_batches_without_the_private_torch_apis(build, monkeypatch):
    """memory.py's private torch APIs are optional: without them workers use public shared memory, no slots."""
    from rvm_data.shards import memory
    monkeypatch.setattr(memory, "StorageWeakRef", None)
    monkeypatch.setattr(memory, "_NEW_SHARED", None)
    assert memory.SlotReleaser(2).table is None
    alloc = memory.BatchMemory(shared=True, slots=torch.zeros(memory.SLOTS_PER_WORKER, dtype=torch.int8))
    alloc.start_batch()
    t = alloc.tensor((2, 3), torch.float32)
    assert t.is_shared() and t.shape == (2, 3) and t.dtype == torch.float32
    ds = ShardDataset(build, batch_size=2, with_spec=True, shuffle=False)
    with_workers = list(ds.loader(num_workers=1))
    assert len(with_workers) == len(ds) and ds.state_dict()["epoch"] == 1
    for b in with_workers:
        ref = synthetic_sample(b["spec"][1]["index"])
        assert np.array_equal(b["pha"][1].permute(0, 2, 3, 1).numpy(), ref["pha"])


@pytest.mark.parametrize("shuffle", [False, True])
def test_drop_last_false_ends_the_epoch_with_the_short_batch(build, shuffle):
    """14 samples in batches of 3: four full batches and one of 2 (it used to stop with StopIteration),
    the same samples in the same order as with drop_last, every sample once."""
    kept = indices(ShardDataset(build, batch_size=3, shuffle=shuffle, seed=2, drop_last=False, with_spec=True))
    dropped = indices(ShardDataset(build, batch_size=3, shuffle=shuffle, seed=2, with_spec=True))
    assert [len(b) for b in kept] == [3, 3, 3, 3, 2] and kept[:4] == dropped
    assert sorted(i for b in kept for i in b) == list(range(14))
