"""Hostile shards, written by hand: whatever the bytes, the loader raises a ShardError naming the shard (and
member where there is one) under on_error="raise", and under "skip" delivers every batch with the fields and
size of the dataset, counting what it skipped. Nothing is decoded before its header says it fits."""

from __future__ import annotations

import struct
import tarfile
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from shard_helpers import make_build, synthetic_sample

from rvm_data.shards import (
    CodecConfig,
    Manifest,
    ShardDataset,
    ShardEntry,
    ShardError,
    read_manifest,
    read_sample,
    write_manifest,
    write_shard,
)
from rvm_data.shards.tarindex import TarFormatError, iter_members


def header(name: bytes, size: int, kind: bytes = b"0", link: bytes = b"") -> bytes:
    """One ustar header block with a valid checksum."""
    block = bytearray(512)
    block[:len(name)] = name
    block[100:108] = b"0000644\0"
    block[124:136] = b"%011o\0" % size
    block[136:148] = b"00000000000\0"
    block[156:157] = kind
    block[157:157 + len(link)] = link
    block[257:263] = b"ustar\0"
    block[263:265] = b"00"
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def member(name: bytes, data: bytes, kind: bytes = b"0", link: bytes = b"") -> bytes:
    return header(name, len(data), kind, link) + data + bytes(-len(data) % 512)


def pax(records: bytes) -> bytes:
    return member(b"././@PaxHeader", records, b"x")


def members_of(path: Path) -> list[tuple[str, bytes]]:
    with tarfile.open(path) as tar:
        return [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]


def tar_of(parts: list[bytes]) -> bytes:
    return b"".join(parts) + bytes(1024)


def record(text: bytes) -> bytes:
    """A pax record with a correct length field."""
    n = len(text) + 3
    n += len(str(n)) - 2
    return b"%d %s\n" % (n, text)


def hostile_cases(good: list[tuple[str, bytes]]) -> dict[str, tuple[bytes, str | None]]:
    """Replacement contents of a 3-sample shard, and the member the error must name (None: just the shard)."""
    plain = [member(n.encode(), d) for n, d in good]
    first = good[0][0]
    spec = next(n for n, _ in good if n.endswith(".spec.json"))
    return {
        "pax path of bad utf-8": (tar_of([pax(record(b"path=\xff\xfe.fgr.0000.png")), *plain]), None),
        "pax length not a number": (tar_of([pax(b"zz path=x\n"), *plain]), None),
        "pax length past the record": (tar_of([pax(b"999 path=x\n"), *plain]), None),
        "pax length zero": (tar_of([pax(b"0 path=x\n"), *plain]), None),
        "pax size not a number": (tar_of([pax(record(b"size=12x")), *plain]), None),
        "pax size past the file": (tar_of([pax(record(b"size=99999999")), *plain]), None),
        "spec.json nested 100000 deep": (tar_of([member(n.encode(), b"[" * 100000 if n == spec else d)
                                                 for n, d in good]), spec),
        "a member named ../../etc/passwd": (tar_of([*plain[:2], member(b"../../etc/passwd", b"x"), *plain[2:]]),
                                            "../../etc/passwd"),
        "a member twice": (tar_of([plain[0], *plain]), first),
        "a key in two places": (tar_of([*plain, plain[0]]), first),
        "a symlink member": (tar_of([*plain[:1], member(b"000000003.fgr.0009.png", b"", b"2", b"/etc/passwd"),
                                     *plain[1:]]), "000000003.fgr.0009.png"),
        "a directory member": (tar_of([member(b"000000003.d/", b"", b"5"), *plain]), "000000003.d/"),
        "a 0-byte file": (b"", None),
        "only end blocks": (bytes(1024), None),
    }


@pytest.fixture
def shard_build(tmp_path: Path) -> tuple[Path, Path, list[tuple[str, bytes]]]:
    root = make_build(tmp_path / "build", [3, 3, 3])
    shard = root / "train" / "test-000001.tar"
    return root, shard, members_of(shard)


@pytest.mark.parametrize("case", list(hostile_cases([("000000003.fgr.0000.png", b""),
                                                     ("000000003.spec.json", b"")])))
def test_hostile_shard_is_a_shard_error_or_skipped_and_counted(shard_build, case):
    root, shard, good = shard_build
    content, bad_member = hostile_cases(good)[case]
    shard.write_bytes(content)
    with pytest.raises(ShardError) as err:
        list(ShardDataset(root, batch_size=3, shuffle=False, with_spec=True))
    assert err.value.shard == str(shard) and str(shard) in str(err.value), case
    assert "\n" not in str(err.value)
    if bad_member is not None:
        assert bad_member in str(err.value), case
    ds = ShardDataset(root, batch_size=3, shuffle=False, with_spec=True, on_error="skip")
    with pytest.warns(RuntimeWarning):
        batches = list(ds)
    assert len(batches) == len(ds) == 3 and ds.skipped >= 1, case
    assert all(str(shard) in m for m in ds.skip_messages)
    for b in batches:
        assert set(b) == {"fgr", "pha", "bgr", "spec"} and b["fgr"].shape == (3, 2, 3, 16, 24)
    assert [s["index"] for s in batches[0]["spec"] + batches[2]["spec"]] == [0, 1, 2, 6, 7, 8]


def test_tar_index_fuzz_raises_only_its_own_error(tmp_path):
    """Random byte damage anywhere in a shard: the tar index yields members or raises TarFormatError, and the
    loader in skip mode always delivers its batches."""
    root = make_build(tmp_path / "build", [4, 4])
    shard = root / "train" / "test-000000.tar"
    data = shard.read_bytes()
    rng = np.random.default_rng(7)
    for trial in range(40):
        broken = bytearray(data)
        for pos in rng.integers(0, len(data), int(rng.integers(1, 6))):
            broken[pos] = int(rng.integers(256))
        shard.write_bytes(bytes(broken))
        with open(shard, "rb") as f:
            try:
                list(iter_members(f))
            except TarFormatError:
                pass
        ds = ShardDataset(root, batch_size=2, shuffle=False, on_error="skip")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            batches = list(ds)
        assert len(batches) == len(ds) == 4, trial
        assert all(b["fgr"].shape == (2, 2, 3, 16, 24) for b in batches)


def write_seg(path: Path, indices: range) -> None:
    samples = [{"img": s["fgr"], "seg": s["pha"], "spec": s["spec"]} for s in map(synthetic_sample, indices)]
    write_shard(path, samples, CodecConfig(color="png"))


def test_a_foreign_shard_is_the_bad_one_whichever_sample_comes_first_in_a_batch(tmp_path):
    """img/seg samples among fgr/pha/bgr ones: batch 2 is [seg 4, matte 5]. The dataset's fields come from the
    first shard, so the seg samples are skipped (and counted), never the matting sample after them."""
    paths = [tmp_path / "a.tar", tmp_path / "foreign.tar", tmp_path / "c.tar"]
    write_shard(paths[0], [synthetic_sample(i) for i in range(3)], CodecConfig(color="png"))
    write_seg(paths[1], range(3, 5))
    write_shard(paths[2], [synthetic_sample(i) for i in range(5, 8)], CodecConfig(color="png"))
    with pytest.raises(ShardError, match=r"foreign\.tar: member 000000003\.img\.0000\.png: sample 000000003 has "
                                         r"fields \['img', 'seg'\], the dataset's samples \['bgr', 'fgr', 'pha'\]"):
        list(ShardDataset(paths, batch_size=2, shuffle=False))
    ds = ShardDataset(paths, batch_size=2, shuffle=False, with_spec=True, on_error="skip")
    with pytest.warns(RuntimeWarning, match="foreign.tar"):
        batches = list(ds)
    assert ds.skipped == 2 and all("foreign.tar" in m for m in ds.skip_messages)
    assert all(set(b) == {"fgr", "pha", "bgr", "spec"} for b in batches)
    assert [s["index"] for s in batches[2]["spec"]] == [5, 5]  # seg 4 replaced by matte 5, which stays
    assert np.array_equal(batches[2]["pha"][1].permute(0, 2, 3, 1).numpy(), synthetic_sample(5)["pha"])


def test_a_sample_of_another_size_is_the_bad_one_even_first_in_a_batch(tmp_path):
    paths = [tmp_path / "a.tar", tmp_path / "b.tar"]
    write_shard(paths[0], [synthetic_sample(i) for i in range(2)], CodecConfig(color="png"))
    write_shard(paths[1], [synthetic_sample(3, size=(32, 48)), synthetic_sample(4)], CodecConfig(color="png"))
    with pytest.raises(ShardError, match=r"b\.tar: member 000000003\.bgr\.0000\.png: frame is 32x48, "
                                         r"expected 16x24 \(not decoded\)"):
        list(ShardDataset(paths, batch_size=2, shuffle=False))
    ds = ShardDataset(paths, batch_size=2, shuffle=False, with_spec=True, on_error="skip")
    with pytest.warns(RuntimeWarning):
        batches = list(ds)
    assert [s["index"] for s in batches[1]["spec"]] == [4, 4] and ds.skipped == 1


def png_header_only(height: int, width: int) -> bytes:
    """A png whose IHDR claims height×width (8-bit RGB) and whose data is a tiny zlib stream: decoding it
    would allocate height×width×3 bytes before finding the data short."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(bytes(1000))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_a_huge_image_is_refused_from_its_header_before_decoding(shard_build, monkeypatch):
    root, shard, good = shard_build
    huge = [(n, png_header_only(30000, 30000) if n.endswith(".fgr.0001.png") else d) for n, d in good]
    shard.write_bytes(tar_of([member(n.encode(), d) for n, d in huge]))
    with pytest.raises(ShardError, match=r"member 000000003\.fgr\.0001\.png: frame is 30000x30000, expected 16x24 "
                                         r"\(not decoded\)"):
        list(ShardDataset(root, batch_size=3, shuffle=False))
    # The first sample of the dataset fixes its size; one claiming 30000x30000 must fit the memory limit.
    first = root / "train" / "test-000000.tar"
    shard.write_bytes(first.read_bytes())
    first.write_bytes(tar_of([member(n.encode(), png_header_only(30000, 30000) if ".png" in n else d)
                              for n, d in members_of(first)]))
    monkeypatch.setenv("RVM_DATA_MEMORY_LIMIT_GIB", "1")
    manifest = read_manifest(root)
    manifest.recipe = {"name": "test"}  # no recipe size to compare with: the limit alone refuses it
    write_manifest(root, manifest)
    with pytest.raises(ShardError, match=r"test-000000\.tar: member 000000000\.bgr\.0000\.png: a batch of 3 such "
                                         r"samples \(.*\) needs 45\.3 GiB, more than the limit of 1\.0 GiB"):
        ShardDataset(root, batch_size=3)


def test_the_manifest_size_decides_not_a_foreign_first_shard(tmp_path):
    """A first shard whose samples are not the recipe's T×H×W: an error, or in skip mode the next shard decides."""
    root = make_build(tmp_path / "build", [2, 2])
    manifest = read_manifest(root)
    manifest.recipe = {"name": "test", "outputs": {"test": {"compose": {"size": [16, 24], "frames": 2}}}}
    write_manifest(root, manifest)
    write_shard(root / "train" / "test-000000.tar", [synthetic_sample(i, size=(8, 8)) for i in range(2)],
                CodecConfig(color="png"))
    with pytest.raises(ShardError, match=r"test-000000\.tar: member 000000000\.bgr\.0000\.png: field bgr is 2x8x8 "
                                         r"\(TxHxW\), the manifest's recipe makes 2x16x24"):
        ShardDataset(root, batch_size=2)
    ds = ShardDataset(root, batch_size=2, on_error="skip", shuffle=False)
    assert ds.layout["fgr"] == (2, 3, 16, 24)
    with pytest.warns(RuntimeWarning):
        assert all(b["fgr"].shape == (2, 2, 3, 16, 24) for b in ds)
    assert ds.skipped == 2


def test_video_members_are_checked_for_size_and_frames_before_decoding(tmp_path):
    codec = CodecConfig(color="mp4", alpha="mkv", crf=0)
    paths = [tmp_path / "a.tar", tmp_path / "b.tar"]
    size = (16, 32)  # mp4: multiples of 16
    write_shard(paths[0], [synthetic_sample(i, frames=3, size=size) for i in range(2)], codec)
    write_shard(paths[1], [synthetic_sample(2, frames=4, size=size)], codec)
    with pytest.raises(ShardError, match=r"b\.tar: member 000000002\.bgr\.mp4: video has 4 frames, expected 3 "
                                         r"\(not decoded\)"):
        list(ShardDataset(paths, batch_size=1, shuffle=False))
    write_shard(paths[1], [synthetic_sample(2, frames=3, size=(32, 48))], codec)
    with pytest.raises(ShardError, match=r"b\.tar: member 000000002\.bgr\.mp4: frame is 32x48, expected 16x32"):
        list(ShardDataset(paths, batch_size=1, shuffle=False))


@pytest.mark.parametrize("listed, problem", [(4, "more samples than the 4 listed"),
                                             (6, "has 5 samples, 6 listed")])
def test_a_count_that_is_not_the_shards_real_one_is_detected(tmp_path, listed, problem):
    root = make_build(tmp_path / "build", [5, 5])
    manifest = read_manifest(root)
    entry = manifest.splits["train"][0]
    manifest.splits["train"][0] = ShardEntry(entry.path, listed, entry.bytes, entry.sha256)
    write_manifest(root, manifest)
    with pytest.raises(ShardError, match=rf"test-000000\.tar.*{problem}"):
        list(ShardDataset(root, batch_size=1, shuffle=False))
    ds = ShardDataset(root, batch_size=1, shuffle=False, with_spec=True, on_error="skip")
    with pytest.warns(RuntimeWarning, match=problem):
        indices = [b["spec"][0]["index"] for b in ds]
    assert ds.skipped == 1 and problem in ds.skip_messages[0]
    # 4 listed: sample 4 is left out (and counted); 6 listed: the missing one is replaced by the first readable
    assert indices == [0, 1, 2, 3, *([4, 0] if listed == 6 else []), 5, 6, 7, 8, 9]
    with_workers = ShardDataset(root, batch_size=1, shuffle=False, with_spec=True, on_error="skip")
    assert [b["spec"][0]["index"] for b in with_workers.loader(num_workers=2)] == indices
    assert with_workers.skipped == 1  # found by both workers' scans, reported by the one loading that batch


def test_a_last_shard_longer_than_listed_is_detected_in_order_too(tmp_path):
    """The last shard of an unshuffled read (the valid and eval loaders' path): its tail is looked at before
    its last listed sample is handed on, since nothing comes back for more after the last batch."""
    root = make_build(tmp_path / "build", [5, 5])
    manifest = read_manifest(root)
    entry = manifest.splits["train"][1]
    manifest.splits["train"][1] = ShardEntry(entry.path, 4, entry.bytes, entry.sha256)
    write_manifest(root, manifest)
    with pytest.raises(ShardError, match=r"test-000001\.tar.*more samples than the 4 listed"):
        list(ShardDataset(root, batch_size=3, shuffle=False))
    ds = ShardDataset(root, batch_size=3, shuffle=False, with_spec=True, on_error="skip")
    with pytest.warns(RuntimeWarning, match="more samples than the 4 listed"):
        indices = [s["index"] for b in ds for s in b["spec"]]
    assert indices == [0, 1, 2, 3, 4, 5, 6, 7, 8] and ds.skipped == 1


def test_a_worker_error_reaches_the_main_process_as_the_shard_error(shard_build):
    """Not torch's re-raised copy holding the worker's traceback as text: the ShardError itself, one line."""
    root, shard, good = shard_build
    bad = [(n, bytes(len(d)) if n.endswith(".pha.0001.png") else d) for n, d in good]
    shard.write_bytes(tar_of([member(n.encode(), d) for n, d in bad]))
    with pytest.raises(ShardError) as err:
        list(ShardDataset(root, batch_size=1, shuffle=False).loader(num_workers=2))
    assert type(err.value) is ShardError and err.value.shard == str(shard)
    assert err.value.member == "000000003.pha.0001.png" and "\n" not in str(err.value)


def test_read_sample_checks_the_headers_against_the_samples_spec(tmp_path):
    """One sample read for a preview: no dataset to compare with, so the spec's size and frames decide."""
    sample = synthetic_sample(0)
    sample["spec"].update(size=[16, 24], frames=2)
    root = tmp_path / "build"
    info = write_shard(root / "train" / "test-000000.tar", [sample], CodecConfig(color="png"))
    entry = ShardEntry(f"train/{info.name}", 1, info.bytes, info.sha256)
    write_manifest(root, Manifest({"name": "test"}, "0" * 64, {"train": [entry]}))
    assert read_sample(root, "train", 0)["fgr"].shape == (2, 16, 24, 3)
    shard = root / "train" / info.name
    shard.write_bytes(tar_of([member(n.encode(), png_header_only(30000, 30000) if ".fgr." in n else d)
                              for n, d in members_of(shard)]))
    with pytest.raises(ShardError, match=r"member 000000000\.fgr\.0000\.png: field fgr is 2x30000x30000 \(TxHxW\), "
                                         r"the sample's spec says 2x16x24 \(not decoded\)"):
        read_sample(root, "train", 0)


def test_a_shard_with_more_samples_than_listed_is_reported_once_when_shuffled(tmp_path):
    """The problem passes the shuffle buffer straight through, once (it used to enter the buffer as well and
    be reported a second time); the listed samples are each delivered once."""
    root = make_build(tmp_path / "build", [5, 5], frames=1, size=(4, 4))
    manifest = read_manifest(root)
    entry = manifest.splits["train"][0]
    manifest.splits["train"][0] = ShardEntry(entry.path, 4, entry.bytes, entry.sha256)
    write_manifest(root, manifest)
    for seed in range(6):
        ds = ShardDataset(root, batch_size=1, seed=seed, shuffle_buffer=3, with_spec=True, on_error="skip")
        with pytest.warns(RuntimeWarning, match="more samples than the 4 listed"):
            indices = [b["spec"][0]["index"] for b in ds]
        assert ds.skipped == 1 and sorted(indices) == [0, 1, 2, 3, 5, 6, 7, 8, 9]
